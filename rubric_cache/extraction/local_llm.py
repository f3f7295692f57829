"""Extraction with the local LLM (no API key, no network): the playbook as numbered passages, the
model's answer constrained by a JSON grammar to name steps and the passage each came from.

A 1.5B model cannot be trusted to copy a quote character for character, so it cites by number and
the quote is the passage's own text: every citation holds by construction. The playbook's noise
(front matter, tables of contents, embedded video, link lists) is left out, and passages are shown
shortened, so a long playbook fits the context; what did not fit is reported, not silently dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from rubric_cache.errors import ExtractionError
from rubric_cache.extraction.answer import INSTRUCTIONS
from rubric_cache.extraction.draft import Draft, build_draft
from rubric_cache.playbook import Passage, Playbook

_NOISE_HEADINGS = re.compile(r"^(on this page|video|videos?|resources|table of contents|contents|toc)$", re.I)
_NOISE_TEXT = re.compile(r"^(<|\{:|---|layout:|title:|description:|TOC$|\|)")
_LINK_ONLY = re.compile(r"^\[[^\]]*\]\([^)]*\)\s*$")
_NOT_A_STEP = re.compile(r"^(overview|introduction|summary|qualifying questions|questions|resources|notes?)$", re.I)
"""Section furniture a small model sometimes offers as a step (it cites the heading): dropped."""


class CompletionModel(Protocol):
    """What extraction needs of ``models.llm.LocalLlm``."""

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]: ...
    def complete(self, suffix: str, grammar: str | None = None, max_tokens: int = 16) -> Any: ...


@dataclass(frozen=True)
class LocalExtractionSettings:
    passage_words: int = 28
    """Each passage is shown to the model cut to this many words (its citation is the whole passage)."""
    prompt_tokens: int = 2700
    """Passages are added while the prompt stays under this; the rest of the context is the answer's."""
    answer_tokens: int = 1100
    max_steps: int = 10
    quote_chars: int = 300
    """A cited passage longer than this is quoted up to a word boundary before it."""


def answer_schema(passages: int, max_steps: int) -> dict[str, Any]:
    step = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 60},
            "description": {"type": "string", "maxLength": 240},
            "required": {"type": "boolean"},
            "before_price": {"type": "boolean"},
            "passage": {"type": "integer", "minimum": 1, "maximum": passages},
        },
        "required": ["name", "description", "required", "before_price", "passage"],
    }
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 80},
            "steps": {"type": "array", "items": step, "minItems": 1, "maxItems": max_steps},
        },
        "required": ["title", "steps"],
    }


def outline(playbook: Playbook) -> list[Passage]:
    """The passages worth showing: headings and the text under them, without the page furniture."""
    kept: list[Passage] = []
    skipping = False
    for p in playbook.passages():
        text = p.text.strip()
        if p.kind == "heading":
            skipping = bool(_NOISE_HEADINGS.match(text.strip("*_ ")))
        if skipping or not text or _NOISE_TEXT.match(text) or _LINK_ONLY.match(text):
            continue
        kept.append(p)
    return kept


def quote_of(passage: Passage, limit: int) -> str:
    """The passage's own text (an exact slice of the playbook), cut before ``limit`` at a space."""
    text = passage.text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


def _shown(passage: Passage, words: int) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", passage.text)  # links read as their words
    cut = text.split()
    shown = " ".join(cut[:words]) + (" …" if len(cut) > words else "")
    return f"[{passage.kind}] {shown}"


@dataclass(frozen=True)
class LocalPrompt:
    text: str
    passages: list[Passage]
    left_out: int
    """Passages that did not fit the prompt."""


def build_prompt(
    playbook: Playbook, trade: str, model: CompletionModel, settings: LocalExtractionSettings
) -> LocalPrompt:
    head = (
        f"<|im_start|>system\n{INSTRUCTIONS}\nThe playbook is given as numbered passages; cite a step's "
        "passage by its number instead of quoting it.<|im_end|>\n<|im_start|>user\n"
        f"Trade: {trade}\nPlaybook {playbook.name}, numbered passages:\n"
    )
    tail = "\nAnswer with the rubric as JSON.<|im_end|>\n<|im_start|>assistant\n"
    budget = settings.prompt_tokens - len(model.tokenize(head + tail))
    shown: list[Passage] = []
    lines: list[str] = []
    candidates = outline(playbook)
    for passage in candidates:
        line = f"{len(shown) + 1}. {_shown(passage, settings.passage_words)}\n"
        cost = len(model.tokenize(line))
        if cost > budget:
            break
        budget -= cost
        shown.append(passage)
        lines.append(line)
    if not shown:
        raise ExtractionError(f"{playbook.name} has no passages to read after its page furniture is removed")
    return LocalPrompt(head + "".join(lines) + tail, shown, len(candidates) - len(shown))


@dataclass(frozen=True)
class LocalDraft:
    draft: Draft
    left_out: int
    """Passages of the playbook the model did not see (it was too long for the context)."""
    dropped: int
    """Steps the model gave that cited a passage number out of range, or named section furniture ("Overview")."""
    seconds: float


def extract_with_local_llm(
    playbook: Playbook, trade: str, model: CompletionModel, settings: LocalExtractionSettings | None = None
) -> LocalDraft:
    from models.llm import json_grammar

    s = settings or LocalExtractionSettings()
    prompt = build_prompt(playbook, trade, model, s)
    grammar = json_grammar(answer_schema(len(prompt.passages), s.max_steps))
    completion = model.complete(prompt.text, grammar=grammar, max_tokens=s.answer_tokens)
    try:
        answer = json.loads(completion.text)
    except json.JSONDecodeError as exc:
        raise ExtractionError(
            f"the local model's answer is not complete JSON (it stopped after {completion.completion_tokens} "
            f"tokens); nothing was stored. Try --method claude, or a shorter playbook"
        ) from exc
    steps, dropped = [], 0
    for step in answer.get("steps", []):
        number = step.get("passage")
        if not isinstance(number, int) or not 1 <= number <= len(prompt.passages):
            dropped += 1
            continue
        if _NOT_A_STEP.match(str(step.get("name", "")).strip()):
            dropped += 1
            continue
        steps.append({**step, "source_quote": quote_of(prompt.passages[number - 1], s.quote_chars)})
    if not steps:
        raise ExtractionError("the local model cited no passage of the playbook; nothing was stored")
    title = str(answer.get("title") or playbook.name)[:120] or playbook.name
    draft = build_draft(steps, playbook, title, trade, "local-llm")
    return LocalDraft(draft, prompt.left_out, dropped, float(completion.seconds))
