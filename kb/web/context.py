"""The paragraph around an evidence span, so the page can show the sentence highlighted in its context."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MAX_CONTEXT = 1_500  # characters either side at most, however long the paragraph


@dataclass(frozen=True)
class PassageContext:
    """``before`` + ``text`` + ``after`` is a stretch of the source; ``text`` is the span asked for."""

    document: str
    start: int
    end: int
    before: str
    text: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paragraph_context(source: str, start: int, end: int, document: str = "") -> PassageContext | None:
    """The paragraph (text between blank lines) holding ``source[start:end]``; None if the offsets are off."""
    if not 0 <= start < end <= len(source):
        return None
    opening = source.rfind("\n\n", 0, start)
    opening = 0 if opening < 0 else opening + 2
    closing = source.find("\n\n", end)
    closing = len(source) if closing < 0 else closing
    opening = max(opening, start - MAX_CONTEXT)
    closing = min(closing, end + MAX_CONTEXT)
    return PassageContext(document, start, end, source[opening:start], source[start:end], source[end:closing])
