"""The KB's passage search: keeps a `search.PassageIndex` over every passage current, and queries it.

The index lives in ``<home>/index`` keyed on the KB's content hash. A stale or damaged index is never
used: it is rebuilt (with a message on standard error) or, where the KB directory is read-only,
reported with what to run. With ``TRIALKB_VECTORS`` (``--vectors URI``) the dense vectors live in a Milvus
collection named after the KB home instead of a FAISS file; records and BM25 stay in ``<home>/index``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.errors import KBWriteError, TrialKBError

if TYPE_CHECKING:
    from kb.qa.port import SearchSource
    from search.embedder import Embedder
    from search.passage_index import PassageIndex, PassageRecord, SearchHit, SearchMode
    from search.vector_index import PassageVectors

PASSAGES_QUERY = """
SELECT ?passage ?text ?start ?end ?ordinal ?section ?heading ?document WHERE {
  ?passage a tkb:Passage ; prov:value ?text ; tkb:startOffset ?start ; tkb:endOffset ?end ;
           tkb:ordinal ?ordinal ; dcterms:isPartOf ?documentNode .
  OPTIONAL { ?passage tkb:section ?section }
  OPTIONAL { ?passage tkb:sectionHeading ?heading }
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


# How trial reports word what questions ask about (general reporting language, not any one document's):
# a question pattern (regex over the lower-cased question) and the words BM25 also looks for.
REPORTING_VOCABULARY: tuple[tuple[str, str], ...] = (
    # An author is named in a citation as "Surname XY, et al." (the first name is the lead author).
    (r"\bauthors?\b|\bwrote\b|\bwritten by\b", "et al authors"),
    (r"\brandomi[sz]ed\b|\brandomi[sz]ation\b", "randomly assigned"),
    (
        r"\benrol+(?:ed|ment)?\b|\bparticipants?\b|\btook part\b|\bhow many (?:patients|people|adults)\b",
        "enrolled patients participants",
    ),
    (r"\bfund(?:ed|ing|er|ers)?\b|\bgrants?\b|\bpaid\b", "funded supported grants funding"),
    (r"\bsponsor(?:ed|s)?\b", "sponsored sponsor"),
    (r"\bpublish(?:ed)?\b|\bjournal\b|\bpaper\b", "journal published publication"),
)
_NAME_SEPARATOR = re.compile(r"[\s\-\u2010-\u2015]+")
_NAME_JOINER = r"[\s\-\u2010-\u2015]?"
_MIN_TRIAL_NAME = 3


class SearchUnavailable(TrialKBError):
    """The search index cannot be used (stale or damaged and cannot be rebuilt here)."""

    status = 503


@contextlib.contextmanager
def vector_database_errors() -> Iterator[None]:
    """A vector database that cannot be used (bad URI, down, client missing) is one clear error."""
    from search.vector_index import VectorStoreUnavailable

    try:
        yield
    except VectorStoreUnavailable as error:
        raise SearchUnavailable(str(error)) from None


def vector_collection(home: Path) -> str:
    """The Milvus collection of the KB at ``home``: one per KB directory (Milvus names allow [A-Za-z0-9_])."""
    return "trialkb_" + hashlib.sha256(str(Path(home).resolve()).encode("utf-8")).hexdigest()[:20]


def vector_store_for(kb: SearchSource, dimension: int) -> PassageVectors | None:
    """The vector database the settings name (``TRIALKB_VECTORS``), connected once per KB object; None
    for the default, FAISS files in the index directory."""
    uri = kb.settings.vectors
    if not uri:
        return None
    from search.milvus_index import MilvusPassageVectors

    cached = getattr(kb, "_vector_store", None)
    if cached is not None and cached[0] == uri:
        store: MilvusPassageVectors = cached[1]
    else:
        store = MilvusPassageVectors(uri, vector_collection(kb.home), dimension)
        kb._vector_store = (uri, store)  # type: ignore[attr-defined]
    store.content_hash = kb.manifest.sha256  # rows written now are for this content
    return store


def onnx_dir(kb: SearchSource) -> Path:
    return kb.settings.resolved_cache_dir() / "onnx" / "all-MiniLM-L6-v2"


def embedder_for(kb: SearchSource, *, for_build: bool = False) -> Embedder:
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


@dataclass(frozen=True)
class TrialNames:
    """The names by which the KB's trials are known, and the documents about each (one KB version)."""

    documents: dict[str, frozenset[str]]  # lower-cased name -> ids of the documents about that trial
    patterns: tuple[tuple[re.Pattern[str], frozenset[str]], ...]  # a name as a query may write it
    # Each name's first part (lower case), which starts any match of its pattern at a word start; trying
    # only the patterns whose first part is in the text keeps a search from running one regex per trial of
    # the KB (30 ms a query at 4,500 documents). Names not all ASCII, or starting with a symbol: always tried.
    starts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    always: tuple[int, ...] | None = None  # None: no index of first parts, try every pattern

    def documents_named_in(self, text: str) -> tuple[frozenset[str], str]:
        """The documents about every trial ``text`` names (by label, trial name or NCT id), and ``text``
        without those names (longest first, so "ECOG-ACRIN E1910" goes whole)."""
        named: set[str] = set()
        rest = text
        for pattern, documents in self._candidates(text):
            rest, count = pattern.subn(" ", rest)
            if count:
                named.update(documents)
        return frozenset(named), re.sub(r"\s+", " ", rest).strip()

    def _candidates(self, text: str) -> Iterable[tuple[re.Pattern[str], frozenset[str]]]:
        # A name removed leaves a space, and a pattern starts after no letter or digit and ends before none:
        # so a name found in the text as it is being cut starts at a word start of the text as given. A text
        # not all ASCII may match by a case fold lower() lacks: every pattern is tried.
        if self.always is None or not text.isascii():
            return self.patterns
        lowered = text.lower()
        longest = max(map(len, self.starts), default=0)
        chosen = set(self.always)
        for start, character in enumerate(lowered):
            if not character.isalnum() or (start and lowered[start - 1].isalnum()):
                continue
            for end in range(start + 1, min(len(lowered), start + longest) + 1):
                chosen.update(self.starts.get(lowered[start:end], ()))
        return [self.patterns[number] for number in sorted(chosen)]


def _name_starts(names: list[str]) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    """`TrialNames.starts` and `.always` for the names in pattern order."""
    starts: dict[str, list[int]] = {}
    always: list[int] = []
    for number, name in enumerate(names):
        parts = [part for part in _NAME_SEPARATOR.split(name) if part]
        if not parts or not name.isascii() or not parts[0][0].isalnum():
            always.append(number)
        else:
            starts.setdefault(parts[0].lower(), []).append(number)
    return {key: tuple(numbers) for key, numbers in starts.items()}, tuple(always)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A whole-word regex for a trial name: separators optional ("ZUMA-3", "ZUMA 3", "zuma3").

    A name with a digit (E1910, NCT02003222) is matched in any case; a name of letters only (an acronym
    such as RATIFY) with its case, so that a trial named like an English word is not seen everywhere.
    """
    parts = [re.escape(part) for part in _NAME_SEPARATOR.split(name) if part]
    body = _NAME_JOINER.join(parts)
    flags = re.IGNORECASE if any(character.isdigit() for character in name) else 0
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", flags)


def trial_names(kb: SearchSource) -> TrialNames:
    """The KB's trial names (labels, trial names, NCT ids), read over SPARQL once per KB version."""
    content = kb.manifest.sha256
    cached = getattr(kb, "_trial_names", None)
    if cached is not None and cached[0] == content:
        return cached[1]  # type: ignore[no-any-return]
    documents: dict[str, set[str]] = {}
    for row in kb.select(TRIAL_DOCUMENTS_QUERY):
        names = {str(row[key]).strip() for key in ("label", "nct", "name") if row.get(key)}
        names.add(str(row["trial"]).rsplit("/", 1)[-1])
        for name in names:
            if len(name) >= _MIN_TRIAL_NAME:
                documents.setdefault(name, set()).add(str(row["document"]))
    frozen = {name: frozenset(docs) for name, docs in documents.items()}
    ordered = sorted(frozen.items(), key=lambda i: -len(i[0]))
    starts, always = _name_starts([name for name, _ in ordered])
    result = TrialNames(
        {name.lower(): docs for name, docs in frozen.items()},
        tuple((_name_pattern(name), docs) for name, docs in ordered),
        starts,
        always,
    )
    kb._trial_names = (content, result)  # type: ignore[attr-defined]
    return result


def keyword_query(text: str) -> str:
    """The query BM25 sees: ``text`` plus the names the lexicon and the reporting vocabulary give it.

    A lexicon mention adds its entity's label and abbreviations (OS -> overall survival, "complete
    remission" -> CR, blina -> blinatumomab), so a passage is found whichever form it uses. When the
    question asks what kind of drug or what target, a drug adds its classes or targets, and a class or
    target adds its drugs ("Which drug is an antibody-drug conjugate?" -> inotuzumab ozogamicin). A
    question phrase adds the words trial reports use for it (`REPORTING_VOCABULARY`).
    """
    from kb.lexicon import load_lexicon

    lexicon = load_lexicon()
    lowered = text.lower()
    asks_kind = re.search(r"\b(?:kind|type|class|sort)s? of\b", lowered) is not None
    asks_target = re.search(r"\btarget|\bdirected\b|\bbinds?\b", lowered) is not None
    extra: list[str] = []
    for match in lexicon.find_all(text):
        entry = match.entry
        extra.append(entry.label)
        extra.extend(name for name in (*entry.abbreviations, *entry.synonyms) if _is_abbreviation(name))
        related: list[tuple[str, str]] = []
        if entry.kind == "Drug":
            related += [("DrugClass", key) for key in entry.drug_class if asks_kind]
            related += [("MolecularTarget", key) for key in entry.targets if asks_target]
        elif entry.kind == "DrugClass" or (entry.kind == "MolecularTarget" and asks_target):
            field = "drug_class" if entry.kind == "DrugClass" else "targets"
            related += [
                ("Drug", drug.key) for drug in lexicon.entries("Drug") if entry.key in getattr(drug, field)
            ]
        extra.extend(found.label for kind, key in related if (found := lexicon.get(kind, key)) is not None)
    for pattern, words in REPORTING_VOCABULARY:
        if re.search(pattern, lowered):
            extra.append(words)
    return " ".join([text, *dict.fromkeys(extra)])


def _is_abbreviation(name: str) -> bool:
    return " " not in name and sum(character.isupper() for character in name) >= 2


def passage_records(kb: SearchSource) -> list[PassageRecord]:
    from search.passage_index import PassageRecord

    records = []
    for row in kb.select(PASSAGES_QUERY):
        metadata = {
            "document": str(row["document"]),
            "start": str(row["start"]),
            "end": str(row["end"]),
            "section": str(row.get("section") or "body"),
        }
        if row.get("heading"):
            metadata["heading"] = str(row["heading"])  # the source's own section: "Results", "Figure 2"
        records.append(PassageRecord(str(row["passage"]).rsplit("/", 1)[-1], str(row["text"]), metadata))
    records.sort(key=lambda r: (r.metadata["document"], int(r.metadata["start"])))
    return records


def update_index(kb: SearchSource, rebuild: bool = False) -> PassageIndex:
    """Bring the index in line with the KB: embed only passages it lacks, drop those gone; save atomically."""
    from search.errors import SearchIndexError
    from search.passage_index import PassageIndex

    base = embedder = embedder_for(kb, for_build=True)
    records = passage_records(kb)
    computed = getattr(kb, "_batch_vectors", None)  # embedded by ingest workers for this commit
    if computed:
        from kb.ingest_task import text_key
        from search.embedder import PrecomputedEmbedder

        embedder = PrecomputedEmbedder(embedder, computed, text_key)
    with vector_database_errors():
        store = vector_store_for(kb, embedder.dimension)
        options: dict[str, Any] = {"exact_threshold": kb.settings.exact_index_limit, "vector_store": store}
        index: PassageIndex | None = None
        if not rebuild:
            index = _index_in_memory(kb)
            if index is not None:
                index.embedder = embedder
            else:
                try:
                    index = PassageIndex.load(kb.directory.index_dir, embedder, None, **options)
                except SearchIndexError:
                    index = None
        if index is None:
            index = PassageIndex.build(records, embedder, **options)
        else:
            wanted = {record.id for record in records}
            index.remove(lambda record: record.id not in wanted)
            if store is not None:
                # A database keeps what is unchanged where it is: only new or changed passages are written.
                records = [r for r in records if r.id not in index or index.get(r.id) != r]
            index.add(records)  # unchanged texts keep their vectors
        index.embedder = base  # queries embed with the encoder itself; the batch's vectors are let go
        index.save(kb.directory.index_dir, kb.manifest.sha256)
    kb._passage_index = (kb.manifest.sha256, index)  # type: ignore[attr-defined]
    return index


def _index_in_memory(kb: SearchSource) -> PassageIndex | None:
    """The index this process saved last, when the index directory still holds it (no other writer has
    saved one since): a bulk load updates it batch after batch without reading it back from disk."""
    from search.errors import SearchIndexError
    from search.manifest import read_manifest

    cached = getattr(kb, "_passage_index", None)
    if cached is None:
        return None
    try:
        on_disk = read_manifest(kb.directory.index_dir)
    except (SearchIndexError, OSError):
        return None
    if on_disk.content_hash != cached[0] or on_disk.count != len(cached[1]):
        return None
    return cached[1]  # type: ignore[no-any-return]


def load_index(kb: SearchSource) -> PassageIndex:
    """The verified index for the KB's current content; rebuilt when stale or damaged."""

    content = kb.manifest.sha256
    cached = getattr(kb, "_passage_index", None)
    if cached is not None and cached[0] == content:
        return cached[1]  # type: ignore[no-any-return]
    embedder = embedder_for(kb)
    with vector_database_errors():
        index = _load_or_rebuild(kb, embedder, content)
    kb._passage_index = (content, index)  # type: ignore[attr-defined]
    return index


def _load_or_rebuild(kb: SearchSource, embedder: Embedder, content: str) -> PassageIndex:
    from search.errors import SearchIndexError
    from search.passage_index import PassageIndex

    store = vector_store_for(kb, embedder.dimension)
    options: dict[str, Any] = {"exact_threshold": kb.settings.exact_index_limit, "vector_store": store}
    try:
        index = PassageIndex.load(kb.directory.index_dir, embedder, content, **options)
    except SearchIndexError as error:
        try:
            with kb.directory.write_lock(kb.settings.lock_timeout):
                try:  # a writer may have brought it up to date while this process waited for the lock
                    index = PassageIndex.load(kb.directory.index_dir, embedder, content, **options)
                except SearchIndexError:
                    index = update_index(kb, rebuild=True)
                    # Said once it is done: when the rebuild fails, the error alone is the one line.
                    print(f"note: search index was not usable ({error}); rebuilt it", file=sys.stderr)
        except (OSError, KBWriteError) as write_error:
            reason = write_error.strerror if isinstance(write_error, OSError) else str(write_error)
            if isinstance(write_error, OSError) and write_error.errno in (errno.ENOSPC, errno.EFBIG):
                reason = f"{reason}: disk full or file too large"
            raise SearchUnavailable(
                f"the search index of {kb.home} is stale or damaged ({error}) and cannot be rebuilt here "
                f"({reason}); free space or fix permissions, then run `trialkb --home {kb.home} build`"
            ) from None
    return index


def search_passages(
    kb: SearchSource,
    text: str,
    *,
    k: int = 5,
    document: str | None = None,
    trial: str | None = None,
    mode: str = "fused",
    keyword_text: str | None = None,
) -> list[SearchHit]:
    """Ranked passages; ``document`` (id) and ``trial`` (name, label or NCT id) restrict the candidates.

    Without a filter, a query that names trials the KB knows (E1910, ZUMA-3, NCT02003222) is answered
    from the documents about those trials first: their passages rank above all others, even those that
    do not repeat the trial's name ("224 patients ... were randomly assigned"); passages of other
    documents follow only when those documents have fewer than ``k`` matches. BM25 searches the query
    with the lexicon's names of the entities it mentions (`keyword_query`), or ``keyword_text`` when
    given. Both apply in every mode.
    """
    with vector_database_errors():
        return _search(kb, text, k, document, trial, mode, keyword_text)


def _search(
    kb: SearchSource,
    text: str,
    k: int,
    document: str | None,
    trial: str | None,
    mode: str,
    keyword_text: str | None,
) -> list[SearchHit]:
    index = load_index(kb)
    k = max(1, min(k, 100))
    filters: dict[str, Any] = {}
    if document:
        filters["document"] = document
    if trial:
        wanted = trial.strip().lower()
        documents = {
            doc
            for name, docs in trial_names(kb).documents.items()
            if wanted == name or wanted in name
            for doc in docs
        }
        if not documents:
            return []
        filters["document"] = sorted(d for d in documents if not document or d == document)
    if not text.strip():
        return []
    search_mode: SearchMode = mode  # type: ignore[assignment]
    named, rest = trial_names(kb).documents_named_in(text)
    if named and filters:
        named = named & set(
            [filters["document"]] if isinstance(filters["document"], str) else filters["document"]
        )
    if named and rest:
        # Within the documents about the trial its name no longer tells passages apart; kept in the
        # query it would favour the titles and references that repeat it over the sentence that answers.
        text = rest
    # A caller that already knows the names in the query (question answering) gives BM25's text itself:
    # the lexicon's mention patterns cost a cold process more than half a second to compile.
    expanded = keyword_text if keyword_text is not None else keyword_query(text)
    if named and not filters:
        focused = index.search(text, k, search_mode, {"document": sorted(named)}, keyword_query=expanded)
        if len(focused) < k:
            seen = {hit.id for hit in focused}
            rest_hits = index.search(text, k, search_mode, keyword_query=expanded)
            focused += [hit for hit in rest_hits if hit.id not in seen][: k - len(focused)]
        return focused
    return index.search(text, k, search_mode, filters or None, keyword_query=expanded)
