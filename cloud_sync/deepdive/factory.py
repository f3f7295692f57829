"""Which deep-dive provider a server uses: Claude when an Anthropic key is configured, else the local
llama.cpp model (offline). Models load when the first deep dive runs, not at server start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cloud_sync.deepdive.providers import ClaudeDeepDive, LocalDeepDive
from cloud_sync.deepdive.review import DeepDive


@dataclass(frozen=True)
class DeepDiveModelSettings:
    local_model: str = "qwen2.5-1.5b"
    """The registry's local LLM (``ridealong models fetch`` provisions it)."""
    local_context_tokens: int = 8192
    """Room for the prefix, a part of the transcript and one question; longer calls go in parts."""
    local_threads: int = max(1, os.cpu_count() or 1)
    """The cloud has no audio to protect: every core reads the transcript."""


def make_deep_dive(settings: DeepDiveModelSettings | None = None, embedder: Any = None) -> DeepDive:
    """``embedder``: the server's text embedder, shared (None: load one)."""
    from models.claude import ClaudeClient, claude_configured

    s = settings or DeepDiveModelSettings()
    if claude_configured():
        return DeepDive(ClaudeDeepDive(ClaudeClient()))
    from models.llm import LlmSettings, choice_grammar
    from models.loaders import load_llm, load_text_embedder
    from models.store import ModelStore

    store = ModelStore()
    llm = load_llm(store, s.local_model, LlmSettings(n_ctx=s.local_context_tokens, n_threads=s.local_threads))
    return DeepDive(LocalDeepDive(llm, choice_grammar, embedder or load_text_embedder(store)))
