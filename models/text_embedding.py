"""Sentence embeddings (all-MiniLM-L6-v2, int8 ONNX) with onnxruntime + tokenizers, no torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models._lazy import onnx_session, require


@dataclass(frozen=True)
class TextEmbeddingSettings:
    max_tokens: int = 128
    """Longer inputs are truncated; utterances are short."""
    num_threads: int = 1


class TextEmbedder:
    def __init__(self, model_path: Path, tokenizer_path: Path, settings: TextEmbeddingSettings | None = None) -> None:
        self.settings = settings or TextEmbeddingSettings()
        tokenizers = require("tokenizers", "speech")
        self._session: Any = onnx_session(model_path, self.settings.num_threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._tokenizer: Any = tokenizers.Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=self.settings.max_tokens)
        self._tokenizer.enable_padding()

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text (mean pooling over real tokens)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._input_names})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
