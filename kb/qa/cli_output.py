"""Human-readable rendering of an `Answer` for the command line."""

from __future__ import annotations

from kb.qa.model import Answer


def render_answer(answer: Answer) -> str:
    """The answer, its values with subject and source, the evidence sentence and the SPARQL (or the reason)."""
    if answer.abstained:
        lines = [f"No answer: {answer.reason}"]
        if answer.sparql:
            lines += ["", "SPARQL tried:", answer.sparql.rstrip()]
        return "\n".join(lines)
    origin = {
        "kb": "from the knowledge base",
        "registry": "from the registry record",
        "text": "from a passage (not a KB fact)",
    }
    lines = [
        f"{answer.answer}    ({origin.get(answer.source_kind, answer.source_kind)}, confidence {answer.confidence:.2f})"
    ]
    for value in answer.values:
        parts = [str(value.value) + (f" {value.unit}" if value.unit else "")]
        if value.label:
            parts.append(value.label)
        if value.subject:
            parts.append(f"subject: {value.subject}")
        if value.source:
            parts.append(f"source: {value.source}")
        lines.append("  - " + "; ".join(parts))
    for span in answer.evidence:
        lines += [
            "",
            f"Evidence ({span.document}, {span.passage}, characters {span.start}-{span.end}):",
            f"  {span.text}",
        ]
    if answer.sparql:
        lines += ["", "SPARQL:", answer.sparql.rstrip()]
    return "\n".join(lines)
