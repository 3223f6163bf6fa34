"""Competency queries shipped with TrialKB: one `.rq` file per question users ask of the KB."""

from __future__ import annotations

from importlib import resources

from ontology import sparql_prefixes


def names() -> list[str]:
    """The names of the shipped queries (file names without ``.rq``)."""
    return sorted(e.name[:-3] for e in resources.files(__package__).iterdir() if e.name.endswith(".rq"))


def load(name: str, with_prefixes: bool = True) -> str:
    """A shipped query's text, with the standard PREFIX block prepended."""
    text = resources.files(__package__).joinpath(f"{name}.rq").read_text(encoding="utf-8")
    return (sparql_prefixes() + text) if with_prefixes else text


def description(name: str) -> str:
    """The first comment line of a query: what question it answers."""
    first = load(name, with_prefixes=False).splitlines()[0]
    return first.lstrip("# ").strip()
