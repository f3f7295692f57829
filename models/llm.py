"""The local LLM (llama.cpp): grammar-constrained completions over a reusable cached prefix.

The live coach asks the same few-shot question many times with a different final utterance. The
prefix (instructions + examples) is evaluated once and its KV state saved; each call restores it
and evaluates only the new tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models._lazy import loading, require
from models.errors import ModelRuntimeError

STATES_KEPT = 3


@dataclass(frozen=True)
class LlmSettings:
    n_ctx: int = 4096
    """Context window in tokens."""
    n_threads: int = 1
    """CPU threads generating tokens; the edge keeps one core for audio."""
    n_threads_batch: int | None = None
    """CPU threads reading a prompt (None: ``n_threads``)."""
    n_batch: int = 256
    """Tokens evaluated per batch while reading a prompt."""
    seed: int = 7
    temperature: float = 0.0
    """0 = greedy: the coach wants the same answer for the same input."""
    state_cache_dir: Path | None = None
    """Where primed prefix states are kept between runs (a 500-token prefix takes ~25 s to evaluate on one
    core; loading the model and its saved state took 2.6 s here). None: always evaluate."""


@dataclass(frozen=True)
class LlmCompletion:
    text: str
    prompt_tokens: int
    reused_tokens: int
    """Prompt tokens served from the cached prefix instead of being evaluated."""
    completion_tokens: int
    seconds: float


@dataclass(frozen=True)
class LlmChoice:
    """The model's next-token probabilities over a closed set of answers (renormalised over the set)."""

    probabilities: dict[str, float]
    prompt_tokens: int
    reused_tokens: int
    seconds: float

    @property
    def best(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)


def choice_grammar(labels: list[str]) -> str:
    """GBNF that admits exactly one of ``labels``."""
    if not labels:
        raise ValueError("choice_grammar needs at least one label")
    return "root ::= " + " | ".join(json.dumps(label) for label in labels)


def json_grammar(schema: dict[str, Any]) -> str:
    """GBNF admitting exactly the JSON documents ``schema`` describes (llama.cpp's own converter)."""
    converter = require("llama_cpp", "llm").llama_grammar
    return str(converter.json_schema_to_gbnf(json.dumps(schema)))


class LocalLlm:
    """One llama.cpp model; calls are serialised (one context, one KV cache)."""

    def __init__(self, model_path: Path, settings: LlmSettings | None = None) -> None:
        self.settings = settings or LlmSettings()
        self.model_path = Path(model_path)
        llama_cpp = require("llama_cpp", "llm")
        s = self.settings
        with loading(self.model_path):  # llama-cpp-python raises ValueError for a GGUF it cannot read
            self._llm: Any = llama_cpp.Llama(
                model_path=str(model_path), n_ctx=s.n_ctx, n_threads=s.n_threads,
                n_threads_batch=s.n_threads_batch or s.n_threads, n_batch=s.n_batch, seed=s.seed, verbose=False,
            )  # fmt: skip
        self._lock = threading.Lock()
        self._prefix_tokens: list[int] = []
        self._prefix_state: Any = None

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        return list(self._llm.tokenize(text.encode(), add_bos=add_bos, special=True))

    def prime(self, prefix: str) -> int:
        """Evaluate and keep the KV state of ``prefix``; later calls start from it. Returns tokens."""
        with self._lock:
            tokens = self.tokenize(prefix, add_bos=True)
            if tokens == self._prefix_tokens and self._prefix_state is not None:
                return len(tokens)  # primed already: later calls restore its state when they need it
            self._llm.reset()
            cached = self._cached_state_path(tokens)
            state = _read_state(cached) if cached is not None else None
            if state is not None:
                self._llm.load_state(state)
            else:
                self._llm.eval(tokens)
                state = self._llm.save_state()
                if cached is not None:
                    _write_state(cached, state)
            self._prefix_tokens = tokens
            self._prefix_state = state
            return len(tokens)

    def forget(self) -> None:
        """Drop the evaluated tokens and the primed prefix: the next call evaluates its whole prompt (for
        measuring what the prefix cache saves)."""
        with self._lock:
            self._llm.reset()
            self._prefix_tokens, self._prefix_state = [], None

    def _cached_state_path(self, tokens: list[int]) -> Path | None:
        directory = self.settings.state_cache_dir
        if directory is None:
            return None
        # The state belongs to these exact weights, tokens and context size.
        stat = self.model_path.stat()
        key = json.dumps([self.model_path.name, stat.st_size, self.settings.n_ctx, tokens])
        return directory / f"prefix-{hashlib.sha256(key.encode()).hexdigest()[:24]}.state"

    def complete(self, suffix: str, grammar: str | None = None, max_tokens: int = 16) -> LlmCompletion:
        """Complete ``prefix + suffix`` (prefix from ``prime``, if any) under an optional GBNF grammar."""
        with self._lock:
            tokens = self._prompt_tokens(suffix, room=max_tokens)
            reused = self._restore_prefix(tokens)
            started = time.perf_counter()
            out = self._llm.create_completion(
                prompt=tokens, max_tokens=max_tokens, temperature=self.settings.temperature,
                grammar=_compiled_grammar(grammar) if grammar else None,
            )  # fmt: skip
            usage = out.get("usage", {})
            return LlmCompletion(
                text=out["choices"][0]["text"],
                prompt_tokens=len(tokens),
                reused_tokens=reused,
                completion_tokens=int(usage.get("completion_tokens", 0)),
                seconds=time.perf_counter() - started,
            )

    def choose(self, suffix: str, answers: list[str], separator: str = " ") -> LlmChoice:
        """Which of ``answers`` the model would write after ``prefix + suffix``, read from one forward pass.

        Each answer is identified by the first token of ``separator + answer`` (a space, as in
        "Label: none"; "" after a newline), so the answers must start with different tokens. Nothing is
        generated: a constrained completion of "decision_maker_objection" costs five more decoding steps after
        the prompt (~0.15 s each on one core), and the coach only needs to know which answer the model
        prefers and how strongly.
        """
        firsts = {answer: self.tokenize(f"{separator}{answer}")[0] for answer in answers}
        if len(set(firsts.values())) != len(answers):
            raise ValueError(f"answers must start with different tokens: {firsts}")
        with self._lock:
            tokens = self._prompt_tokens(suffix, room=0)
            reused = self._restore_prefix(tokens)
            started = time.perf_counter()
            # Evaluate what the cache does not hold; the last token's logits are then the next-token scores.
            self._llm.n_tokens = reused
            self._llm.eval(tokens[reused:])
            llama_cpp = require("llama_cpp", "llm")
            logits = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(self._llm.ctx, -1), shape=(self._llm.n_vocab(),)
            )
            picked = np.array([logits[t] for t in firsts.values()], dtype=np.float64)
            shares = np.exp(picked - picked.max())
            shares /= shares.sum()
            return LlmChoice(
                probabilities={a: round(float(p), 4) for a, p in zip(answers, shares, strict=True)},
                prompt_tokens=len(tokens),
                reused_tokens=reused,
                seconds=time.perf_counter() - started,
            )

    def _prompt_tokens(self, suffix: str, room: int) -> list[int]:
        """The primed prefix's tokens (or BOS) and ``suffix``'s, checked to leave ``room`` tokens in the context."""
        tokens = (self._prefix_tokens or self.tokenize("", add_bos=True)) + self.tokenize(suffix)
        if len(tokens) + room > self.settings.n_ctx:
            raise ModelRuntimeError(
                self.model_path.name, f"prompt of {len(tokens)} tokens does not fit n_ctx={self.settings.n_ctx}"
            )
        return tokens

    def _restore_prefix(self, tokens: list[int]) -> int:
        """How many prompt tokens llama.cpp will reuse, restoring the saved prefix state if needed."""
        # llama-cpp-python reuses the longest common prefix with what it evaluated last; after an
        # unrelated call that is shorter than our prefix, so load the saved state back.
        current = list(self._llm.eval_tokens)
        common = 0
        for a, b in zip(current, tokens[:-1], strict=False):
            if a != b:
                break
            common += 1
        if self._prefix_state is not None and common < len(self._prefix_tokens):
            self._llm.load_state(self._prefix_state)
            common = len(self._prefix_tokens)
        return common


def _read_state(path: Path) -> Any:
    """A saved state, or None when there is none or it cannot be read (then the prefix is evaluated again)."""
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # our own file, written by _write_state below
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        return None


def _write_state(path: Path, state: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        with partial.open("wb") as fh:
            pickle.dump(state, fh)
        partial.replace(path)  # whole or not at all
        # A state is ~170 MB for a 500-token prefix on Qwen2.5 1.5B; an edited prompt leaves the old one
        # unused, so only the newest few are kept.
        states = sorted(path.parent.glob("prefix-*.state"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in states[STATES_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written costs time on the next start, nothing else


@lru_cache(maxsize=32)
def _compiled_grammar(grammar: str) -> Any:
    # Parsing a GBNF grammar costs milliseconds; the coach uses the same few over and over.
    return require("llama_cpp", "llm").LlamaGrammar.from_string(grammar, verbose=False)
