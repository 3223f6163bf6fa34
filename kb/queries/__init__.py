"""Competency queries shipped with TrialKB: one `.rq` file per question users ask of the KB."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

from ontology import sparql_prefixes


def names() -> list[str]:
    """The names of the shipped queries (file names without ``.rq``)."""
    return sorted(e.name[:-3] for e in resources.files(__package__).iterdir() if e.name.endswith(".rq"))


def load(name: str, with_prefixes: bool = True, bindings: Mapping[str, str] | None = None) -> str:
    """A shipped query's text, with the standard PREFIX block prepended.

    ``bindings`` maps variables to IRIs (``{"trial": "https://w3id.org/trialkb/resource/trial/NCT..."}``):
    they become a ``VALUES`` block at the start of the WHERE clause, which Oxigraph joins first (binding
    by substitution is applied after the join order is chosen, and is far slower on a large KB).
    """
    text = resources.files(__package__).joinpath(f"{name}.rq").read_text(encoding="utf-8")
    if bindings:
        values = " ".join(
            f"VALUES ?{variable} {{ <{_checked_iri(iri)}> }}" for variable, iri in bindings.items()
        )
        text = re.sub(r"WHERE\s*\{", lambda m: f"{m.group(0)} {values}", text, count=1)
    return (sparql_prefixes() + text) if with_prefixes else text


def _checked_iri(iri: str) -> str:
    if not re.fullmatch(r"[^<>\"{}|^`\\\s]+", iri):
        raise ValueError(f"not an IRI: {iri!r}")
    return iri


def description(name: str) -> str:
    """The first comment line of a query: what question it answers."""
    first = load(name, with_prefixes=False).splitlines()[0]
    return first.lstrip("# ").strip()
