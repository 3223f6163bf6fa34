"""TrialKB: a knowledge base of clinical-trial publications (RDF with provenance, SPARQL, search, QA)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.facade import KnowledgeBase

__all__ = ["KnowledgeBase"]


def __getattr__(name: str) -> Any:
    # Lazy: `python -m kb --help` and the cold `ask` path must not pay for heavy imports.
    if name == "KnowledgeBase":
        from kb.facade import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
