"""Deep-dive providers behind one interface: Claude through the Anthropic SDK (the default when a key is
configured) and the local llama.cpp model (offline, the embedded default).

Both read the same prefix (instructions and rubric) and transcript and answer in the same schema.
Claude reads a whole call at once, the prefix in its prompt cache. The local model's context is
smaller: a long call is cut into parts that each fit beside the prefix and the answer, each part is
reviewed on its own (the prefix's KV state reused), and the parts' answers are merged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from cloud_sync.contract import TokenUsage
from cloud_sync.deepdive.prompt import conversation
from models.errors import ModelError


class DeepDiveError(ModelError):
    """The model gave no usable review (unreachable, refused, malformed)."""


@dataclass(frozen=True)
class ProviderAnswer:
    data: dict[str, Any]
    model: str
    usage: TokenUsage
    parts: int = 1
    """How many pieces the transcript was reviewed in."""


class DeepDiveProvider(Protocol):
    name: Literal["claude", "local"]

    def answer(self, prefix: str, lines: Sequence[str], schema: dict[str, Any]) -> ProviderAnswer: ...


class ClaudeDeepDive:
    name: Literal["claude", "local"] = "claude"

    def __init__(self, client: Any) -> None:
        """``client``: a ``models.claude.ClaudeClient``."""
        self._client = client

    def answer(self, prefix: str, lines: Sequence[str], schema: dict[str, Any]) -> ProviderAnswer:
        from models.claude import ClaudeError

        try:
            a = self._client.structured(prefix, conversation(lines), schema)
        except ClaudeError as exc:
            raise DeepDiveError(exc.reason, exc.fix) from exc
        usage = TokenUsage(input_tokens=a.input_tokens, cache_write_tokens=a.cache_write_tokens,
                           cache_read_tokens=a.cache_read_tokens, output_tokens=a.output_tokens)  # fmt: skip
        return ProviderAnswer(a.data, a.model, usage)


@dataclass(frozen=True)
class LocalDeepDiveSettings:
    max_answer_tokens: int = 2500
    """Room kept for the answer in the context; a longer one is cut off and refused."""
    chat_open: str = "<|im_start|>system\n"
    chat_user: str = "<|im_end|>\n<|im_start|>user\n"
    chat_assistant: str = "<|im_end|>\n<|im_start|>assistant\n"
    """The model's chat format (ChatML, as Qwen2.5 was tuned on)."""


class LocalDeepDive:
    name: Literal["claude", "local"] = "local"

    def __init__(
        self,
        llm: Any,
        grammar: Callable[[dict[str, Any]], str],
        settings: LocalDeepDiveSettings | None = None,
    ) -> None:
        """``llm``: a ``models.llm.LocalLlm`` (with a context large enough for the prefix, a part and the
        answer); ``grammar``: JSON schema → GBNF (``models.llm.json_grammar``)."""
        self._llm = llm
        self._grammar = grammar
        self.settings = settings or LocalDeepDiveSettings()

    def answer(self, prefix: str, lines: Sequence[str], schema: dict[str, Any]) -> ProviderAnswer:
        s = self.settings
        primed = self._llm.prime(f"{s.chat_open}{prefix}{s.chat_user}")
        parts = self._parts(lines, primed)
        grammar = self._grammar(schema)
        answers, usage = [], TokenUsage()
        for n, part in enumerate(parts, start=1):
            suffix = conversation(part, (n, len(parts)) if len(parts) > 1 else None) + s.chat_assistant
            done = self._llm.complete(suffix, grammar=grammar, max_tokens=s.max_answer_tokens)
            try:
                answers.append(json.loads(done.text))
            except json.JSONDecodeError as exc:
                raise DeepDiveError(
                    f"the local model's review of part {n} is not complete JSON ({done.completion_tokens} tokens)",
                    "raise LocalDeepDiveSettings.max_answer_tokens",
                ) from exc
            usage = TokenUsage(
                input_tokens=usage.input_tokens + done.prompt_tokens - done.reused_tokens,
                cache_read_tokens=usage.cache_read_tokens + done.reused_tokens,
                output_tokens=usage.output_tokens + done.completion_tokens,
            )
        model = getattr(self._llm, "model_path", None)
        return ProviderAnswer(merge_answers(answers), getattr(model, "name", "local"), usage, len(parts))

    def _parts(self, lines: Sequence[str], prefix_tokens: int) -> list[list[str]]:
        """Consecutive runs of lines, each fitting the context beside the prefix and the answer."""
        room = self._llm.settings.n_ctx - prefix_tokens - self.settings.max_answer_tokens - 64
        if room < 200:
            raise DeepDiveError(
                f"the prefix ({prefix_tokens} tokens) leaves no room for the transcript in n_ctx="
                f"{self._llm.settings.n_ctx}",
                "give the local model a larger context (LlmSettings.n_ctx)",
            )
        parts: list[list[str]] = [[]]
        used = 0
        for line in lines:
            cost = len(self._llm.tokenize(line + "\n"))
            if parts[-1] and used + cost > room:
                parts.append([])
                used = 0
            parts[-1].append(line)
            used += cost
        return parts


def merge_answers(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One answer from the reviews of a call's consecutive parts: a step counts as covered where any part
    saw it (the best-scored part's reasoning and citations), points and candidates are pooled (one per
    cited utterance), and the summaries are joined in call order."""
    if len(answers) == 1:
        return dict(answers[0])
    steps: dict[str, Any] = {}
    for a in answers:
        for step_id, step in a["steps"].items():
            best = steps.get(step_id)
            if best is None or (step["covered"], step["score"]) > (best["covered"], best["score"]):
                steps[step_id] = step
    points, seen = [], set()
    for a in answers:
        for p in a["points"]:
            key = tuple(c["utterance_id"] for c in p["citations"])
            if key not in seen:
                seen.add(key)
                points.append(p)
    candidates = [c for a in answers for c in a["candidates"]]
    summary = " ".join(a["summary"].strip() for a in answers if a["summary"].strip())
    return {"summary": summary, "steps": steps, "points": points, "candidates": candidates}


def timed(
    provider: DeepDiveProvider, prefix: str, lines: Sequence[str], schema: dict[str, Any]
) -> tuple[ProviderAnswer, float]:
    started = time.perf_counter()
    answer = provider.answer(prefix, lines, schema)
    return answer, time.perf_counter() - started
