"""Organisations by kind: "which government agency", "which pharmaceutical companies", "through which
network" keep only the organisations whose stored kind (`tkb:organizationType`, from the lexicon) means
what the question's noun phrase says, matched by meaning with the project's encoder."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.qa import execution, queries

if TYPE_CHECKING:
    from kb.qa.port import QASource

_KIND_NOUN = re.compile(
    r"\b(?:which|what)\s+(?P<phrase>(?:[a-z-]+\s+){0,2}(?:compan(?:y|ies)|firms?|agenc(?:y|ies)|networks?|"
    r"groups?|universit(?:y|ies)|hospitals?|cent(?:er|re)s?|manufacturers?|industry|makers?|govern\w*))\b",
    re.I,
)
MIN_KIND_SIMILARITY = 0.45
"""Cosine a stored kind needs with the question's phrase (and within `KIND_SPREAD` of the best kind)."""
KIND_SPREAD = 0.1


def asked_kind(text: str) -> str | None:
    """The kind of organisation the question asks for, as it words it ("government agency"), if any."""
    match = _KIND_NOUN.search(text)
    return match.group("phrase").lower() if match else None


def of_asked_kind(source: QASource, text: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose organisation (``value``) is of the kind the question asks for; all when it asks none."""
    wanted = organisations_of_kind(source, text, [str(r["value"]) for r in rows])
    return rows if wanted is None else [r for r in rows if str(r["value"]) in wanted]


def organisations_of_kind(source: QASource, text: str, iris: list[str]) -> set[str] | None:
    """Of ``iris``, the organisations of the kind the question asks for (None: it asks for no kind, or the
    KB stores no kinds for them)."""
    phrase = asked_kind(text)
    organisations = sorted({i for i in iris if i.startswith("http")})
    if phrase is None or not organisations:
        return None
    typed = execution.select_batched(
        source,
        lambda batch: queries.with_prefixes(
            f"SELECT ?org ?type WHERE {{ {queries.values('org', batch)} ?org tkb:organizationType ?type }}"
        ),
        organisations,
    )
    kinds: dict[str, set[str]] = {}
    for row in typed:
        kinds.setdefault(str(row["org"]), set()).add(str(row["type"]))
    names = sorted({k for found in kinds.values() for k in found})
    if not names:
        return None  # no kinds stored: nothing to tell them apart by
    from kb.qa.interpret import encoder

    vectors = np.asarray(encoder(source)([phrase, *names]), dtype=np.float32)
    similarity = dict(zip(names, (vectors[1:] @ vectors[0]).tolist(), strict=True))
    best = max(similarity.values())
    wanted = {n for n, s in similarity.items() if s >= MIN_KIND_SIMILARITY and s >= best - KIND_SPREAD}
    return {org for org, found in kinds.items() if found & wanted}
