"""`KnowledgeBase`: the one facade every feature goes through; the CLI and the HTTP app are thin shells."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.errors import IngestError, KBCorrupt, KBNotFound, KBWriteError, TrialKBError
from kb.settings import Settings
from kb.store import DocumentEntry, KBDirectory, Manifest

if TYPE_CHECKING:
    from kb.bulk import Extraction, IngestProgress
    from kb.ctgov.importer import LinkReport
    from kb.ctgov.reconciliation import Reconciliation
    from kb.ingest_task import ExtractedDocument, TaskFailure, TaskOptions
    from kb.lexicon import Lexicon
    from kb.models import Document
    from kb.remote_store import SparqlClient
    from kb.sparql import QueryOutput
    from kb.triplestore import ReadableStore, TripleStore

Progress = Callable[[str, int, int], None]
"""Called as ``progress(label, done, total)`` during long runs."""

SOURCE_SUFFIXES = {".txt", ".md", ".markdown", ".text", ".xml"}


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one file: added, updated, unchanged or failed, with a message."""

    path: str
    status: str  # added | updated | unchanged | skipped | failed
    message: str
    document_id: str | None = None
    triples: int = 0
    trials: tuple[str, ...] = ()
    origin: str | None = None  # the file it was read from (an XML file holds many articles)


@dataclass(frozen=True)
class IngestReport:
    outcomes: tuple[IngestOutcome, ...]
    triples: int
    documents: int

    @property
    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.outcomes)


@dataclass(frozen=True)
class ValidationReport:
    conforms: bool
    text: str
    violations: int
    warnings: int = 0


def _extraction_outcome(
    document: Document, item: ExtractedDocument, known: DocumentEntry | None
) -> IngestOutcome:
    """What became of a document once extracted: added or updated, or failed when it names no trial."""
    if item.ntriples is None:
        return IngestOutcome(
            document.path,
            "failed",
            "mentions no clinical trial (no trial name or NCT id found); not ingested (use --force to add it anyway)",
            document.id,
        )
    message = f"{item.triples} triples, {item.facts} facts" + (
        f"; trials: {', '.join(item.trials)}" if item.trials else ""
    )
    status = "updated" if known is not None else "added"
    return IngestOutcome(document.path, status, message, document.id, item.triples, item.trials)


@dataclass(frozen=True)
class _Started:
    """A batch's extraction under way: the documents skipped (with why), those to extract (their indices),
    and the workers' results as they come (None: extracted in this process, one by one)."""

    skipped: dict[int, str]
    pending: list[int]
    results: Iterator[Any] | None


@dataclass
class _Loaded:
    manifest: Manifest
    store: ReadableStore
    extra: dict[str, Any] = field(default_factory=dict)


class KnowledgeBase:
    """A knowledge base directory, opened for reading and writing.

    >>> kb = KnowledgeBase()                      # the bundled KB, built from the seed
    >>> kb.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").body
    """

    def __init__(self, home: Path | str | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.home = Path(home).expanduser().resolve() if home is not None else self.settings.resolved_home()
        self.directory = KBDirectory(self.home)
        self._loaded: _Loaded | None = None
        self._lexicon: Lexicon | None = None
        self._remote: SparqlClient | None = None
        # Passage vectors computed by ingest workers for the batch being committed (by `text_key`).
        self._batch_vectors: dict[str, Any] = {}

    @property
    def remote(self) -> SparqlClient | None:
        """The client of the remote SPARQL store that holds the graphs (``--store``), or None: embedded."""
        if self._remote is None and self.settings.store:
            from kb.remote_store import SparqlClient

            self._remote = SparqlClient.from_settings(self.settings)
        return self._remote

    # ------------------------------------------------------------------ state

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            from kb.lexicon import load_lexicon

            self._lexicon = load_lexicon()
        return self._lexicon

    def _load(self) -> _Loaded:
        if self._loaded is None and self.remote is not None:
            from kb.remote_store import RECORD_KEY, RemoteTripleStore, held_graphs

            # The local directory stays the commit point (its manifest says which version this is, and
            # which graphs the store holds); the graphs themselves are read from the store.
            manifest = self.directory.read_manifest()
            # The graphs the commit recorded in this store, or (none recorded here) what the store says.
            held = held_graphs(manifest.extra, self.remote.endpoints) if RECORD_KEY in manifest.extra else {}
            self._loaded = _Loaded(manifest, RemoteTripleStore(self.remote, held or None))
        if self._loaded is None:
            from kb.triplestore import TripleStore

            manifest = self.directory.read_manifest()
            for _attempt in range(3):
                try:
                    data = self.directory.read_snapshot(manifest)
                    break
                except KBCorrupt:
                    # A writer may commit, and delete the snapshot we were about to read, between our
                    # reading the manifest and the snapshot: a newer manifest means try its snapshot.
                    latest = self.directory.read_manifest()
                    if latest.sha256 == manifest.sha256:
                        raise
                    manifest = latest
            else:
                data = self.directory.read_snapshot(manifest)
            self._loaded = _Loaded(manifest, TripleStore.from_nquads(data))
        return self._loaded

    def check_store(self) -> None:
        """Raise `StoreUnavailable` when the remote store does not answer (asked once per loaded version):
        a store that is down is an error, not a run of abstentions."""
        loaded = self._load()
        if self.remote is not None and not loaded.extra.get("store_answered"):
            from kb.remote_store import RemoteQueryEngine

            RemoteQueryEngine(self.remote).run("ASK {}", False)
            loaded.extra["store_answered"] = True

    def reload(self) -> None:
        """Forget the loaded snapshot; the next access reads the latest commit."""
        self._loaded = None

    @property
    def manifest(self) -> Manifest:
        return self._load().manifest

    @property
    def store(self) -> ReadableStore:
        """The KB's graphs as readers see them: the embedded store, or the remote one with ``--store``."""
        return self._load().store

    def exists(self) -> bool:
        return self.directory.exists()

    def graph_names(self) -> frozenset[str]:
        """The named graphs of the loaded version (read once per version: the query workers check every
        request's dataset against them, and listing 4,500 graphs took 3 to 5 ms a query)."""
        loaded = self._load()
        names = loaded.extra.get("graph_names")
        if names is None:
            names = loaded.extra["graph_names"] = frozenset(loaded.store.graph_names())
        return frozenset(names)

    # ------------------------------------------------------------------ writing

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        force: bool = False,
        progress: Progress | None = None,
        batch_size: int | None = None,
        on_progress: Callable[[IngestProgress], None] | None = None,
        workers: int = 1,
        cluster: str | None = None,
    ) -> IngestReport:
        """Add source files to the KB (created if new): text and Markdown, MEDLINE/PubMed XML and PMC JATS XML
        (plain or ``.gz``). Documents are read as a stream and committed in batches of ``batch_size``: each
        batch is read, checked and extracted before anything is written, then committed once, atomically,
        under the writer lock: sources, snapshot, index and manifest together (`kb.store`). A load stopped at
        any point keeps its committed batches; run again, they are `unchanged` and the rest is added. When no
        file can be added nothing is written, not even a new KB directory. With ``workers`` > 1 documents are
        extracted in that many worker processes (`kb.bulk.ExtractionPool`), with ``cluster`` (a Dask scheduler's
        address) on that cluster's workers (`kb.cluster.ClusterExtraction`); the same task either way
        (`kb.ingest_task`), the same results, committed by this process batch by batch."""
        from kb.bulk import DEFAULT_BATCH_SIZE, Batch, BatchReader, ExtractionPool

        reader = BatchReader(paths, batch_size or DEFAULT_BATCH_SIZE)
        outcomes: list[IngestOutcome] = []
        manifest = self.directory.read_manifest() if self.exists() else None
        done = 0

        def tick(batch: Batch, index: int) -> None:
            nonlocal done
            done += 1
            state = reader.progress(done, batch.positions[index])
            if progress:
                progress("ingesting", state.position, state.size)
            if on_progress:
                on_progress(state)

        pool: Extraction | None = None
        if cluster is not None:
            from kb.cluster import ClusterExtraction

            # Connects now, so that an unreachable scheduler is one error before anything is read. Cluster
            # workers embed too: that frees this process (measured 20-21 abstracts/s with 2 workers here).
            pool = ClusterExtraction(cluster, self._task_options(force, embed=True))

        def extractor(count: int) -> Extraction | None:
            # Started for the first batch with two documents to extract: one file needs no processes.
            nonlocal pool
            if pool is None and workers > 1 and count > 1:
                # Local workers extract only: this process embeds at commit, over all cores (on 2 shared cores
                # that measured no slower than each worker embedding on one thread, often faster).
                pool = ExtractionPool(self, min(workers, count))
            return pool

        batches = iter(reader)
        following: tuple[Batch, _Started | None] | None = None

        def start_next() -> None:
            # With workers, the next batch is read and handed to them before this one is committed: they
            # extract it while this process commits (a batch started here is decided again under the lock).
            nonlocal following
            if following is None:
                upcoming = next(batches, None)
                if upcoming is not None:
                    started = self._start_batch(upcoming.documents, force, manifest, extractor)
                    following = (upcoming, started)

        try:
            number = 0
            while True:
                start_next()
                if following is None:
                    break
                (batch, started), following = following, None
                number += 1
                outcomes += [
                    IngestOutcome(f.origin, "failed", f.reason, origin=f.origin) for f in batch.failures
                ]
                if batch.documents:
                    added, manifest = self._ingest_batch(
                        batch.documents,
                        force,
                        number,
                        manifest,
                        functools.partial(tick, batch),
                        extractor,
                        started,
                        before_commit=start_next if pool is not None else None,
                    )
                    outcomes += added
        finally:
            if pool is not None:
                pool.close()
        return self._report(paths, outcomes, manifest)

    def _ingest_batch(
        self,
        batch: Sequence[tuple[str, Document]],
        force: bool,
        number: int,
        committed: Manifest | None,
        tick: Callable[[int], None] | None = None,
        extractor: Callable[[int], Extraction | None] | None = None,
        started: _Started | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> tuple[list[IngestOutcome], Manifest | None]:
        """Extract and commit one batch of documents (``(origin, document)`` pairs); returns its outcomes and the
        manifest after it. ``started``: its extraction, already under way (`_start_batch`); ``before_commit``
        is called once it is extracted, before the commit (to start the next batch)."""
        from kb.ingest_task import ExtractedDocument
        from search.storage import fault_point

        outcomes: list[IngestOutcome] = []
        # Extraction runs before the lock is taken (other writers need not wait for it); whether a document
        # is new, changed or unchanged is decided again under the lock, against the latest commit.
        before = {entry.id: entry for entry in committed.documents} if committed else {}
        if started is None:
            started = self._start_batch(batch, force, committed, extractor)
        extracted: dict[int, ExtractedDocument] = {}
        skipped = started.skipped
        crashed: dict[int, str] = {}  # extraction raised in a worker process: that document failed
        pending = started.pending
        results = started.results
        waiting = iter(pending)
        upcoming = next(waiting, None)
        for index, (_origin, document) in enumerate(batch):
            if index == upcoming:
                upcoming = next(waiting, None)
                result = next(results) if results is not None else self._extract(document, force)
                if isinstance(result, BaseException):
                    crashed[index] = f"extraction failed: {type(result).__name__}: {result}"
                elif not isinstance(
                    result, ExtractedDocument
                ):  # a TaskFailure: extraction raised in a worker
                    crashed[index] = f"extraction failed: {result.message}"
                else:
                    extracted[index] = result
            if tick:
                tick(index)
        if before_commit:
            before_commit()
        wanted = [item for item in extracted.values() if item.ntriples is not None]
        if not wanted and not any(document.id in before for _, document in batch):
            # Nothing to add and nothing to report as unchanged: leave the directory as it is (or absent).
            for index, (origin, document) in enumerate(batch):
                if index in crashed:
                    outcomes.append(
                        IngestOutcome(document.path, "failed", crashed[index], document.id, origin=origin)
                    )
                    continue
                outcomes.append(self._refusal(origin, document, skipped.get(index), extracted.get(index)))
            return outcomes, committed
        with self.directory.write_lock(self.settings.lock_timeout):
            self.reload()
            store, previous = self._writable_store()
            known_now = {entry.id: entry for entry in previous.documents} if previous else {}
            entries = dict(known_now)
            sources: dict[str, bytes] = {}
            for index, (origin, document) in enumerate(batch):
                known = known_now.get(document.id)
                if known is not None and known.sha256 == document.sha256:
                    outcomes.append(
                        IngestOutcome(
                            document.path,
                            "unchanged",
                            "already in the knowledge base, unchanged",
                            document.id,
                            origin=origin,
                        )
                    )
                    continue
                if index in skipped:
                    outcomes.append(self._refusal(origin, document, skipped[index], None))
                    continue
                if index in crashed:
                    outcomes.append(
                        IngestOutcome(document.path, "failed", crashed[index], document.id, origin=origin)
                    )
                    continue
                item = extracted.get(index) or self._extract(document, force)  # changed meanwhile
                if item.ntriples is None:
                    outcomes.append(self._refusal(origin, document, None, item))
                    continue
                outcome = replace(_extraction_outcome(document, item, known), origin=origin)
                outcomes.append(outcome)
                store.replace_graph_data(item.graph, item.ntriples)
                self._batch_vectors.update(item.vector_map())
                entries[document.id] = self._entry(document, outcome)
                # An XML article is stored as its own XML (what `trialkb build` reads back); text as read.
                sources[document.path] = (
                    document.source if document.source is not None else document.text.encode("utf-8")
                )
            try:
                if sources:
                    fault_point(f"ingest-batch-{number}")  # a test hook: die while this batch is uncommitted
                    manifest: Manifest | None = self._commit(store, entries, previous, sources=sources)
                else:
                    manifest = previous
            finally:
                self._batch_vectors = {}
        self._after_commit(bool(sources))
        return outcomes, manifest

    @staticmethod
    def _start_batch(
        batch: Sequence[tuple[str, Document]],
        force: bool,
        committed: Manifest | None,
        extractor: Callable[[int], Extraction | None] | None,
    ) -> _Started:
        """Which documents of a batch to extract (new or changed, not skipped), their extraction handed to the
        workers when there are some."""
        from kb.bulk import skip_reason

        before = {entry.id: entry for entry in committed.documents} if committed else {}
        skipped: dict[int, str] = {}
        pending: list[int] = []
        for index, (_origin, document) in enumerate(batch):
            known = before.get(document.id)
            if known is None or known.sha256 != document.sha256:
                reason = None if force else skip_reason(document)
                if reason is not None:
                    skipped[index] = reason
                else:
                    pending.append(index)
        pool = extractor(len(pending)) if extractor else None
        results = pool.extract([batch[index][1] for index in pending], force) if pool else None
        return _Started(skipped, pending, results)

    @staticmethod
    def _refusal(
        origin: str, document: Document, reason: str | None, item: ExtractedDocument | None
    ) -> IngestOutcome:
        """A document not added: an XML article is `skipped` (a bulk load goes on), a text file `failed`."""
        if document.record is None and item is not None:
            return replace(_extraction_outcome(document, item, None), origin=origin)
        message = reason or (
            "mentions no clinical trial (no trial name or NCT id found); not ingested (use --force to add it)"
        )
        return IngestOutcome(document.path, "skipped", message, document.id, origin=origin)

    @staticmethod
    def _report(
        paths: Sequence[Path | str], outcomes: list[IngestOutcome], manifest: Manifest | None
    ) -> IngestReport:
        # Report in the order the files were given (read failures were collected first).
        order = {Path(p).name: n for n, p in enumerate(paths)} | {str(p): n for n, p in enumerate(paths)}
        ordered = sorted(outcomes, key=lambda o: order.get(o.origin or o.path, order.get(o.path, len(order))))
        if manifest is None:
            return IngestReport(tuple(ordered), 0, 0)
        return IngestReport(tuple(ordered), manifest.triples, len(manifest.documents))

    def build(self, *, progress: Progress | None = None) -> IngestReport:
        """Rebuild the KB from its sources, from scratch: the source files the manifest lists, or every
        file in ``sources/`` when there is no readable manifest (a new or damaged KB)."""
        nothing = KBNotFound(f"{self.directory.sources} holds no sources to build from")
        if not self.directory.sources.is_dir():
            raise nothing  # before the lock, which would create the directory
        from kb.ingest import read_document

        with self.directory.write_lock(self.settings.lock_timeout):
            from kb.triplestore import TripleStore

            # Chosen under the lock: recovery has completed or undone any interrupted commit by now.
            listed = self.directory.listed_sources()
            if listed is None:
                listed_files = self.directory.sources.glob("*")
                sources = sorted(p for p in listed_files if p.suffix.lower() in SOURCE_SUFFIXES)
            else:
                sources = listed
            if not sources:
                raise nothing
            previous = self.directory.read_manifest() if listed is not None else None
            archived: tuple[str, ...] = ()
            if listed is None and self.directory.exists():
                # A damaged manifest: its registry ids are lost, so restore every archived record.
                archived = tuple(sorted(p.stem for p in (self.home / "registry").glob("NCT*.json")))
            store = TripleStore()
            entries: dict[str, DocumentEntry] = {}
            outcomes: list[IngestOutcome] = []
            for number, path in enumerate(sources, 1):
                try:
                    document = read_document(path)
                    item = self._extract(document, force=True)
                except IngestError as error:
                    outcomes.append(IngestOutcome(str(path), "failed", error.reason))
                else:
                    outcome = _extraction_outcome(document, item, None)
                    outcomes.append(outcome)
                    if item.ntriples is not None:
                        store.replace_graph_data(item.graph, item.ntriples)
                        entries[document.id] = self._entry(document, outcome)
                if progress:
                    progress("building", number, len(sources))
            manifest = self._commit(
                store, entries, previous, rebuild_registry=True, registry_records=archived, rebuild_index=True
            )
        self._after_commit(True)
        return IngestReport(tuple(outcomes), manifest.triples, len(manifest.documents))

    @classmethod
    def _entry(cls, document: Document, outcome: IngestOutcome) -> DocumentEntry:
        """The manifest's record of a document that was added or updated."""
        return DocumentEntry(
            id=document.id,
            path=document.path,
            sha256=document.sha256,
            title=document.title,
            graph=cls._graph_iri(document.id),
            triples=outcome.triples,
            trials=outcome.trials,
        )

    @staticmethod
    def _graph_iri(document_id: str) -> str:
        from kb.build import document_graph_iri

        return str(document_graph_iri(document_id))

    def _writable_store(self) -> tuple[TripleStore, Manifest | None]:
        from kb.triplestore import TripleStore

        if not self.directory.exists():
            return TripleStore(), None
        # Writers work on their own copy, parsed from the snapshot (the loaded store stays as readers see it);
        # the merged default graph is derived at load time, so a copy that is written need not build it.
        # With a remote store too: the snapshot is the writer's full copy (the lexicon graph is derived
        # from all graphs) and the local backup `trialkb build` and the search index are keyed on.
        manifest = self._load().manifest
        store = TripleStore.from_nquads(self.directory.read_snapshot(manifest), merge=False)
        store.track_removals = self.remote is not None
        return store, manifest

    def _extract(self, document: Document, force: bool) -> ExtractedDocument:
        """Extract a document's facts and build its named graph (nothing is written)."""
        from kb.ingest_task import extract_document

        return extract_document(document, self._task_options(force), self.lexicon)

    def _extract_chunk(
        self, documents: Sequence[Document], force: bool, embed: bool
    ) -> list[ExtractedDocument | TaskFailure]:
        """`kb.ingest_task.extract_chunk` with this KB's lexicon and settings (in a local worker process);
        ``embed`` embeds the passages there too (the index update at commit then reuses the vectors)."""
        from kb.ingest_task import extract_chunk

        options = self._task_options(force, embed)
        return extract_chunk(
            documents, options, self.lexicon, lambda document: self._extract(document, force)
        )

    def _task_options(self, force: bool, embed: bool = False) -> TaskOptions:
        from kb.ingest_task import TaskOptions

        onnx = None
        if embed:
            from kb.passage_search import onnx_dir

            onnx = str(onnx_dir(self))
        return TaskOptions(force=force, onnx_dir=onnx)

    def _commit(
        self,
        store: TripleStore,
        entries: dict[str, DocumentEntry],
        previous: Manifest | None,
        rebuild_registry: bool = False,
        registry_records: Sequence[str] = (),
        *,
        sources: Mapping[str, bytes] | None = None,
        rebuild_index: bool = False,
    ) -> Manifest:
        """Commit ``store`` with its ``sources`` and search index (see `kb.store` for the protocol)."""
        from kb.build import LEXICON_GRAPH, lexicon_graph

        registry = tuple(previous.registry_records) if previous else ()
        registry = tuple(sorted(set(registry) | set(registry_records)))
        if rebuild_registry and registry:
            # A rebuild starts from an empty store: re-map the archived registry records into it.
            from kb.ctgov.importer import restore_registry_graphs

            registry = restore_registry_graphs(store, self.home, registry)
        used = store.used_iris(exclude_graph=str(LEXICON_GRAPH))
        store.replace_graph(lexicon_graph(self.lexicon, used))
        data = store.to_nquads()
        extra: dict[str, Any] = {}
        if self.remote is not None:
            # The store first, before anything local changes: a store that fails leaves the KB as it was.
            from kb.remote_store import RECORD_KEY, StoreEndpoints, held_graphs, sync_graphs

            endpoints = StoreEndpoints.from_settings(self.settings)
            assert endpoints is not None
            held = held_graphs(previous.extra if previous else None, endpoints)
            extra[RECORD_KEY] = sync_graphs(self.remote, store, held, everything=rebuild_registry)
        manifest = Manifest(
            snapshot="",
            sha256="",
            triples=len(store),
            documents=tuple(sorted(entries.values(), key=lambda e: e.id)),
            registry_records=registry,
            extra=extra,
        )

        def index_new_content(content_hash: str) -> None:
            # The index is written before the commit point, so that a failure to write it (disk full)
            # leaves the KB at its previous version; it is built from the new content, shown to the
            # index code as if it were committed.
            from search.errors import SearchIndexError

            store.merge_default_graph()
            snapshot = f"kb-{content_hash[:16]}.nq"
            self._loaded = _Loaded(replace(manifest, snapshot=snapshot, sha256=content_hash), store)
            try:
                self._update_index(rebuild=rebuild_index)
            except SearchIndexError as error:  # no embedder here: the KB stands, search rebuilds later
                print(f"note: the search index was not updated ({error})", file=sys.stderr)
            except OSError as error:
                if error.filename is None:  # a failed write names no file: say it was the index
                    raise OSError(error.errno, error.strerror, str(self.directory.index_dir)) from error
                raise

        try:
            return self.directory.commit(data, manifest, sources, before_manifest=index_new_content)
        finally:
            self._loaded = None

    def link(
        self, nct_ids: Sequence[str], record: Path | str | None = None, *, offline: bool | None = None
    ) -> LinkReport:
        """Import ClinicalTrials.gov records, each into its own named graph ``graph/registry/NCT…``.

        ``record`` is a saved API v2 JSON record (one NCT id at most, which it must match); otherwise each
        record is fetched and cached, or read from the cache only when ``offline`` (default: offline unless
        the ``online`` setting is on). Every record is validated before anything is written: with one id, an
        error raises and the KB is unchanged; with several, the good ones are imported and the rest reported.
        """
        from kb.ctgov.client import CtgovClient
        from kb.ctgov.errors import RegistryError
        from kb.ctgov.importer import (
            LinkReport,
            RegistryArchive,
            failure,
            outcome_for,
            prepare_from_client,
            prepare_from_file,
        )
        from kb.ctgov.links import normalize_nct_id

        ids = list(dict.fromkeys(normalize_nct_id(nct_id) for nct_id in nct_ids))
        prepared, failed = [], []
        if record is not None:
            if len(ids) > 1:
                raise TrialKBError("--record imports one record: give at most one NCT id with it")
            prepared.append(prepare_from_file(Path(record), ids[0] if ids else None))
        else:
            if not ids:
                raise TrialKBError("give an NCT id to link, or --record FILE with a saved API v2 record")
            with CtgovClient(
                self.settings.ctgov_base_url,
                cache_dir=self.settings.resolved_cache_dir() / "ctgov",
                offline=(not self.settings.online) if offline is None else offline,
            ) as client:
                for nct_id in ids:
                    try:
                        prepared.append(prepare_from_client(client, nct_id))
                    except RegistryError as error:
                        if len(ids) == 1:
                            raise
                        failed.append(failure(nct_id, error))
        graphs = [(item, *item.to_graph()) for item in prepared]
        if not graphs:
            return LinkReport(tuple(failed), self.manifest.triples if self.exists() else 0)
        with self.directory.write_lock(self.settings.lock_timeout):
            self.reload()
            store, previous = self._writable_store()
            entries = {entry.id: entry for entry in previous.documents} if previous else {}
            linked = [outcome_for(item, iri, store.replace_graph(graph)) for item, iri, graph in graphs]
            archive = RegistryArchive(self.home)
            try:
                for item in prepared:
                    archive.save(item)  # kept for `trialkb build`; only ids in the manifest are restored
            except OSError as error:
                raise KBWriteError.from_os_error(error, self.home) from None
            manifest = self._commit(
                store, entries, previous, registry_records=tuple(item.record.nct_id for item in prepared)
            )
        self._after_commit(True)
        order = {nct_id: number for number, nct_id in enumerate(ids)}
        outcomes = sorted(linked + failed, key=lambda outcome: order.get(outcome.nct_id, len(order)))
        return LinkReport(tuple(outcomes), manifest.triples)

    def reconcile(self, nct_id: str) -> Reconciliation:
        """Where a trial's publications and its registry record agree or differ, topic by topic."""
        from kb.ctgov.reconcile import reconcile
        from kb.errors import NotFound

        result = reconcile(self.select, nct_id)
        if result.registry_graph is None and not result.documents:
            raise NotFound(
                f"{result.nct_id} is not in the knowledge base: no article reports it and no registry record "
                f"is imported (`trialkb link {result.nct_id}`)"
            )
        return result

    def _after_commit(self, changed: bool) -> None:
        """After a commit (the search index was brought up to date inside it): readers see the new version."""
        self.reload()

    # ------------------------------------------------------------------ reading

    def query(
        self,
        sparql: str,
        result_format: str | None = None,
        *,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        isolated: bool = False,
    ) -> QueryOutput:
        """Run a read-only SPARQL query; SELECT/ASK as json|xml|csv|tsv, graphs as turtle|ntriples|rdfxml|jsonld.

        Without ``result_format``: JSON for SELECT and ASK, Turtle for CONSTRUCT and DESCRIBE. ``isolated``
        runs the check and the query in a forked child without network, under the query deadline and memory
        cap of the settings, so that no query can crash or hang this process (the CLI's way); the default
        runs in this process, which is faster.
        """
        from kb.sparql import check_graph_parameters, check_query, execute

        known = self.graph_names()  # also loads the KB: a forked child shares it rather than reading it again
        if self.remote is not None:
            # The query runs in the remote store, under the HTTP client's deadline: no child to fork (and
            # a child without network could not reach the store). The checks still run here first.
            isolated = False

        def run() -> QueryOutput:
            plan = check_query(
                sparql,
                known_graphs=known,
                max_length=self.settings.max_query_length,
                max_nesting=self.settings.max_query_nesting,
            )
            check_graph_parameters(list(default_graphs), list(named_graphs), known)
            return execute(
                self.store.native,
                plan,
                result_format or ("turtle" if plan.returns_graph else "json"),
                default_graphs=list(default_graphs),
                named_graphs=list(named_graphs),
                max_results=self.settings.max_results,
            )

        if not isolated:
            return run()
        from kb.sandbox import run_isolated

        return run_isolated(
            run, timeout=self.settings.query_timeout, memory_limit_mb=self.settings.query_memory_limit_mb
        )

    def select(self, sparql: str) -> list[dict[str, Any]]:
        """Rows of a SELECT over the union of all graphs, as Python values (internal use and tests)."""
        from kb.sparql import select_rows

        return select_rows(self.store.native, sparql)

    def validate(self) -> ValidationReport:
        """Check the KB against the ontology's SHACL shapes."""
        from pyshacl import validate

        from ontology import ontology_graph, shapes_graph

        data = self.store.union_graph()
        conforms, report_graph, text = validate(
            data,
            shacl_graph=shapes_graph(),
            ont_graph=ontology_graph(),
            inference="none",
            allow_warnings=True,
            advanced=True,
        )
        from rdflib.namespace import SH

        violations = len(list(report_graph.subjects(SH.resultSeverity, SH.Violation)))
        warnings = len(list(report_graph.subjects(SH.resultSeverity, SH.Warning)))
        return ValidationReport(bool(conforms), str(text), violations, warnings)

    def export(self, fmt: str = "trig") -> bytes:
        """The whole KB: trig (named graphs), nq (canonical N-Quads), ttl (all graphs merged), jsonld."""
        fmt = {"turtle": "ttl", "nquads": "nq", "json-ld": "jsonld"}.get(fmt.lower(), fmt.lower())
        if fmt == "nq":
            return self.store.to_nquads()
        if fmt == "trig":
            return self.store.dataset.serialize(format="trig").encode("utf-8")
        if fmt == "ttl":
            return self.store.union_graph().serialize(format="turtle").encode("utf-8")
        if fmt == "jsonld":
            return self.store.dataset.serialize(format="json-ld").encode("utf-8")
        raise TrialKBError(f"unknown export format {fmt!r}; choose ttl, trig, nq or jsonld")

    def search(
        self,
        text: str,
        k: int = 5,
        *,
        document: str | None = None,
        trial: str | None = None,
        mode: str = "fused",
    ) -> list[Any]:
        """Ranked passages for ``text`` (dense + BM25, fused by normalised score), optionally filtered."""
        from kb.passage_search import search_passages

        return search_passages(self, text, k=k, document=document, trial=trial, mode=mode)

    def search_many(self, texts: Sequence[str], k: int = 5) -> list[list[Any]]:
        """`search` for many queries, loading the index once."""
        return [self.search(text, k) for text in texts]

    def ask(self, question: str) -> Any:
        """Answer a plain-English question from the KB (or a passage, saying so), or abstain with a reason."""
        from kb.qa import answer_question

        if self.remote is not None:
            self.check_store()
        return answer_question(self, question)

    def ask_many(self, questions: Sequence[str]) -> list[Any]:
        """`ask` for many questions, loading everything once."""
        return [self.ask(question) for question in questions]

    def _update_index(self, rebuild: bool = False) -> None:
        from kb.passage_search import update_index

        update_index(self, rebuild=rebuild)

    def documents(self) -> tuple[DocumentEntry, ...]:
        return self.manifest.documents

    def source_text(self, document_id: str) -> str:
        for entry in self.manifest.documents:
            if entry.id == document_id:
                return (self.directory.sources / entry.path).read_text(encoding="utf-8")
        raise KeyError(document_id)

    def describe_time(self) -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
