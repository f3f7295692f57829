"""Deep-dive providers behind one interface: Claude through the Anthropic SDK (the default when a key is
configured) and the local llama.cpp model (offline, the embedded default).

Both answer in the same schema. Claude reads the whole call at once, the prefix (instructions and
rubric) in its prompt cache, and writes the whole review as structured output.

The local model is a 1.5B model on a CPU: asked for the whole review in one go it wrote a long
summary and marked every step missed (hvac-02). So it is asked small, closed questions instead, each
under a grammar: the transcript is evaluated once with the prefix (its KV state kept), then for every
rubric step "which of the rep's utterances shows it, or none", for every customer-side moment type
"which customer utterance is one, or none", a score, and a sentence of reasoning. It cites by
choosing an utterance id from the call, so its citations' times, speaker and quote are those of the
utterance it chose (the verifier still checks the speaker's side and confidence). A call too long
for its context is reviewed in consecutive parts and the parts' answers merged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cloud_sync.contract import TokenUsage, WireUtterance
from cloud_sync.deepdive.prompt import MOMENTS, conversation
from models.errors import ModelError
from rubric_cache.schema import RubricContent


class DeepDiveError(ModelError):
    """The model gave no usable review (unreachable, refused, malformed)."""

    def __init__(self, reason: str, fix: str, transient: bool = False) -> None:
        super().__init__(reason, fix)
        self.transient = transient


@dataclass(frozen=True)
class DeepDiveRequest:
    prefix: str
    """Instructions, rubric and moment types: the same for every call against this rubric."""
    lines: Sequence[str]
    """The transcript, one line per utterance (``prompt.transcript_lines``)."""
    schema: dict[str, Any]
    """The answer's JSON schema (``prompt.answer_schema``)."""
    rubric: RubricContent
    utterances: Sequence[WireUtterance]
    """The utterances the lines show, in order (what citations may name)."""


@dataclass(frozen=True)
class ProviderAnswer:
    data: dict[str, Any]
    model: str
    usage: TokenUsage
    parts: int = 1
    """How many pieces the transcript was reviewed in."""


class DeepDiveProvider(Protocol):
    name: Literal["claude", "local"]

    def answer(self, request: DeepDiveRequest) -> ProviderAnswer: ...


class ClaudeDeepDive:
    name: Literal["claude", "local"] = "claude"

    def __init__(self, client: Any) -> None:
        """``client``: a ``models.claude.ClaudeClient``."""
        self._client = client

    def answer(self, request: DeepDiveRequest) -> ProviderAnswer:
        from models.claude import ClaudeError

        try:
            a = self._client.structured(request.prefix, conversation(request.lines), request.schema)
        except ClaudeError as exc:
            raise DeepDiveError(exc.reason, exc.fix, exc.transient) from exc
        usage = TokenUsage(input_tokens=a.input_tokens, cache_write_tokens=a.cache_write_tokens,
                           cache_read_tokens=a.cache_read_tokens, output_tokens=a.output_tokens)  # fmt: skip
        return ProviderAnswer(a.data, a.model, usage)


@dataclass(frozen=True)
class LocalDeepDiveSettings:
    reasoning_tokens: int = 40
    """Longest sentence of reasoning (a step's, a point's)."""
    summary_tokens: int = 90
    answer_room: int = 400
    """Context kept free after the transcript for one question and its answer."""
    chat_open: str = "<|im_start|>system\n"
    chat_user: str = "<|im_end|>\n<|im_start|>user\n"
    chat_assistant: str = "<|im_end|>\n<|im_start|>assistant\n"
    """The model's chat format (ChatML, as Qwen2.5 was tuned on)."""
    point_kinds: dict[str, str] = field(
        default_factory=lambda: {
            "price_objection_unaddressed": "miss",
            "question_unanswered": "miss",
            "decision_maker_objection": "moment",
            "competitor_mentioned": "moment",
            "buying_signal": "moment",
        }
    )
    """The customer-side moments it looks for, and the kind of coaching point each makes."""
    step_threshold: float = 0.22
    """A step counts as covered when a rep utterance's embedding is at least this similar (cosine) to
    the step's description and examples. The LLM could not decide it: asked "which utterance shows it,
    or none" it almost never chose none, and its probability of "yes" to "did the rep do it?" was the
    same whether the labels said covered or skipped (0.34-0.61 on three dev calls). Set on the dev split
    by ``scripts/calibrate_postcall.py``: 0.22 agrees with 0.897 of the labels, which is no better than
    calling every step covered (0.897): the local review cannot tell a skipped step."""
    moment_threshold: float = 0.55
    """The same for a customer utterance and a customer-side moment's definition. On the dev split no
    threshold beat reporting no moment at all (0.55 against 0.542 agreement), so it is set high: only an
    utterance very like a moment's definition becomes a point."""
    min_citable_words: int = 4
    """Shorter utterances ("Mm-hm.", "Okay.") are not offered as evidence: on its own a backchannel shows
    nothing, and the small model picked them when it found nothing better."""


class LocalDeepDive:
    name: Literal["claude", "local"] = "local"

    def __init__(
        self,
        llm: Any,
        choice_grammar: Callable[[list[str]], str],
        embedder: Any,
        settings: LocalDeepDiveSettings | None = None,
    ) -> None:
        """``llm``: a ``models.llm.LocalLlm``; ``choice_grammar``: labels → GBNF admitting one of them
        (``models.llm.choice_grammar``); ``embedder``: sentence embeddings (``embed(texts)``, unit rows),
        which find the evidence."""
        self._llm = llm
        self._choice = choice_grammar
        self._embedder = embedder
        self.settings = settings or LocalDeepDiveSettings()
        self._usage = TokenUsage()

    def answer(self, request: DeepDiveRequest) -> ProviderAnswer:
        self._usage = TokenUsage()
        parts = self._parts(request)
        answers = [self._review_part(request, part, n, len(parts)) for n, part in enumerate(parts, start=1)]
        model = getattr(self._llm, "model_path", None)
        return ProviderAnswer(merge_answers(answers), getattr(model, "name", "local"), self._usage, len(parts))

    def _parts(self, request: DeepDiveRequest) -> list[list[int]]:
        """Consecutive runs of line indices, each fitting the context beside the prefix and a question."""
        room = self._llm.settings.n_ctx - len(self._llm.tokenize(request.prefix)) - self.settings.answer_room - 64
        if room < 200:
            raise DeepDiveError(
                f"the prefix leaves no room for the transcript in n_ctx={self._llm.settings.n_ctx}",
                "give the local model a larger context (LlmSettings.n_ctx)",
            )
        parts: list[list[int]] = [[]]
        used = 0
        for n, line in enumerate(request.lines):
            cost = len(self._llm.tokenize(line + "\n"))
            if parts[-1] and used + cost > room:
                parts.append([])
                used = 0
            parts[-1].append(n)
            used += cost
        return parts

    def evidence(self, request: DeepDiveRequest, part: list[int] | None = None) -> dict[str, tuple[float, str | None]]:
        """For every rubric step the rep utterance most like it, and for every customer-side moment the
        customer utterance most like it, with the cosine similarity: (similarity, utterance id or None).
        What ``scripts/calibrate_postcall.py`` sets the thresholds from."""
        said = [request.utterances[i] for i in (part if part is not None else range(len(request.utterances)))]
        citable = [u for u in said if len(u.text.split()) >= self.settings.min_citable_words]
        found: dict[str, tuple[float, str | None]] = {}
        for side, queries in (
            ("rep", {st.id: step_text(st) for st in request.rubric.steps}),
            ("customer", {m: f"{m.replace('_', ' ')}: {MOMENTS[m]}" for m in self.settings.point_kinds}),
        ):
            pool = [u for u in citable if (u.role == "rep") == (side == "rep") and u.role != "unknown"]
            if not pool:
                found |= {key: (0.0, None) for key in queries}
                continue
            sims = self._embedder.embed(list(queries.values())) @ self._embedder.embed([u.text for u in pool]).T
            for row, key in enumerate(queries):
                best = int(sims[row].argmax())
                found[key] = (float(sims[row, best]), pool[best].id)
        return found

    def _prime(self, request: DeepDiveRequest, part: list[int], n: int, of: int) -> None:
        s = self.settings
        lines = [request.lines[i] for i in part]
        self._llm.prime(f"{s.chat_open}{request.prefix}{s.chat_user}{conversation(lines, (n, of) if of > 1 else None)}")

    def _review_part(self, request: DeepDiveRequest, part: list[int], n: int, of: int) -> dict[str, Any]:
        s = self.settings
        said = [request.utterances[i] for i in part]
        self._prime(request, part, n, of)
        citable = [u for u in said if len(u.text.split()) >= s.min_citable_words]
        rep_ids = [u.id for u in citable if u.role == "rep"]
        by_id = {u.id: u for u in said}
        evidence = self.evidence(request, part)
        steps = {}
        for step in request.rubric.steps:
            similarity, chosen = evidence[step.id]
            if chosen is None or similarity < s.step_threshold:
                steps[step.id] = {"covered": False, "score": 0, "reasoning": "Not found in the call.", "citations": []}
                continue
            u = by_id[chosen]
            score = self._pick(
                f'In {u.id} the rep said: "{u.text}". How well does it do step {step.id}, from 1 (weak) to 3 (strong)?',
                ["1", "2", "3"],
            )
            steps[step.id] = {
                "covered": True,
                "score": int(score or 1),
                "reasoning": self._sentence(
                    f'In {u.id} the rep said: "{u.text}". In one sentence, using only these words, how does it show '
                    f"step {step.id} ({step.name})?"
                ),
                "citations": [_citation(u)],
            }
        points = []
        for moment, kind in s.point_kinds.items():
            similarity, chosen = evidence[moment]
            if chosen is None or similarity < s.moment_threshold:
                continue
            u = by_id[chosen]
            text = self._sentence(
                f'In {u.id} the customer said: "{u.text}". In one sentence, what should the rep take from it?'
            )
            points.append({"kind": kind, "text": text, "moment_type": moment, "citations": [_citation(u)]})
        best = self._pick("Which one of the rep's utterances is the best thing the rep did here? Answer with its id.",
                          rep_ids)  # fmt: skip
        if best is not None:
            u = by_id[best]
            text = self._sentence(f'In {u.id} the rep said: "{u.text}". In one sentence, why is this good selling?')
            points.append({"kind": "strength", "text": text, "moment_type": "none", "citations": [_citation(u)]})
        summary = self._sentence(
            "Using only what the transcript says, summarise the call in two sentences: what the customer needed "
            "and how the visit ended.",
            self.settings.summary_tokens,
        )
        return {"summary": summary, "steps": steps, "points": points, "candidates": []}

    def _pick(self, question: str, options: list[str]) -> str | None:
        """One of ``options`` or None ("none"), under a grammar."""
        labels = [*options, "none"]
        done = self._ask(question, self._choice(labels), 8)
        answer = done.strip()
        return answer if answer in options else None

    def _sentence(self, question: str, max_tokens: int | None = None) -> str:
        text = self._ask(question, SENTENCES, max_tokens or self.settings.reasoning_tokens).strip()
        cut = max(text.rfind(". "), text.rfind(".\n"))
        return text if text.endswith(".") or cut < 0 else text[: cut + 1]

    def _ask(self, question: str, grammar: str | None, max_tokens: int) -> str:
        s = self.settings
        done = self._llm.complete(f"\n\n{question}{s.chat_assistant}", grammar=grammar, max_tokens=max_tokens)
        self._usage = TokenUsage(
            input_tokens=self._usage.input_tokens + done.prompt_tokens - done.reused_tokens,
            cache_read_tokens=self._usage.cache_read_tokens + done.reused_tokens,
            output_tokens=self._usage.output_tokens + done.completion_tokens,
        )
        return str(done.text)


def step_text(step: Any) -> str:
    """What a rubric step looks like when done, for comparing with what the rep said."""
    return " ".join([f"{step.name}: {step.description}", *step.examples])


SENTENCES = 'root ::= [A-Z] [^{}\\n"]*'
"""Plain prose: the instructions ask the reviewer for JSON, and unconstrained it began its sentences with "{"."""


def _citation(u: WireUtterance) -> dict[str, Any]:
    """A citation of the whole utterance (its first 25 words): the local model cites by choosing an id."""
    words = u.text.split()
    quote = " ".join(words[:25]) + (" ..." if len(words) > 25 else "")
    return {"utterance_id": u.id, "start_ts": u.start_ts, "end_ts": u.end_ts, "speaker_id": u.speaker_id,
            "quote": quote}  # fmt: skip


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


def timed(provider: DeepDiveProvider, request: DeepDiveRequest) -> tuple[ProviderAnswer, float]:
    started = time.perf_counter()
    answer = provider.answer(request)
    return answer, time.perf_counter() - started
