"""Passage vectors in a Milvus collection (Milvus Lite file or Milvus server), through `pymilvus`.

`MilvusPassageVectors` implements `search.vector_index.PassageVectors`. The URI is what
``pymilvus.MilvusClient`` takes: a local path ending in ``.db`` is Milvus Lite, ``http://host:19530`` a
server. One row per passage, keyed by passage id (so an upsert replaces and a retried batch doubles
nothing), with its document id, the content hash it was written for, and the vector. The collection
records, as a property, the content hash of the last complete save: it is blanked before the first change
of an update and set again when the index is saved, so a collection changed by an update that never
finished is stale, never used.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from search.errors import StaleIndex
from search.vector_index import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_NEIGHBOURS, VectorStoreUnavailable

CONTENT_HASH_PROPERTY = "trialkb.content_hash"
ID_LENGTH = 512
DOCUMENT_LENGTH = 1024
HASH_LENGTH = 128
# Rows per upsert, ids per delete or get, ids per filter expression: a request stays well under the
# gRPC message limit (1,000 384-d vectors as JSON floats are a few MB).
BATCH = 1_000
KIND = "milvus"
INSTALL_HINT = "pip install pymilvus==3.0.2 milvus-lite==3.2.2"
T = TypeVar("T")


def _message(error: BaseException) -> str:
    """pymilvus errors print as ``<MilvusException: (code=2, message=...)>``: keep the message."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(text).split())


def _client_class() -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as error:
        raise VectorStoreUnavailable(f"a vector database needs pymilvus: {INSTALL_HINT}") from error
    # pymilvus logs every failed call, with a traceback, to its own stderr handlers (pymilvus/settings.py);
    # each failure reaches the caller as an exception here and is said there, in one line.
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return MilvusClient


def _check_uri(uri: str) -> str:
    """The URI as pymilvus takes it; a Milvus Lite file's directory is created, like a KB home."""
    if uri.endswith(".db") and "://" not in uri:
        try:
            import milvus_lite  # noqa: F401
        except ImportError as error:
            raise VectorStoreUnavailable(
                f"{uri} is a Milvus Lite file, which needs milvus-lite: {INSTALL_HINT}"
            ) from error
        path = Path(uri).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VectorStoreUnavailable(f"cannot create {path.parent} for {uri}: {error.strerror}") from None
        # Milvus Lite logs a failed start (another process holding the file) with a traceback on stderr;
        # the error reaches the caller as an exception anyway, said in one line.
        logging.getLogger("milvus_lite").addHandler(logging.NullHandler())
        logging.getLogger("milvus_lite").propagate = False
        return str(path.resolve())
    if not uri.startswith(("http://", "https://", "tcp://", "unix:")):
        raise VectorStoreUnavailable(
            f"bad vector database URI {uri!r}: give a Milvus Lite file ending in .db or a server URL "
            "such as http://localhost:19530"
        )
    return uri


class MilvusPassageVectors:
    """Passage vectors in the Milvus collection ``collection`` at ``uri`` (HNSW, inner product)."""

    kind = KIND

    def __init__(
        self,
        uri: str,
        collection: str,
        dimension: int,
        *,
        token: str = "",
        ef_search: int = HNSW_EF_SEARCH,
        content_hash: str = "",
        timeout: float = 30.0,
    ) -> None:
        """``content_hash`` is written with every row (which content it was embedded for)."""
        self.uri = uri
        self.collection = collection
        self.dimension = dimension
        self.ef_search = ef_search
        self.content_hash = content_hash
        self.timeout = timeout
        self._marked_dirty = False
        client_class = _client_class()
        address = _check_uri(uri)
        self._client: Any = self._call(lambda: client_class(uri=address, token=token, timeout=timeout))
        self._ensure_collection()

    def _call(self, action: Callable[[], T]) -> T:
        """Run one client call; any failure becomes one `VectorStoreUnavailable` naming the URI."""
        try:
            return action()
        except (VectorStoreUnavailable, StaleIndex):
            raise
        except Exception as error:  # noqa: BLE001 - pymilvus raises MilvusException, grpc and OS errors
            raise VectorStoreUnavailable(f"vector database {self.uri}: {_message(error)}") from None

    # -- the collection -------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        if self._call(lambda: self._client.has_collection(self.collection)):
            fields = self._call(lambda: self._client.describe_collection(self.collection))["fields"]
            vector = next((f for f in fields if f["name"] == "vector"), None)
            if vector is not None and int(vector.get("params", {}).get("dim", 0)) == self.dimension:
                # A collection is searchable once loaded (a server releases it on restart, Lite on close).
                self._call(lambda: self._client.load_collection(self.collection))
                return
            # Another dimension (another model): nothing in it can be used.
            self._call(lambda: self._client.drop_collection(self.collection))
        self._create()

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH)
        schema.add_field("document", DataType.VARCHAR, max_length=DOCUMENT_LENGTH)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=HASH_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        index_params = MilvusClient.prepare_index_params()
        # The same graph parameters as the FAISS HNSW index, so the two are compared like for like.
        index_params.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type="IP",
            params={"M": HNSW_NEIGHBOURS, "efConstruction": HNSW_EF_CONSTRUCTION},
        )
        self._call(
            lambda: self._client.create_collection(
                self.collection,
                schema=schema,
                index_params=index_params,
                properties={CONTENT_HASH_PROPERTY: ""},
            )
        )

    def stored_content_hash(self) -> str:
        """The content hash of the last complete save ("" while an update is under way or never saved)."""
        description = self._call(lambda: self._client.describe_collection(self.collection))
        return str((description.get("properties") or {}).get(CONTENT_HASH_PROPERTY, ""))

    def _set_content_hash(self, value: str) -> None:
        self._call(
            lambda: self._client.alter_collection_properties(
                self.collection, properties={CONTENT_HASH_PROPERTY: value}
            )
        )

    def _before_change(self) -> None:
        if not self._marked_dirty:
            self._set_content_hash("")
            self._marked_dirty = True

    def close(self) -> None:
        """Release the connection (and a Milvus Lite file's lock, held by this process while open)."""
        self._call(self._client.close)
        if self.uri.endswith(".db") and "://" not in self.uri:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(Path(self.uri).expanduser().resolve()))

    # -- PassageVectors -------------------------------------------------------------------------

    def __len__(self) -> int:
        rows = self._call(lambda: self._client.query(self.collection, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"]) if rows else 0

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, documents: Sequence[str]) -> None:
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1) if len(ids) else vectors
        if len(ids) != len(matrix) or len(ids) != len(documents):
            raise ValueError(f"{len(ids)} ids, {len(matrix)} vectors, {len(documents)} documents")
        if not len(ids):
            return
        if matrix.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {matrix.shape[1]}")
        self._before_change()
        for start in range(0, len(ids), BATCH):
            rows = [
                {
                    "id": ids[row],
                    "document": documents[row],
                    "content_hash": self.content_hash,
                    "vector": matrix[row].tolist(),
                }
                for row in range(start, min(start + BATCH, len(ids)))
            ]
            self._call(functools.partial(self._client.upsert, self.collection, rows))

    def delete(self, ids: Collection[str]) -> None:
        doomed = list(ids)
        if not doomed:
            return
        self._before_change()
        for start in range(0, len(doomed), BATCH):
            batch = doomed[start : start + BATCH]
            self._call(functools.partial(self._client.delete, self.collection, ids=batch))

    def clear(self) -> None:
        self._call(lambda: self._client.drop_collection(self.collection))
        self._create()
        self._marked_dirty = True  # created with an empty content hash

    def fetch(self, ids: Sequence[str]) -> np.ndarray:
        found: dict[str, list[float]] = {}
        for start in range(0, len(ids), BATCH):
            batch = list(ids[start : start + BATCH])
            rows = self._call(
                functools.partial(self._client.get, self.collection, ids=batch, output_fields=["vector"])
            )
            found.update({str(row["id"]): row["vector"] for row in rows})
        missing = [i for i in ids if i not in found]
        if missing:
            raise StaleIndex(f"the vector database {self.uri} lacks passage {missing[0]}: rebuild the index")
        return np.asarray([found[i] for i in ids], dtype=np.float32).reshape(len(ids), self.dimension)

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        queries = np.asarray(query_vectors, dtype=np.float32).reshape(-1, self.dimension)
        if k <= 0 or not len(queries):
            return [[] for _ in queries]
        parameters = {"metric_type": "IP", "params": {"ef": max(self.ef_search, k)}}
        if allowed is None:
            return self._search(queries, k, "", parameters)
        # A filter is an expression of ids; a long list is searched in slices and the best kept.
        merged: list[list[tuple[str, float]]] = [[] for _ in queries]
        ids = list(allowed)
        for start in range(0, len(ids), BATCH):
            expression = f"id in {json.dumps(ids[start : start + BATCH])}"
            for row, hits in enumerate(self._search(queries, k, expression, parameters)):
                merged[row] = sorted(merged[row] + hits, key=lambda hit: -hit[1])[:k]
        return merged

    def _search(
        self, queries: np.ndarray, k: int, expression: str, parameters: dict[str, Any]
    ) -> list[list[tuple[str, float]]]:
        results = self._call(
            lambda: self._client.search(
                self.collection,
                data=queries.tolist(),
                limit=k,
                filter=expression,
                output_fields=["id"],
                search_params=parameters,
            )
        )
        return [[(str(hit["id"]), float(hit["distance"])) for hit in hits] for hits in results]

    def similarities(self, query_vector: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros(0, dtype=np.float32)
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        return self.fetch(ids) @ query

    def persist(self, directory: Path, content_hash: str) -> None:
        self._call(lambda: self._client.flush(self.collection))
        self._set_content_hash(content_hash)
        self._marked_dirty = False

    def verify(self, content_hash: str, count: int) -> None:
        stored = self.stored_content_hash()
        if stored != content_hash:
            state = f"content {stored[:16]}" if stored else "an unfinished update"
            raise StaleIndex(
                f"the vector collection {self.collection} at {self.uri} holds {state}, "
                f"not {content_hash[:16]}: rebuild the index"
            )
        held = len(self)
        if held != count:
            raise StaleIndex(
                f"the vector collection {self.collection} at {self.uri} holds {held} vectors, "
                f"the index {count}: rebuild it"
            )
