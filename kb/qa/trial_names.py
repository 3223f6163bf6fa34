"""Which trial a question names, found through an index of the trials' names built once per KB version.

Trying every name of every trial on each question (a regular expression each) cost 0.9 s a question on a
KB of 1,000 trials; here the question's positions are looked up by the first characters of a name, and
only the names found there are checked with the same pattern as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_KEY = 3
"""Characters of a name's start (lower case) it is filed under; shorter names are filed whole."""


@lru_cache(maxsize=4096)
def _pattern(name: str) -> re.Pattern[str]:
    # The name as a whole word: not inside a longer word or a hyphenated name ("ARIA-1" is not in "ARIA-10").
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)


class TrialNameIndex:
    """The names of a KB's trials, for finding the trial a question names (the longest name found wins; between
    names of one length, the trial first in the KB's order, then its first such name)."""

    def __init__(self, names: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._filed: dict[str, list[tuple[int, str, str]]] = {}  # key -> (order, name, trial IRI)
        self._unfiled: list[tuple[int, str, str]] = []  # names not all ASCII: always tried
        self._trials: list[str] = []
        order = 0
        for iri, trial_names in names:
            self._trials.append(iri)
            for name in trial_names:
                if name.isascii() and name:
                    self._filed.setdefault(name.lower()[:_KEY], []).append((order, name, iri))
                else:
                    self._unfiled.append((order, name, iri))
                order += 1
        self._sizes = sorted({len(key) for key in self._filed})

    def named_in(self, question: str) -> str | None:
        """The trial named in ``question`` (its longest matching name), or the only trial of the KB."""
        candidates: list[tuple[int, str, str]] = list(self._unfiled)
        if not question.isascii():
            # Case-insensitive matching of other scripts has folds lower() lacks: try every name.
            candidates += [item for items in self._filed.values() for item in items]
        else:
            # ASCII against ASCII names: equal ignoring case is equal in lower case, at the same positions.
            lowered = question.lower()
            for start in range(len(lowered)):
                for size in self._sizes:
                    for item in self._filed.get(lowered[start : start + size], ()):
                        if lowered.startswith(item[1].lower(), start):
                            candidates.append(item)
        best: tuple[bool, int, int, str] | None = None  # (not as written, -length, order, IRI)
        for order, name, iri in candidates:
            found = _pattern(name).search(question)
            if found:
                # A name written as the trial writes it beats one matched in another case: "recovery" in
                # "the rate ratio for recovery in ACTT-1" is a word, not the RECOVERY trial.
                key = (found.group(0) != name, -len(name), order, iri)
                if best is None or key < best:
                    best = key
        if best is not None:
            return best[3]
        return self._trials[0] if len(self._trials) == 1 else None
