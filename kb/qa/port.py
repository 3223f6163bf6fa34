"""What question answering needs from a knowledge base: a small interface the facade satisfies.

`kb.qa` and `kb.passage_search` are typed against these protocols, not against `kb.facade.KnowledgeBase`,
so the package can be read and tested on its own (any object with these members will do) and the facade,
which imports them, is not imported back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from kb.settings import Settings
from kb.store import KBDirectory, Manifest


class SearchSource(Protocol):
    """What passage search reads: settings, the KB's version and directory, SPARQL SELECT."""

    settings: Settings
    home: Path
    directory: KBDirectory

    @property
    def manifest(self) -> Manifest: ...

    def select(self, sparql: str) -> list[dict[str, Any]]: ...


class QASource(SearchSource, Protocol):
    """What answering reads: `SearchSource`, ranked passages, and (for evaluation) asking itself."""

    def search(
        self,
        text: str,
        k: int = 5,
        *,
        document: str | None = None,
        trial: str | None = None,
        mode: str = "fused",
    ) -> list[Any]: ...

    def ask(self, question: str) -> Any: ...

    def ask_many(self, questions: Sequence[str]) -> list[Any]: ...
