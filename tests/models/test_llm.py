"""The local LLM adapter on real GGUF models: grammar-constrained output and prefix reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ModelCorruptError
from models.llm import LlmSettings, LocalLlm, choice_grammar
from models.loaders import load_llm
from models.registry import SMOLLM_GGUF, get_spec
from models.store import ModelStore

LABELS = ["price_objection", "decision_maker_objection", "competitor_mentioned", "none"]
FEW_SHOT = (
    "<|im_start|>system\nYou label one customer utterance from an in-home sales visit with exactly one "
    f"label from: {', '.join(LABELS)}.<|im_end|>\n"
    '<|im_start|>user\nUtterance: "Fifteen thousand? That\'s way over what we wanted to spend."<|im_end|>\n'
    "<|im_start|>assistant\nprice_objection<|im_end|>\n"
    '<|im_start|>user\nUtterance: "I\'d have to run this by my husband before we sign anything."<|im_end|>\n'
    "<|im_start|>assistant\ndecision_maker_objection<|im_end|>\n"
    '<|im_start|>user\nUtterance: "Sears quoted us a Carrier unit last week for less."<|im_end|>\n'
    "<|im_start|>assistant\ncompetitor_mentioned<|im_end|>\n"
    '<|im_start|>user\nUtterance: "The thermostat is in the hallway by the stairs."<|im_end|>\n'
    "<|im_start|>assistant\nnone<|im_end|>\n"
)


def ask(utterance: str) -> str:
    return f'<|im_start|>user\nUtterance: "{utterance}"<|im_end|>\n<|im_start|>assistant\n'


def test_grammar_admits_only_the_labels() -> None:
    assert choice_grammar(["a", "b c"]) == 'root ::= "a" | "b c"'
    with pytest.raises(ValueError):
        choice_grammar([])


def test_small_model_answers_inside_the_grammar(store: ModelStore) -> None:
    llm = load_llm(store, "smollm2-135m", LlmSettings(n_ctx=1024))
    llm.prime(FEW_SHOT)
    out = llm.complete(ask("Is the filter under the stairs?"), grammar=choice_grammar(LABELS), max_tokens=12)
    assert out.text in LABELS
    assert out.reused_tokens > 0
    llm.forget()  # the benchmark's "no cache" case: the whole prompt is evaluated again
    again = llm.complete(FEW_SHOT + ask("Is the filter under the stairs?"), grammar=choice_grammar(LABELS))
    assert again.reused_tokens == 0 and again.prompt_tokens == out.prompt_tokens


def test_choose_reads_the_odds_of_each_answer_from_one_forward_pass(store: ModelStore) -> None:
    llm = load_llm(store, "smollm2-135m", LlmSettings(n_ctx=1024))
    prefix_tokens = llm.prime(FEW_SHOT)
    first = llm.choose(ask("Is the filter under the stairs?"), LABELS, separator="")
    assert set(first.probabilities) == set(LABELS)
    assert sum(first.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    assert first.best in LABELS and first.reused_tokens >= prefix_tokens
    # Deterministic, and the same whether the prefix comes from the cache or is evaluated again.
    llm.forget()
    again = llm.choose(FEW_SHOT + ask("Is the filter under the stairs?"), LABELS, separator="")
    assert again.reused_tokens == 0
    assert again.probabilities == pytest.approx(first.probabilities, abs=0.02)
    with pytest.raises(ValueError, match="different tokens"):
        llm.choose(ask("Hi"), ["price_objection", "price_objection_unaddressed"], separator="")


@pytest.mark.slow
def test_qwen_classifies_with_a_reused_few_shot_prefix(store: ModelStore) -> None:
    llm = load_llm(store, "qwen2.5-1.5b", LlmSettings(n_ctx=1024, n_threads=2))
    prefix_tokens = llm.prime(FEW_SHOT)
    grammar = choice_grammar(LABELS)
    cases = {
        "Honestly that's a lot more than we were hoping to pay for a furnace.": "price_objection",
        "My wife handles the money, she'll need to see this first.": "decision_maker_objection",
        "Home Depot sent a guy out who said we could keep the old ductwork.": "competitor_mentioned",
    }
    answers, chosen = {}, {}
    for utterance, expected in cases.items():
        out = llm.complete(ask(utterance), grammar=grammar, max_tokens=12)
        # Only the new utterance is evaluated: the few-shot prefix comes from the saved KV state.
        assert out.reused_tokens >= prefix_tokens
        answers[utterance] = (out.text, expected)
        print(f"{out.text:26} {out.seconds:.2f}s  reused {out.reused_tokens}/{out.prompt_tokens}  {utterance}")
        chosen[utterance] = (llm.choose(ask(utterance), LABELS, separator="").best, expected)
    assert all(text in LABELS for text, _ in answers.values())
    assert sum(text == expected for text, expected in answers.values()) >= 2, answers
    assert sum(best == expected for best, expected in chosen.values()) >= 2, chosen


def test_a_damaged_gguf_is_a_typed_error_naming_the_file(store: ModelStore, tmp_path: Path) -> None:
    good = store.file(get_spec("smollm2-135m"), SMOLLM_GGUF)
    damaged = tmp_path / "smollm2-135m" / SMOLLM_GGUF
    damaged.parent.mkdir()
    damaged.write_bytes(b"GGUF" + b"\xff" * 4096 + good.read_bytes()[4100:200_000])
    with pytest.raises(ModelCorruptError) as err:
        LocalLlm(damaged)
    assert str(damaged) in str(err.value)
    assert err.value.fix == "ridealong models fetch smollm2-135m --force"
