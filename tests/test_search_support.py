"""Shared helpers for the search tests: the real model (loaded once per process) and a fake embedder.

Imported by the ``test_search_*`` modules; it holds no tests itself.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from search.embedder import (
    MODEL_NAME,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    export_onnx,
    onnx_export_problem,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@functools.cache
def sentence_transformer_embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2 through sentence-transformers, shared by every search test module."""
    return SentenceTransformerEmbedder()


_onnx_dir: list[Path] = []


def onnx_export_dir(config: pytest.Config | None = None) -> Path:
    """An ONNX export of the packaged model, made once per process.

    Kept in pytest's cache directory between runs when the cache plugin is on (the export takes 10 to
    60 s, most of it importing torch); otherwise in a temporary folder removed at exit.
    """
    if not _onnx_dir:
        cache = getattr(config, "cache", None) if config is not None else None
        if cache is not None:
            directory = Path(cache.mkdir("trialkb-search-onnx")) / "all-MiniLM-L6-v2"
            if onnx_export_problem(directory, full_check=True) is not None:
                export_onnx(directory)
        else:
            root = Path(tempfile.mkdtemp(prefix="trialkb-onnx-"))
            atexit.register(shutil.rmtree, root, True)
            directory = export_onnx(root / "onnx").directory
        _onnx_dir.append(directory)
    return _onnx_dir[0]


@functools.cache
def onnx_embedder() -> OnnxEmbedder:
    return OnnxEmbedder(onnx_export_dir())


class HashingEmbedder:
    """A fast deterministic stand-in for the model: hashed bag of words. Counts the texts it encodes."""

    def __init__(self, dimension: int = 384, name: str = MODEL_NAME) -> None:
        self._dimension = dimension
        self._name = name
        self.encoded: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.strip(".,;:?!()").encode(), digest_size=4).digest()
                matrix[row, int.from_bytes(digest, "little") % self._dimension] += 1.0
            matrix[row, 0] += 1e-3  # no all-zero rows
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
