"""Understanding by meaning: a question matched against the plain descriptions of what can be asked
(`kb.qa.readings`) with the project's MiniLM encoder, together with the entities it names and the type of
answer its wording asks for.

The question is first delexicalised (each linked name becomes its kind: "what does blinatumomab bind" →
"what does the drug bind"), so the match is about what is asked, not whom. Description vectors are
computed once per process and kept on disk keyed on the descriptions' hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.qa.linking import fold
from kb.qa.readings import Reading, readings
from kb.qa.understand import Question

Encoder = Callable[[Sequence[str]], np.ndarray]

_KIND_WORDS = {
    "ClinicalTrial": "the trial",
    "Drug": "the drug",
    "DrugClass": "the drug class",
    "MolecularTarget": "the target protein",
    "Disease": "the disease",
    "Organization": "the organisation",
    "Arm": "the group",
    "Journal": "the journal",
    "Biomarker": "the marker",
}

PER_UNIT = re.compile(
    r"\bper\s+(?:kg|kilograms?|m2|m²|square\s+met(?:er|re)s?|body[- ]weight|dose|day|week)\b|"
    r"\b(?:a|each)\s+(?:day|week)\b|"
    r"/\s?(?:kg|m2|m²|day)\b",
    re.I,
)
"""A quantity per unit of body weight, surface, dose or time."""

# The answer type by the question's wording: general English interrogatives, first match wins.
_ANSWER_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("yesno", re.compile(r"^(?:did|does|do|was|were|is|are|has|have|had|can|could|will)\b", re.I)),
    (
        "share",
        re.compile(
            r"\b(?:percent\w*|proportion|share|fraction|rate|%|how often|what part|what portion)\b", re.I
        ),
    ),
    # "how many cells per kg", "how many mg per square metre": a quantity per unit (a dose, a rate), not a
    # count of anything.
    ("number", PER_UNIT),
    # "the number of patients" counts; "the NCT number of E1910" names an identifier.
    (
        "count",
        re.compile(
            r"\bhow many\b|\bnumber of (?:the )?[a-z-]+s\b|\bcount\b|"
            r"\bnumber (?:randomi[sz]ed|enrolled|treated|assigned|included|infused|analy[sz]ed)\b",
            re.I,
        ),
    ),
    ("date", re.compile(r"^when\b|\bwhat (?:date|year|day|month)\b|\bwhen\b", re.I)),
    (
        "organisation",
        re.compile(
            r"\b(?:which|what) (?:\w+ )?(?:compan\w*|firms?|agenc\w*|organi[sz]ations?|institut\w*|"
            r"networks?|groups?|sponsors?|funders?|universit\w*|hospitals?|centers?|centres?)\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"^who\b|\bwhose\b|\bwho (?:is|was|were|wrote|led)\b", re.I)),
    (
        "number",
        re.compile(r"\bhow (?:much|long|old|large|big)\b|\bdose\b|\bage\b|\bmedian\b|\bratio\b", re.I),
    ),
    ("kind", re.compile(r"\b(?:what|which)\b", re.I)),
)


def answer_type(text: str) -> str:
    """The type of answer the question's wording asks for (see `kb.qa.readings.ANSWER_TYPES`)."""
    for name, pattern in _ANSWER_TYPE_RULES:
        if pattern.search(text):
            return name
    return "any"


def delexicalise(q: Question) -> str:
    """The question with each linked name replaced by its kind (endpoints keep their words)."""
    text = q.text
    for mention in sorted(q.mentions, key=lambda m: m.start, reverse=True):
        kind = mention.entity.kind
        if kind == "Endpoint" or kind not in _KIND_WORDS:
            continue
        # A trial's name only says which trial: dropped, so that terse questions ("ZUMA-3 DOI") are read
        # by what they ask.
        word = "" if kind == "ClinicalTrial" else _KIND_WORDS[kind]
        text = text[: mention.start] + word + text[mention.end :]
    text = re.sub(r"\b(the|in|of|for)\s+(?:the\s+)+", r"\1 ", text, flags=re.I)
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip(" ,")


@dataclass(frozen=True)
class Match:
    """A reading and how well the question fits it (cosine, after the answer-type and entity checks)."""

    reading: Reading
    score: float


@dataclass(frozen=True)
class Understanding:
    """The ranked readings of a question, its answer type, and the margin of the best over the next."""

    matches: tuple[Match, ...]
    answer_type: str

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def margin(self) -> float:
        if len(self.matches) < 2:
            return self.matches[0].score if self.matches else 0.0
        return self.matches[0].score - self.matches[1].score


class DescriptionBank:
    """The description vectors of every reading, encoded once (and cached on disk when a folder is given)."""

    def __init__(self, encode: Encoder, cache_dir: Path | None = None) -> None:
        self.readings = readings()
        texts = [d for r in self.readings for d in r.descriptions]
        self.owner = [i for i, r in enumerate(self.readings) for _ in r.descriptions]
        digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
        self.key = digest
        self.vectors = self._load(cache_dir, digest, len(texts))
        if self.vectors is None:
            self.vectors = np.asarray(encode(texts), dtype=np.float32)
            self._save(cache_dir, digest)

    @staticmethod
    def _path(cache_dir: Path, digest: str) -> Path:
        return cache_dir / f"qa-readings-{digest}.npy"

    def _load(self, cache_dir: Path | None, digest: str, count: int) -> np.ndarray | None:
        if cache_dir is None:
            return None
        try:
            vectors = np.load(self._path(cache_dir, digest), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return vectors if vectors.ndim == 2 and vectors.shape[0] == count else None

    def _save(self, cache_dir: Path | None, digest: str) -> None:
        if cache_dir is None or self.vectors is None:
            return
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            temporary = cache_dir / f".qa-readings-{digest}.tmp.npy"
            np.save(temporary, self.vectors, allow_pickle=False)
            temporary.replace(self._path(cache_dir, digest))
        except OSError:
            pass  # a read-only cache only costs the encoding again next process

    def scores(self, vector: np.ndarray) -> list[float]:
        """The best cosine of ``vector`` against each reading's descriptions."""
        assert self.vectors is not None
        similarities = self.vectors @ vector
        best = [-1.0] * len(self.readings)
        for position, owner in enumerate(self.owner):
            best[owner] = max(best[owner], float(similarities[position]))
        return best


_BANKS: dict[str, DescriptionBank] = {}
"""Per process: the bank of the current catalogue (readings registered later make a new one)."""


def bank(encode: Encoder, cache_dir: Path | None) -> DescriptionBank:
    texts = "\n".join(d for r in readings() for d in r.descriptions)
    key = hashlib.sha256(texts.encode("utf-8")).hexdigest()[:16]
    found = _BANKS.get(key)
    if found is None:
        found = DescriptionBank(encode, cache_dir)
        _BANKS[key] = found
    return found


TYPE_MISMATCH = 0.15
"""What a reading loses when it cannot give the answer type the wording asks for."""


def understand_meaning(q: Question, encode: Encoder, cache_dir: Path | None = None) -> Understanding:
    """Rank the readings of ``q`` by meaning, filtered by the entity kinds it names."""
    descriptions = bank(encode, cache_dir)
    vector = np.asarray(encode([delexicalise(q)]), dtype=np.float32)[0]
    wanted = answer_type(q.text)
    kinds = {m.entity.kind for m in q.mentions if m.entity.in_kb}
    matches = []
    for reading, score in zip(descriptions.readings, descriptions.scores(vector), strict=True):
        if reading.needs and not set(reading.needs) & kinds:
            continue
        if wanted not in {"any", "kind"} and "any" not in reading.answer_types:
            if wanted not in reading.answer_types:
                score -= TYPE_MISMATCH
        matches.append(Match(reading, score))
    matches.sort(key=lambda m: -m.score)
    return Understanding(tuple(matches), wanted)


def meaning_kept(q: Question, words: Sequence[str], encode: Encoder) -> float:
    """How much of the question's meaning survives without ``words`` (cosine of the two wordings)."""
    text = delexicalise(q)
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
    without = re.sub(r"\s+", " ", re.sub(pattern, " ", text, flags=re.I)).strip()
    if not without or fold(without) == fold(text):
        return 1.0 if without else 0.0
    vectors = np.asarray(encode([text, without]), dtype=np.float32)
    return float(vectors[0] @ vectors[1])
