"""LLM confirmation of semantic candidates: the local model labels the exchange, constrained to the taxonomy.

The prompt is a fixed few-shot prefix (the label definitions and hand-written examples, none from
the corpus) followed by the exchange. The prefix's KV state is computed once (``LocalLlm.prime``)
and every confirmation evaluates only the exchange's tokens. The answer is read from that one forward
pass (``LocalLlm.choose``): the model's odds of the asked-about label against "none", so it is always
one the gate can read, and it comes with how sure the model was.

``ConfirmationWorker`` runs the model on a worker thread of its own: the coach hands it candidates and
reads verdicts when they are ready, so the LLM never holds up transcription or the other detectors.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from edge.coach.gate import NONE, Verdict
from edge.coach.taxonomy import MomentType
from models.llm import LlmChoice

CONFIRMED_TYPES = (
    MomentType.PRICE_OBJECTION_UNADDRESSED,
    MomentType.QUESTION_UNANSWERED,
    MomentType.DECISION_MAKER_OBJECTION,
    MomentType.COMPETITOR_MENTIONED,
    MomentType.BUYING_SIGNAL,
)

_SHORT_DEFINITIONS = {
    MomentType.PRICE_OBJECTION_UNADDRESSED: "the customer objects to the price or cost, and the rep's replies neither "
    "acknowledge nor address the concern (they keep pitching or change the subject)",
    MomentType.QUESTION_UNANSWERED: "the customer asks the rep a direct question, and the rep's replies neither "
    "answer it nor promise to answer it",
    MomentType.DECISION_MAKER_OBJECTION: "the customer defers the decision to someone who is not there "
    "(a spouse at work, a landlord, a co-owner)",
    MomentType.COMPETITOR_MENTIONED: "the customer brings up another company's quote, offer or visit",
    MomentType.BUYING_SIGNAL: "the customer signals they are ready to buy (asks how soon you can start, "
    "how to get on the schedule, where to sign)",
}

# Hand-written exchanges: what each label looks like, and the near misses that must get "none".
_FEW_SHOT: tuple[tuple[str, str], ...] = (
    (
        'Customer: "Nine thousand? Wow, that is way more than we were planning on."\n'
        'Rep: "And the unit comes in three colors, so it will match the siding."\n',
        "price_objection_unaddressed",
    ),
    (
        'Customer: "Nine thousand? Wow, that is way more than we were planning on."\n'
        'Rep: "I hear you, it is a big number. Let me show you what it is per month."\n',
        NONE,
    ),
    ('Customer: "So what does a job like this usually cost?"\nRep: "Usually between eight and twelve."\n', NONE),
    (
        'Customer: "Do you also service water heaters?"\n'
        'Rep: "Let me grab a measurement of this window first. How old is the carpet?"\n',
        "question_unanswered",
    ),
    (
        'Customer: "Do you also service water heaters?"\nRep: "We do, and we can look at yours while we are here."\n',
        NONE,
    ),
    ('Customer: "I would have to talk to my husband first, he is at work until seven."\n', "decision_maker_objection"),
    ('Customer: "My husband thinks the roof has a few years left."\n', NONE),
    ('Customer: "Another outfit came by on Monday and quoted us about two thousand less."\n', "competitor_mentioned"),
    ('Customer: "Somebody fixed the furnace for us a few years back."\n', NONE),
    ('Customer: "Alright, if we go with the premium one, how soon can your crew get here?"\n', "buying_signal"),
    ('Customer: "How long do these panels usually last?"\n', NONE),
)


def prompt_prefix() -> str:
    labels = "\n".join(f"- {t.value}: {_SHORT_DEFINITIONS[t]}" for t in CONFIRMED_TYPES)
    shots = "\n".join(f"Exchange:\n{text}Label: {label}\n" for text, label in _FEW_SHOT)
    return (
        "<|im_start|>system\nYou label moments in in-home sales visits for a sales coach.<|im_end|>\n"
        "<|im_start|>user\n"
        f"Labels:\n{labels}\n- {NONE}: none of these\n\nExamples:\n{shots}\nLabel the next exchange.\n"
    )


def prompt_suffix(exchange: str) -> str:
    # No space after "Label:": in the examples the space belongs to the label's first token (" none").
    return f"Exchange:\n{exchange}<|im_end|>\n<|im_start|>assistant\nLabel:"


class Llm(Protocol):
    def prime(self, prefix: str) -> int: ...
    def choose(self, suffix: str, answers: list[str]) -> LlmChoice: ...


class LlmConfirmer:
    """Labels one exchange at a time (blocking)."""

    def __init__(self, llm: Llm) -> None:
        self._llm = llm
        self.prefix_tokens = llm.prime(prompt_prefix())

    def label(self, candidate_type: MomentType, exchange: str) -> Verdict:
        # Only the asked-about type or none: the model cannot wander to a label the detector did not propose.
        out = self._llm.choose(prompt_suffix(exchange), [candidate_type.value, NONE])
        return Verdict(out.best, out.seconds, out.probabilities[candidate_type.value])


class ConfirmationWorker:
    """The confirmer on a thread of its own: ``submit`` returns at once, the verdict (or the error, which
    the coach counts as no verdict) arrives in the future."""

    def __init__(self, confirmer: LlmConfirmer) -> None:
        self._confirmer = confirmer
        # One worker: one llama.cpp context, confirmations in the order asked.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="coach-llm")

    def submit(self, candidate_type: MomentType, exchange: str) -> Future[Verdict]:
        return self._pool.submit(self._confirmer.label, candidate_type, exchange)

    def close(self, timeout_s: float = 10.0) -> None:
        # The call is over: what has not started is dropped, and the one running is not waited for.
        self._pool.shutdown(wait=False, cancel_futures=True)


class InlineConfirmations:
    """The confirmer run at once on the caller's thread (offline replay: deterministic, no timing)."""

    def __init__(self, confirmer: LlmConfirmer) -> None:
        self._confirmer = confirmer

    def submit(self, candidate_type: MomentType, exchange: str) -> Future[Verdict]:
        future: Future[Verdict] = Future()
        try:
            future.set_result(self._confirmer.label(candidate_type, exchange))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        pass
