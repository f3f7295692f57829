"""Extraction with Claude (when an Anthropic API key is configured): the whole playbook in one request,
the answer forced through the rubric's JSON schema (tool use), every citation then checked."""

from __future__ import annotations

from models.claude import ClaudeClient, ClaudeError, ClaudeSettings
from rubric_cache.errors import ExtractionError
from rubric_cache.extraction.answer import INSTRUCTIONS, ExtractedRubric, parse_answer
from rubric_cache.extraction.draft import Draft, build_draft
from rubric_cache.playbook import Playbook

TOOL = "record_rubric"
MAX_CHARS = 400_000
"""About 100k tokens: the playbook and the answer fit one long-context request."""


def extract_with_claude(
    playbook: Playbook, trade: str, settings: ClaudeSettings | None = None, client: ClaudeClient | None = None
) -> Draft:
    if len(playbook.text) > MAX_CHARS:
        raise ExtractionError(
            f"{playbook.name} has {len(playbook.text):,} characters, over the {MAX_CHARS:,} one request takes: "
            "import its sales sections one at a time"
        )
    try:
        claude = client or ClaudeClient(settings)
    except ClaudeError as exc:
        raise ExtractionError(f"extraction with Claude failed: {exc}") from exc
    try:
        answer = claude.tool_answer(
            system=INSTRUCTIONS,
            user=f"Trade: {trade}\nPlaybook ({playbook.name}):\n<playbook>\n{playbook.text}\n</playbook>",
            tool_name=TOOL,
            tool_description="Record the rubric extracted from the playbook.",
            schema=ExtractedRubric.model_json_schema(),
        )
    except ClaudeError as exc:
        raise ExtractionError(f"extraction with Claude failed: {exc}") from exc
    finally:
        if client is None:
            claude.close()
    rubric = parse_answer(answer.input, "Claude")
    return build_draft([s.model_dump() for s in rubric.steps], playbook, rubric.title, trade, "claude")
