"""What the deep-dive model reads and the shape of its answer.

The prompt has two parts. The prefix (instructions, the tenant's rubric, the moment types) is the
same for every call scored against one rubric version, so providers cache it (Claude's prompt
cache, llama.cpp's saved KV state) and only the conversation is paid per call. The answer schema
depends on the rubric alone (its step ids are required keys, in order), never on the call: a schema
that changed per call (say, the call's utterance ids as an enum) would change the request's prefix
and miss the prompt cache every time. Citations that name no utterance of the call are the
verifier's to catch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloud_sync.contract import CallManifest, WireUtterance
from rubric_cache.schema import RubricContent

MOMENTS = {
    "rep_monologue": "the rep talks on for a long stretch without asking the customer anything",
    "step_skipped_before_price": "the rep states a price before covering a step the rubric puts before price",
    "talk_ratio_high": "the rep does most of the talking over a stretch of the call",
    "rep_interrupting": "the rep cuts the customer off mid-sentence",
    "no_next_step": "the visit winds down without an agreed next step (a date, a follow-up, a decision time)",
    "price_objection_unaddressed": "the customer objects to the price and the rep does not answer the objection",
    "question_unanswered": "the customer asks a question the rep never answers",
    "decision_maker_objection": "the customer defers to someone else (a spouse, a landlord) before deciding",
    "competitor_mentioned": "the customer mentions another company, quote or offer",
    "buying_signal": "the customer signals readiness to buy (asks about timing, availability, next steps)",
}


@dataclass(frozen=True)
class AnswerLimits:
    """Bounds on the answer, so a small local model's output (and its time) stays bounded too."""

    max_points: int = 6
    max_candidates: int = 2
    max_citations: int = 3
    max_reasoning_chars: int = 300
    max_quote_chars: int = 160
    max_summary_chars: int = 600


INSTRUCTIONS = """You review recordings of in-person home-services sales consults (a rep in a customer's home)
for the rep's manager, who will read your review instead of riding along.

You get the tenant's sales rubric, then one call's transcript. Each transcript line is:
  <utterance id> [<start>–<end> s] <speaker id> (<role>): <what was said>
A role marked "unsure" means the device could not tell well who spoke; "live pass heard: X" means the
speaker label changed after the call when the audio was re-aligned (the line shows the better label).

Answer with JSON only, in the given schema:
- summary: two or three sentences on how the call went and its outcome.
- steps: for every rubric step, whether the rep covered it, a score (0 = missed, 1 = weak, 2 = adequate,
  3 = strong), one or two sentences of reasoning, and citations of the rep's own words that show it.
  A missed step usually has no citation.
- points: the coaching points a manager most needs (strengths, misses, notable moments of the types
  below, and unusual moments that no fixed checklist would catch), each with the moment type it is an
  instance of (or "none").
- candidates: recurring kinds of moment this call suggests a live coach could learn to catch (or none).

Every citation names one utterance exactly as the transcript shows it: its id, its start and end times,
its speaker id, and a quote of at least three words copied word for word from that line. Cite only what
was said; never cite an "unsure" line for a claim about who said it. A claim about the customer
(an objection, a competitor, a buying signal) cites the customer's words; a claim about the rep cites
the rep's. A claim you cannot cite is not made."""


def render_rubric(rubric: RubricContent) -> str:
    lines = [f"RUBRIC: {rubric.title} ({rubric.trade})", "Steps, in the order a good call covers them:"]
    for s in rubric.steps:
        flags = [f"weight {s.weight:.2f}"]
        if s.before_price:
            flags.append("before the price")
        if not s.required:
            flags.append("optional")
        lines.append(f"- {s.id}: {s.name} ({', '.join(flags)}). {s.description}")
        if s.guidance:
            lines.append(f"  Scoring: {s.guidance}")
        if s.examples:
            lines.append("  Sounds like: " + " / ".join(f'"{e}"' for e in s.examples[:2]))
    return "\n".join(lines)


def render_moments() -> str:
    return "MOMENT TYPES:\n" + "\n".join(f"- {name}: {text}" for name, text in MOMENTS.items())


def prefix(rubric: RubricContent) -> str:
    """The cached part: the same for every call scored against this rubric."""
    return f"{INSTRUCTIONS}\n\n{render_rubric(rubric)}\n\n{render_moments()}\n"


def transcript_lines(manifest: CallManifest, utterances: Sequence[WireUtterance], unsure_below: float) -> list[str]:
    """The call as the model reads it, one line per utterance; ``utterances`` are the ones cited."""
    live = {u.id: u for u in manifest.utterances}
    lines = []
    for u in utterances:
        if not u.text.strip():
            continue
        role = u.role if u.speaker_confidence >= unsure_below else f"{u.role}, unsure"
        heard = live.get(u.id) or live.get(u.id[:-1])  # a split utterance: "u012a" came from "u012"
        note = ""
        if manifest.second_pass and heard is not None and heard.speaker_id != u.speaker_id:
            note = f" [live pass heard: {heard.role}]"
        lines.append(f"{u.id} [{u.start_ts:.2f}–{u.end_ts:.2f} s] {u.speaker_id} ({role}){note}: {u.text.strip()}")
    return lines


def conversation(lines: Sequence[str], part: tuple[int, int] | None = None) -> str:
    """The paid part: the transcript (or one part of a long one, for a chunked local deep dive)."""
    head = "TRANSCRIPT" if part is None else f"TRANSCRIPT, part {part[0]} of {part[1]}"
    return f"{head}:\n" + "\n".join(lines) + "\n\nYour review as JSON:"


def answer_schema(rubric: RubricContent, limits: AnswerLimits) -> dict[str, Any]:
    citation = {
        "type": "object",
        "additionalProperties": False,
        "required": ["utterance_id", "start_ts", "end_ts", "speaker_id", "quote"],
        "properties": {
            "utterance_id": {"type": "string", "maxLength": 64},
            "start_ts": {"type": "number"},
            "end_ts": {"type": "number"},
            "speaker_id": {"type": "string", "maxLength": 64},
            "quote": {"type": "string", "maxLength": limits.max_quote_chars},
        },
    }

    def citations(min_items: int) -> dict[str, Any]:
        return {"type": "array", "items": citation, "minItems": min_items, "maxItems": limits.max_citations}

    step = {
        "type": "object",
        "additionalProperties": False,
        "required": ["covered", "score", "reasoning", "citations"],
        "properties": {
            "covered": {"type": "boolean"},
            "score": {"enum": [0, 1, 2, 3]},
            "reasoning": {"type": "string", "maxLength": limits.max_reasoning_chars},
            "citations": citations(0),
        },
    }
    point = {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "text", "moment_type", "citations"],
        "properties": {
            "kind": {"enum": ["strength", "miss", "moment", "unusual"]},
            "text": {"type": "string", "maxLength": limits.max_reasoning_chars},
            "moment_type": {"enum": [*MOMENTS, "none"]},
            "citations": citations(1),
        },
    }
    candidate = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", "citations"],
        "properties": {
            "name": {"type": "string", "maxLength": 60},
            "description": {"type": "string", "maxLength": limits.max_reasoning_chars},
            "citations": citations(1),
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["summary", "steps", "points", "candidates"],
        "properties": {
            "summary": {"type": "string", "maxLength": limits.max_summary_chars},
            "steps": {
                "type": "object",
                "additionalProperties": False,
                "required": [s.id for s in rubric.steps],
                "properties": {s.id: step for s in rubric.steps},
            },
            "points": {"type": "array", "items": point, "maxItems": limits.max_points},
            "candidates": {"type": "array", "items": candidate, "maxItems": limits.max_candidates},
        },
    }
