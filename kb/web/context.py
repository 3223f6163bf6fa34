"""The paragraph around an evidence span, so the page can show the sentence highlighted in its context."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

MAX_CONTEXT = 320  # characters either side at most, however long the paragraph
SENTENCE_END = re.compile(r"[.!?][\"\u201d)]?\s+")


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
    """The paragraph (text between blank lines) holding ``source[start:end]``, cut to whole sentences within
    `MAX_CONTEXT` characters either side; None if the offsets are off."""
    if not 0 <= start < end <= len(source):
        return None
    opening = source.rfind("\n\n", 0, start)
    opening = 0 if opening < 0 else opening + 2
    closing = source.find("\n\n", end)
    closing = len(source) if closing < 0 else closing
    if start - opening > MAX_CONTEXT:  # a long paragraph: start at a sentence start near the limit
        window = source[start - MAX_CONTEXT : start]
        cut = next(SENTENCE_END.finditer(window), None)
        opening = start - MAX_CONTEXT + (cut.end() if cut else 0)
    if closing - end > MAX_CONTEXT:  # and end at the last sentence end within it
        window = source[end : end + MAX_CONTEXT]
        ends = list(SENTENCE_END.finditer(window))
        closing = end + (ends[-1].start() + 1 if ends else MAX_CONTEXT)
    return PassageContext(document, start, end, source[opening:start], source[start:end], source[end:closing])
