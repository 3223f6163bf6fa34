"""The KB's passage search: keeps a `search.PassageIndex` over every passage current, and queries it.

The index lives in ``<home>/index`` keyed on the KB's content hash. A stale or damaged index is never
used: it is rebuilt (with a message on standard error) or, where the KB directory is read-only,
reported with what to run.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.errors import TrialKBError

if TYPE_CHECKING:
    from kb.facade import KnowledgeBase
    from search.embedder import Embedder
    from search.passage_index import PassageIndex, PassageRecord, SearchHit

PASSAGES_QUERY = """
SELECT ?passage ?text ?start ?end ?ordinal ?section ?document WHERE {
  ?passage a tkb:Passage ; prov:value ?text ; tkb:startOffset ?start ; tkb:endOffset ?end ;
           tkb:ordinal ?ordinal ; dcterms:isPartOf ?documentNode .
  OPTIONAL { ?passage tkb:section ?section }
  BIND(STRAFTER(STR(?documentNode), "/resource/document/") AS ?document)
}"""

TRIAL_DOCUMENTS_QUERY = """
SELECT DISTINCT ?document ?trial ?label ?nct ?name WHERE {
  GRAPH ?g { ?trial a tkb:ClinicalTrial }
  ?g prov:wasDerivedFrom ?documentNode .
  BIND(STRAFTER(STR(?documentNode), "/resource/document/") AS ?document)
  OPTIONAL { ?trial rdfs:label ?label }
  OPTIONAL { ?trial tkb:nctId ?nct }
  OPTIONAL { ?trial tkb:trialName ?name }
}"""


class SearchUnavailable(TrialKBError):
    """The search index cannot be used (stale or damaged and cannot be rebuilt here)."""

    status = 503


def onnx_dir(kb: KnowledgeBase) -> Path:
    return kb.settings.resolved_cache_dir() / "onnx" / "all-MiniLM-L6-v2"


def embedder_for(kb: KnowledgeBase, *, for_build: bool = False) -> Embedder:
    """The query-time encoder: the ONNX export of the model (no torch import) when it exists.

    Building exports it once into the cache so later cold starts can use it.
    """
    from search.embedder import default_embedder

    cached = getattr(kb, "_embedder", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    directory = onnx_dir(kb)
    if for_build:
        ensure_onnx(directory)
    embedder = default_embedder(directory)
    kb._embedder = embedder  # type: ignore[attr-defined]
    return embedder


def ensure_onnx(directory: Path) -> bool:
    """Export the model to ONNX once (needs torch); later query processes load it without torch."""
    from search.embedder import export_onnx, onnx_export_problem

    if onnx_export_problem(directory) is None:
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer warnings are noise for users
            export_onnx(directory)
        return True
    except Exception as error:  # noqa: BLE001 - the torch encoder still works; say why ONNX is off
        print(f"note: ONNX export failed ({error}); using sentence-transformers", file=sys.stderr)
        return False


def _trial_keys(kb: KnowledgeBase) -> dict[str, set[str]]:
    """document id -> the names by which its trials can be filtered (label, NCT id, trial name)."""
    keys: dict[str, set[str]] = {}
    for row in kb.select(TRIAL_DOCUMENTS_QUERY):
        names = {str(v).lower() for k, v in row.items() if k in {"label", "nct", "name"} and v}
        names.add(str(row["trial"]).rsplit("/", 1)[-1].lower())
        keys.setdefault(row["document"], set()).update(names)
    return keys


def passage_records(kb: KnowledgeBase) -> list[PassageRecord]:
    from search.passage_index import PassageRecord

    records = []
    for row in kb.select(PASSAGES_QUERY):
        metadata = {
            "document": str(row["document"]),
            "start": str(row["start"]),
            "end": str(row["end"]),
            "section": str(row.get("section") or "body"),
        }
        records.append(PassageRecord(str(row["passage"]).rsplit("/", 1)[-1], str(row["text"]), metadata))
    records.sort(key=lambda r: (r.metadata["document"], int(r.metadata["start"])))
    return records


def update_index(kb: KnowledgeBase, rebuild: bool = False) -> PassageIndex:
    """Bring the index in line with the KB: embed only passages it lacks, drop those gone; save atomically."""
    from search.errors import SearchIndexError
    from search.passage_index import PassageIndex

    embedder = embedder_for(kb, for_build=True)
    records = passage_records(kb)
    index: PassageIndex | None = None
    if not rebuild:
        try:
            index = PassageIndex.load(
                kb.directory.index_dir, embedder, None, exact_threshold=kb.settings.exact_index_limit
            )
        except SearchIndexError:
            index = None
    if index is None:
        index = PassageIndex.build(records, embedder, exact_threshold=kb.settings.exact_index_limit)
    else:
        wanted = {record.id for record in records}
        index.remove(lambda record: record.id not in wanted)
        index.add(records)  # unchanged texts keep their vectors
    index.save(kb.directory.index_dir, kb.manifest.sha256)
    kb._passage_index = (kb.manifest.sha256, index)  # type: ignore[attr-defined]
    return index


def load_index(kb: KnowledgeBase) -> PassageIndex:
    """The verified index for the KB's current content; rebuilt when stale or damaged."""
    from search.errors import SearchIndexError
    from search.passage_index import PassageIndex

    content = kb.manifest.sha256
    cached = getattr(kb, "_passage_index", None)
    if cached is not None and cached[0] == content:
        return cached[1]  # type: ignore[no-any-return]
    embedder = embedder_for(kb)
    try:
        index = PassageIndex.load(
            kb.directory.index_dir, embedder, content, exact_threshold=kb.settings.exact_index_limit
        )
    except SearchIndexError as error:
        print(f"note: search index not usable ({error}); rebuilding it", file=sys.stderr)
        try:
            with kb.directory.write_lock(kb.settings.lock_timeout):
                index = update_index(kb, rebuild=True)
        except OSError as write_error:
            raise SearchUnavailable(
                f"the search index of {kb.home} is stale or damaged ({error}) and cannot be rebuilt here "
                f"({write_error.strerror}); run `trialkb --home {kb.home} build`"
            ) from None
    kb._passage_index = (content, index)  # type: ignore[attr-defined]
    return index


def search_passages(
    kb: KnowledgeBase,
    text: str,
    *,
    k: int = 5,
    document: str | None = None,
    trial: str | None = None,
    mode: str = "fused",
) -> list[SearchHit]:
    """Ranked passages; ``document`` (id) and ``trial`` (name, label or NCT id) restrict the candidates."""
    index = load_index(kb)
    filters: dict[str, Any] = {}
    if document:
        filters["document"] = document
    if trial:
        wanted = trial.strip().lower()
        documents = [
            doc for doc, names in _trial_keys(kb).items() if any(wanted == n or wanted in n for n in names)
        ]
        if not documents:
            return []
        filters["document"] = [d for d in documents if not document or d == document]
    if not text.strip():
        return []
    return index.search(text, k=max(1, min(k, 100)), mode=mode, filters=filters or None)  # type: ignore[arg-type]
