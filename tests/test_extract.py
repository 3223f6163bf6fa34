"""Extraction quality against curated gold facts, plus end-to-end checks on documents written for these tests.

Scoring. An `Extraction` is turned into *canonical facts* ``(subject, predicate, object)``:

* shared entities are ``Kind:key`` (``Drug:blinatumomab``); the document's own trial, cohort, regimen,
  publication and source document are ``trial``, ``cohort``, ``regimen``, ``publication``, ``document``;
  an arm is ``arm:<label without the trial name>``;
* values are compared as text, case-insensitively (decimals normalised: ``97``, ``70.9``; dates ISO);
* an outcome measurement is *one* fact ``trial outcome {endpoint, value, unit, statistic, time, population,
  comparator, numerator, denominator, qualifier, assessment}``, a funding is ``trial funding {funder, role,
  via}``, a regimen step is ``regimen step {order, drug, phase, min, max, dose, route}``: every field must
  match, so a wrong unit or time point counts as one false positive and one miss.

The gold lists in ``tests/data/gold_facts/<document id>.jsonl`` were written by reading each text as a
curator would, and are exhaustive for the predicates in `COVERED`. Free-text predicates (``mechanism``),
labels and structural links folded into the records above (``hasOutcome``, ``hasStep``...) are not scored.

* recall = |gold ∩ extracted| / |gold|
* precision = |gold ∩ extracted| / |extracted facts whose predicate is in COVERED|

so every extracted fact of a covered kind that the curator did not list counts against precision.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kb
from kb.extract import extract
from kb.ingest import parse_document, read_document
from kb.lexicon import KINDS
from kb.models import Entity, Extraction, Value

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "data" / "gold_facts"
CORPUS = ROOT / "tests" / "data" / "corpus"
SHARED = set(KINDS)
LOCAL = {"ClinicalTrial": "trial", "Cohort": "cohort", "Regimen": "regimen", "Publication": "publication"}
RENAMED = {
    "schema:keywords": "keywords",
    "schema:datePublished": "datePublished",
    "schema:headline": "headline",
}
COVERED = {
    "trialName", "nctId", "phase", "designFeature", "conductedBy", "sponsor", "fundedBy", "funding",
    "condition", "intervention", "hasArm", "primaryEndpoint", "reportedIn", "enrollmentStartYear",
    "enrollmentEndYear", "drugClass", "target", "payload", "label", "positiveFor", "negativeFor",
    "priorCondition", "diagnosisStatus", "enrolledCount", "randomizedCount", "treatedCount", "minimumAge",
    "maximumAge", "medianAge", "chemotherapyFree", "step", "outcome", "doi", "journal", "headline",
    "firstAuthor", "datePublished", "volume", "issue", "pages", "documentType", "imageCredit",
    "subjectOfResearch", "about", "reports", "keywords",
}  # fmt: skip
RECORD_FIELDS = {
    "OutcomeMeasurement": {
        "measures": "endpoint", "numericValue": "value", "statistic": "statistic", "timePoint": "time",
        "population": "population", "comparator": "comparator", "numerator": "numerator",
        "denominator": "denominator", "valueQualifier": "qualifier", "assessmentPoint": "assessment",
    },
    "Funding": {"funder": "funder", "fundingRole": "role", "fundedVia": "via"},
    "RegimenStep": {
        "stepOrder": "order", "drug": "drug", "treatmentPhase": "phase", "minCycles": "min",
        "maxCycles": "max", "dose": "dose", "route": "route",
    },
}  # fmt: skip
RECORD_LINKS = {
    "hasOutcome": ("trial", "outcome"),
    "hasFunding": ("trial", "funding"),
    "hasStep": ("regimen", "step"),
}

Canonical = tuple[str, str, str]


def seed_path() -> Path:
    return next(Path(kb.__file__).parent.joinpath("data").rglob("000_ddb5accd812ab49c.txt"))


DOCUMENTS = {
    "000-ddb5accd812ab49c": seed_path,
    "e1910-news": lambda: CORPUS / "e1910-news.txt",
    "zuma3-abstract": lambda: CORPUS / "zuma3-abstract.txt",
    "lal2317-abstract": lambda: CORPUS / "lal2317-abstract.txt",
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split()).lower()


def _record(fields: dict[str, str]) -> str:
    return ";".join(f"{k}={_text(v)}" for k, v in sorted(fields.items()))


def canonical_facts(extraction: Extraction) -> set[Canonical]:
    """The extraction in the canonical form of the gold files (see the module docstring)."""
    trial = next((f.subject for f in extraction.facts if f.subject.kind == "ClinicalTrial"), None)

    def name(entity: Entity) -> str:
        if entity.kind in SHARED:
            return f"{entity.kind}:{entity.key}"
        if entity.kind == "Arm":
            label = entity.label
            if trial is not None and label.startswith(trial.label + " "):
                label = label[len(trial.label) + 1 :]
            return f"arm:{label.lower()}"
        if entity.kind == "SourceDocument":
            return "document"
        return LOCAL.get(entity.kind, f"{entity.kind}:{entity.key}")

    def obj(value: Entity | Value) -> str:
        return name(value) if isinstance(value, Entity) else _text(value.value)

    records: dict[Entity, dict[str, str]] = {}
    facts: set[Canonical] = set()
    for fact in extraction.facts:
        fields = RECORD_FIELDS.get(fact.subject.kind)
        if fields is not None:
            if fact.predicate in fields:
                record = records.setdefault(fact.subject, {})
                record[fields[fact.predicate]] = obj(fact.object)
                if fact.predicate == "numericValue" and isinstance(fact.object, Value) and fact.object.unit:
                    record["unit"] = fact.object.unit
            continue
        if fact.subject.kind == "Cohort":
            facts.add(("cohort", "label", _text(fact.subject.label)))
        predicate = RENAMED.get(fact.predicate, fact.predicate)
        if predicate in COVERED:
            facts.add((name(fact.subject), predicate, obj(fact.object)))
    for fact in extraction.facts:
        if fact.predicate in RECORD_LINKS and isinstance(fact.object, Entity):
            subject, predicate = RECORD_LINKS[fact.predicate]
            facts.add((subject, predicate, _record(records.get(fact.object, {}))))
    return facts


def gold_facts(document_id: str) -> set[Canonical]:
    facts: set[Canonical] = set()
    for line in (GOLD / f"{document_id}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            value = row["o"]
            if isinstance(value, dict):
                obj = _record(value)
            else:
                obj = value if value.split(":")[0] in SHARED else _text(value)
            facts.add((row["s"], row["p"], obj))
    return facts


class ScoreBoard:
    """Collects per-document scores; prints them as a table (with -s) and in pytest's terminal summary."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, int, int, float, float]] = {}

    def table(self) -> str:
        lines = ["extraction vs gold: document                 gold  extracted  correct  precision  recall"]
        for doc, (gold, extracted, correct, precision, recall) in sorted(self.rows.items()):
            lines.append(
                f"  {doc:<40} {gold:>4}  {extracted:>9}  {correct:>7}  {precision:>9.3f}  {recall:>6.3f}"
            )
        return "\n".join(lines)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.rows:
            terminalreporter.write_sep("-", "extraction precision / recall")
            terminalreporter.write_line(self.table())


@pytest.fixture(scope="session")
def scoreboard(request: pytest.FixtureRequest) -> Any:
    board = ScoreBoard()
    request.config.pluginmanager.register(board, "trialkb-extraction-scoreboard")
    yield board
    print("\n" + board.table())


@pytest.mark.parametrize("document_id", sorted(DOCUMENTS))
def test_precision_and_recall_against_gold(document_id: str, scoreboard: ScoreBoard) -> None:
    document = read_document(DOCUMENTS[document_id]())
    assert document.id == document_id
    extracted = canonical_facts(extract(document))
    gold = gold_facts(document_id)
    correct = extracted & gold
    precision = len(correct) / len(extracted) if extracted else 0.0
    recall = len(correct) / len(gold)
    scoreboard.rows[document_id] = (len(gold), len(extracted), len(correct), precision, recall)
    missing = sorted(gold - extracted)
    spurious = sorted(extracted - gold)
    assert recall >= 0.9, f"missed: {missing}"
    assert precision >= 0.95, f"not in gold: {spurious}"


@pytest.mark.parametrize("document_id", sorted(DOCUMENTS))
def test_every_fact_has_exact_evidence_inside_one_passage(document_id: str) -> None:
    document = read_document(DOCUMENTS[document_id]())
    for fact in extract(document).facts:
        evidence = fact.evidence
        assert evidence is not None, fact
        assert evidence.quote == document.text[evidence.start : evidence.end]
        passage = document.passage(evidence.passage_id)
        assert passage.start <= evidence.start <= evidence.end <= passage.end
        assert evidence.quote.strip(), fact


ANOTHER_TRIAL = """Glofitamab Doubles Complete Responses in Relapsed Large B-Cell Lymphoma in the STARGLO-7 Trial
Researchers from the SWOG Cancer Research Network reported that adding glofitamab, a bispecific antibody that binds CD20 on B cells and CD3 on T cells, to standard salvage therapy improved outcomes for adults with relapsed or refractory diffuse large B-cell lymphoma.
The randomized phase 3 STARGLO-7 trial (NCT09876543) enrolled 274 patients aged 19 to 88 years between 2019 and 2022.
The median age was 68 years.
Patients received up to twelve cycles of intravenous glofitamab after a single dose of obinutuzumab.
The complete response rate was 58% in the glofitamab arm and 25% in the control arm.
Median progression-free survival was 13.8 months.
The trial was sponsored by Roche and funded in part by the National Cancer Institute.
Journal: Lancet Oncology, 2026;27(2):101-112
"""


def test_a_news_release_about_another_trial() -> None:
    document = parse_document("starglo7-news.txt", ANOTHER_TRIAL)
    facts = extract(document).facts
    trial = next(f.subject for f in facts if f.subject.kind == "ClinicalTrial")
    assert trial.key == "NCT09876543" and trial.label == "STARGLO-7"
    found = {(f.predicate, f.object.key if isinstance(f.object, Entity) else f.object.value) for f in facts}
    assert ("intervention", "glofitamab") in found
    assert ("target", "cd20") in found and ("target", "cd3e") in found
    assert ("enrolledCount", 274) in found
    assert ("minimumAge", Decimal(19)) in found and ("maximumAge", Decimal(88)) in found
    assert ("medianAge", Decimal(68)) in found
    assert ("phase", "Phase 3") in found and ("designFeature", "randomized") in found
    assert ("sponsor", "roche") in found and ("fundedBy", "national-cancer-institute") in found
    assert ("conductedBy", "swog") in found
    assert ("condition", "diffuse-large-b-cell-lymphoma") in found
    assert ("diagnosisStatus", "relapsed or refractory") in found
    assert ("maxCycles", 12) in found and ("route", "intravenous") in found
    assert ("journal", "lancet-oncology") in found
    values = {f.object.value for f in facts if f.predicate == "numericValue" and isinstance(f.object, Value)}
    assert {Decimal(58), Decimal(25), Decimal("13.8")} <= values
    arms = {f.object.label for f in facts if f.predicate == "hasArm" and isinstance(f.object, Entity)}
    assert arms == {"STARGLO-7 glofitamab arm", "STARGLO-7 control arm"}


def test_a_document_that_names_no_trial_has_no_clinical_trial() -> None:
    text = (
        "Hospital Opens New Infusion Centre\n"
        "The new centre will treat patients with leukemia and lymphoma from across the region.\n"
        "It has twenty chairs and a pharmacy on site.\n"
    )
    extraction = extract(parse_document("infusion-centre.txt", text))
    assert not [e for e in extraction.entities() if e.kind == "ClinicalTrial"]
    assert not [f for f in extraction.facts if f.predicate in {"hasOutcome", "enrolledCount", "intervention"}]
