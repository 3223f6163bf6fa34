"""BM25 keyword search over passages, with a tokeniser that keeps identifiers whole and tolerates typos.

Tokenisation (the same for passages and queries): the text is lower-cased and cut into runs of letters
and digits that may be joined by ``- . / : _ +`` (so ``NCT03739814``, ``10.1200/JCO-25-00307``, ``CD22``,
``A041703``, ``BCR::ABL1`` and ``ECOG-ACRIN`` each stay one token). A joined run is also split on its
punctuation into sub-tokens (``10``, ``1200``, ``jco``, ``25``, ``00307``), so a query can match a part.
A decimal number (``70.9``) is kept whole only. English stopwords are dropped (except inside joined
runs) and plural ``-s`` endings are folded with Harman's S-stemmer (``cycles`` -> ``cycle``).

Typo tolerance: a query word of five or more letters that is not in the index vocabulary is expanded to
at most three vocabulary words that share letter trigrams with it and whose ``difflib`` similarity ratio
is at least 0.8 (``blinatumumab`` -> ``blinatumomab``, ratio 0.92); each expansion counts with its ratio as
weight. The trigram map is built on first use from the vocabulary.

Scoring is Lucene's BM25 (k1 1.5, b 0.75). ``bm25s`` computes the per-term score matrix at build time;
queries read that matrix with numpy, so loading an index does not import ``bm25s`` (and scipy, half a
second of cold start).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCABULARY_FILE = "keyword_vocabulary.json"
MATRIX_FILE = "keyword_matrix.npz"

_RUN = re.compile(r"[^\W_]+(?:(?:[-./:_+]|::|://)[^\W_]+)*")
_CONNECTOR = re.compile(r"[-./:_+]+")
_DECIMAL = re.compile(r"\d+[.,]\d+")
_MIN_TYPO_LENGTH = 5
_TYPO_CUTOFF = 0.8
_TYPO_EXPANSIONS = 3

# A common English list (as in NLTK/Lucene), without negations, which can matter ("MRD-negative", "not").
STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)


def s_stem(word: str) -> str:
    """Harman's S-stemmer: fold English plurals (studies -> study, cycles -> cycle), leave the rest."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """The tokens of a passage or query (see the module docstring for the rules)."""
    tokens: list[str] = []
    for match in _RUN.finditer(text.lower()):
        run = match.group()
        if _DECIMAL.fullmatch(run):
            tokens.append(run)
            continue
        parts = [part for part in _CONNECTOR.split(run) if part]
        if len(parts) > 1:
            tokens.append(run)
        for part in parts:
            if part not in STOPWORDS:
                tokens.append(s_stem(part))
    return tokens


def is_identifier(token: str) -> bool:
    """Whether a token looks like an identifier: digits with letters or joined by punctuation.

    ``nct03739814``, ``cd22``, ``a041703``, ``10.1200/jco-25-00307``, ``zuma-3`` are; ``97``, ``70.9`` and
    plain words are not.
    """
    if not any(character.isdigit() for character in token):
        return False
    if any(character.isalpha() for character in token):
        return True
    return bool(_CONNECTOR.search(token)) and not _DECIMAL.fullmatch(token)


def _trigrams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[index : index + 3] for index in range(len(padded) - 2)}


@dataclass(frozen=True)
class KeywordHit:
    """A passage position and its BM25 score."""

    position: int
    score: float


class KeywordIndex:
    """A BM25 index over passage texts; positions are the order of the texts given to ``build``."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        document_count: int,
    ) -> None:
        self.vocabulary = vocabulary
        self._data = data
        self._indices = indices
        self._indptr = indptr
        self.document_count = document_count
        self._trigram_map: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return self.document_count

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        """Tokenise the texts and compute their BM25 term scores (with ``bm25s``)."""
        return cls.from_tokens([tokenize(text) for text in texts])

    @classmethod
    def from_tokens(cls, corpus_tokens: Sequence[list[str]]) -> KeywordIndex:
        if not any(corpus_tokens):
            empty_pointer = np.zeros(1, dtype=np.int64)
            return cls({}, np.zeros(0, np.float32), np.zeros(0, np.int32), empty_pointer, len(corpus_tokens))
        try:
            import bm25s
        except ImportError as error:
            raise ImportError("keyword search needs bm25s: pip install bm25s==0.3.16") from error
        retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
        scores, vocabulary = retriever.build_index_from_tokens(list(corpus_tokens), show_progress=False)
        return cls(
            {str(token): int(index) for token, index in vocabulary.items()},
            np.asarray(scores["data"], dtype=np.float32),
            np.asarray(scores["indices"]),
            np.asarray(scores["indptr"]),
            int(scores["num_docs"]),
        )

    def expand_query(self, query: str) -> dict[str, float]:
        """Query tokens found in the vocabulary, with weights (1 for exact, the similarity for typos)."""
        weights: dict[str, float] = {}
        for token in tokenize(query):
            if token in self.vocabulary:
                weights[token] = 1.0
                continue
            for candidate, ratio in self.close_tokens(token):
                weights[candidate] = max(weights.get(candidate, 0.0), ratio)
        return weights

    def identifiers_in(self, query: str) -> list[str]:
        """The identifier-like query tokens (see ``is_identifier``) that occur verbatim in the index."""
        return [
            token
            for token in dict.fromkeys(tokenize(query))
            if is_identifier(token) and token in self.vocabulary
        ]

    def close_tokens(self, token: str) -> list[tuple[str, float]]:
        """Vocabulary words within edit similarity ``0.8`` of an unknown alphabetic ``token``, best first."""
        if len(token) < _MIN_TYPO_LENGTH or not token.isalpha():
            return []
        if self._trigram_map is None:
            trigram_map: dict[str, list[str]] = defaultdict(list)
            for word in self.vocabulary:
                if len(word) >= _MIN_TYPO_LENGTH - 1 and word.isalpha():
                    for trigram in _trigrams(word):
                        trigram_map[trigram].append(word)
            self._trigram_map = dict(trigram_map)
        shared: dict[str, int] = defaultdict(int)
        for trigram in _trigrams(token):
            for word in self._trigram_map.get(trigram, ()):
                shared[word] += 1
        # Words sharing few trigrams cannot reach the cutoff; the exact ratio is computed on the rest.
        floor = max(1, len(_trigrams(token)) // 3)
        scored = []
        for word, count in shared.items():
            if count >= floor and abs(len(word) - len(token)) <= 3:
                ratio = difflib.SequenceMatcher(None, token, word).ratio()
                if ratio >= _TYPO_CUTOFF:
                    scored.append((word, ratio))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:_TYPO_EXPANSIONS]

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every passage for ``query`` (zero where no query term occurs)."""
        result = np.zeros(self.document_count, dtype=np.float32)
        for token, weight in self.expand_query(query).items():
            column = self.vocabulary[token]
            begin, end = int(self._indptr[column]), int(self._indptr[column + 1])
            result[self._indices[begin:end]] += weight * self._data[begin:end]
        return result

    def search(self, query: str, k: int, allowed: Iterable[int] | None = None) -> list[KeywordHit]:
        """The ``k`` best passages with a positive score, optionally only among ``allowed`` positions."""
        return self.top(self.scores(query), k, allowed)

    def top(self, scores: np.ndarray, k: int, allowed: Iterable[int] | None = None) -> list[KeywordHit]:
        """The ``k`` best positive entries of ``scores`` (from ``scores``), optionally among ``allowed``."""
        if allowed is not None:
            mask = np.zeros(self.document_count, dtype=bool)
            mask[np.fromiter(allowed, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        # Ties are broken by position so that results are reproducible.
        ordered = sorted(candidates.tolist(), key=lambda position: (-float(scores[position]), position))
        return [KeywordHit(position, float(scores[position])) for position in ordered]

    def save(self, directory: Path) -> list[Path]:
        """Write the vocabulary and score matrix into ``directory``; returns the files written."""
        vocabulary_path = Path(directory) / VOCABULARY_FILE
        matrix_path = Path(directory) / MATRIX_FILE
        vocabulary_path.write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        with matrix_path.open("wb") as handle:
            np.savez(
                handle,
                data=self._data,
                indices=self._indices,
                indptr=self._indptr,
                document_count=np.array([self.document_count], dtype=np.int64),
            )
        return [vocabulary_path, matrix_path]

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        vocabulary = json.loads((Path(directory) / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(Path(directory) / MATRIX_FILE, allow_pickle=False) as arrays:
            return cls(
                {str(token): int(index) for token, index in vocabulary.items()},
                arrays["data"],
                arrays["indices"],
                arrays["indptr"],
                int(arrays["document_count"][0]),
            )
