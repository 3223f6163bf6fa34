"""The ingest task: one document in, its named graph as N-Triples bytes (and its passages' vectors) out.

A pure function of the document and `TaskOptions`, run alike in this process, in a local worker process
(`kb.bulk.ExtractionPool`) or on a Dask worker (`kb.cluster`): nothing in it depends on where it runs. Its
result is plain data (bytes, numbers, strings, one float32 array), cheap to pickle, unlike rdflib graphs
(unpickling a document's graph cost as much as building it). The driver loads the bytes straight into the
store (`kb.triplestore.TripleStore.replace_graph_data`) and hands the vectors to the index update, which
embeds only the passages no worker did (`search.embedder.PrecomputedEmbedder`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef

if TYPE_CHECKING:
    import numpy as np

    from kb.lexicon import Lexicon
    from kb.models import Document

# The process's encoder for worker-side embedding, keyed by the export it was loaded from: loaded once per
# worker process, not once per document.
_EMBEDDERS: dict[str, Any] = {}


@dataclass(frozen=True)
class TaskOptions:
    """What a task needs besides its document: ``force`` (add a document naming no trial) and, to embed its
    passages there, the ONNX export's directory (None: the driver embeds at commit)."""

    force: bool = False
    onnx_dir: str | None = None
    onnx_threads: int = 1  # a worker shares the CPUs with the others: one thread each


@dataclass(frozen=True)
class ExtractedDocument:
    """A document's extraction, ready for the store: ``ntriples`` is None when it is refused (no trial)."""

    document_id: str
    graph: str  # the IRI of the document's named graph
    ntriples: bytes | None
    triples: int
    facts: int
    trials: tuple[str, ...]
    text_keys: tuple[str, ...] = ()  # `text_key` of each embedded passage text, one per row of ``vectors``
    vectors: np.ndarray | None = None

    def vector_map(self) -> dict[str, np.ndarray]:
        """The embedded passages' vectors by `text_key`."""
        if self.vectors is None:
            return {}
        return dict(zip(self.text_keys, self.vectors, strict=True))


def text_key(text: str) -> str:
    """The key a passage's vector is shipped under: the hash of its text (the index embeds texts)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def extract_document(
    document: Document, options: TaskOptions, lexicon: Lexicon | None = None
) -> ExtractedDocument:
    """Extract ``document``'s facts and build its named graph (nothing is written anywhere; no embedding)."""
    from kb.build import document_graph, document_graph_iri
    from kb.extract import extract

    if lexicon is None:
        from kb.lexicon import load_lexicon

        lexicon = load_lexicon()  # cached: once per process
    name = str(document_graph_iri(document.id))
    extraction = extract(document, lexicon)
    trials = tuple(sorted({f.subject.label for f in extraction.facts if f.subject.kind == "ClinicalTrial"}))
    # An XML record that says it reports a trial (publication type, registry id) is one, named or not.
    record = document.record
    if not trials and not options.force and not (record is not None and record.reports_trial):
        return ExtractedDocument(document.id, name, None, 0, len(extraction.facts), trials)
    graph = TripleLines(document_graph_iri(document.id))
    document_graph(extraction, lexicon, graph)  # type: ignore[arg-type]
    if record is not None or any(p.heading for p in document.passages):
        from kb.sources.rdf import add_article_record

        add_article_record(graph, extraction)  # type: ignore[arg-type]
        if not trials and record is not None:
            trials = record.registry_ids  # the trials the record names by registry id only
    return ExtractedDocument(document.id, name, graph.ntriples(), len(graph), len(extraction.facts), trials)


@dataclass(frozen=True)
class TaskFailure:
    """A document whose extraction raised (a bug in an extractor): that document's failure, not the load's."""

    message: str  # "ValueError: what it said"


def extract_chunk(
    documents: Sequence[Document],
    options: TaskOptions,
    lexicon: Lexicon | None = None,
    extract: Callable[[Document], ExtractedDocument] | None = None,
) -> list[ExtractedDocument | TaskFailure]:
    """The task: extract each document of a chunk (``extract``: `extract_document` with ``options``), then, when
    ``options`` name an ONNX export, embed the passages of the extracted ones in one call (sorted by length
    inside the encoder: whole chunks embed about 1.7 times faster than one document at a time)."""
    results: list[ExtractedDocument | TaskFailure] = []
    for document in documents:
        try:
            results.append(extract(document) if extract else extract_document(document, options, lexicon))
        except Exception as error:  # noqa: BLE001 - one document's failure, reported as such
            results.append(TaskFailure(f"{type(error).__name__}: {error}"))
    embedder = _embedder(options)
    if embedder is None:
        return results
    texts: dict[str, str] = {}  # by key, each text once
    wanted: list[tuple[int, tuple[str, ...]]] = []
    for position, (document, result) in enumerate(zip(documents, results, strict=True)):
        if isinstance(result, ExtractedDocument) and result.ntriples is not None:
            passages = {text_key(passage.text): passage.text for passage in document.passages}
            texts.update(passages)
            wanted.append((position, tuple(passages)))
    if not texts:
        return results
    order = list(texts)
    vectors = embedder.encode([texts[key] for key in order])
    rows = {key: row for row, key in enumerate(order)}
    for position, keys in wanted:
        done = results[position]
        assert isinstance(done, ExtractedDocument)
        results[position] = replace(done, text_keys=keys, vectors=vectors[[rows[key] for key in keys]])
    return results


def _embedder(options: TaskOptions) -> Any:
    """This process's ONNX encoder for ``options`` (loaded once), or None when the export is not there (a
    worker on another machine without the cache: the driver embeds those passages at commit)."""
    if not options.onnx_dir:
        return None
    cached = _EMBEDDERS.get(options.onnx_dir)
    if cached is not None:
        return cached
    from search.embedder import OnnxEmbedder, onnx_export_problem
    from search.errors import EmbedderUnavailable

    if onnx_export_problem(Path(options.onnx_dir)) is not None:
        return None
    try:
        embedder = OnnxEmbedder(Path(options.onnx_dir), threads=options.onnx_threads)
        embedder._load()
    except EmbedderUnavailable:
        return None
    _EMBEDDERS[options.onnx_dir] = embedder
    return embedder


def worker_pid() -> int:
    """The process a task ran in (tests kill it to check that a rerun loses nothing)."""
    return os.getpid()


class TripleLines:
    """A document's triples as N-Triples lines, collected as `kb.build` adds them (it only ever calls ``add``):
    for ingest, several times cheaper than an rdflib graph, whose memory store indexes every triple three ways
    only for the graph to be serialised once and thrown away."""

    def __init__(self, identifier: Any) -> None:
        self.identifier = identifier
        self._lines: dict[str, None] = {}  # a triple added twice is one triple, as in a graph
        self._terms: dict[Any, str] = {}

    def add(self, triple: tuple[Any, Any, Any]) -> None:
        s, p, o = triple
        self._lines[f"{self._term(s)} {self._term(p)} {self._term(o)} .\n"] = None

    def __len__(self) -> int:
        return len(self._lines)

    def ntriples(self) -> bytes:
        return "".join(self._lines).encode("utf-8")

    def _term(self, term: Any) -> str:
        written = self._terms.get(term)
        if written is None:
            written = _ntriples_term(term)
            if not isinstance(term, Literal):  # IRIs repeat (predicates, entities); texts rarely do
                self._terms[term] = written
        return written


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _ntriples_term(term: Any) -> str:
    """One rdflib term in N-Triples syntax."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        text = f'"{str(term).translate(_ESCAPES)}"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype is not None:
            return f"{text}^^<{term.datatype}>"
        return text
    raise TypeError(f"not an RDF term: {term!r}")
