"""What an extraction model is asked to return: the shape shared by the Claude and local-LLM paths."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubric_cache.errors import ExtractionError

INSTRUCTIONS = """You turn a company's sales playbook into a scoring rubric for sales conversations.
A rubric is the ordered list of steps a good rep covers in a sales conversation, as this playbook
describes them: what to ask, show, explain or agree, in the order the playbook wants them.
For each step give:
- name: 2 to 6 words;
- description: one sentence, what the rep does;
- required: false only if the playbook calls the step optional or situational;
- before_price: true only if the playbook says to do it before pricing or the proposal;
- source_quote: an exact excerpt of the playbook that this step comes from, copied character for
  character (one sentence, list item or heading; at most 300 characters). Never paraphrase it.
Use only what the playbook says. 4 to 12 steps."""


class ExtractedStep(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=600)
    required: bool = True
    before_price: bool = False
    source_quote: str = Field(min_length=1, max_length=600)
    examples: list[str] = Field(default_factory=list)
    guidance: str = ""


class ExtractedRubric(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=120)
    steps: list[ExtractedStep] = Field(min_length=1, max_length=30)


def parse_answer(answer: Any, source: str) -> ExtractedRubric:
    """A model's answer as an ``ExtractedRubric``, or an ``ExtractionError`` naming each problem."""
    try:
        if isinstance(answer, str | bytes):
            return ExtractedRubric.model_validate_json(answer)
        return ExtractedRubric.model_validate(answer)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:8])
        raise ExtractionError(f"{source} did not return a usable rubric ({problems}); nothing was stored") from exc
