"""Claude through the Anthropic SDK: one structured answer per call, forced through a tool's schema.

Used where a long-context model earns its cost (rubric extraction from a whole playbook, the
post-call deep dive). The answer is the forced tool's input; an answer cut off at ``max_tokens``, one
without the tool call, or a refused or failed request is a typed ``ClaudeError``, never half a result.
``anthropic`` is imported when a client is made.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from models._lazy import require
from models.errors import ModelError

API_KEY_ENV = "ANTHROPIC_API_KEY"


class ClaudeError(ModelError):
    """Claude could not give a usable answer (no key, refused, unreachable, cut off, malformed)."""

    def __init__(self, reason: str, fix: str, transient: bool = False) -> None:
        super().__init__(reason, fix)
        self.transient = transient


@dataclass(frozen=True)
class ClaudeSettings:
    model: str = field(default_factory=lambda: os.environ.get("RIDEALONG_CLAUDE_MODEL", "claude-opus-5"))
    """The Claude model (``RIDEALONG_CLAUDE_MODEL`` overrides)."""
    max_tokens: int = 8000
    """Longest answer (tokens); an answer that needs more is cut off and refused."""
    timeout_s: float = 300.0
    max_retries: int = 2
    """The SDK's own retries of connection errors, 429 and 5xx, with backoff."""
    base_url: str | None = None
    """None: the SDK's default (or ``ANTHROPIC_BASE_URL``). Tests point it at a loopback server."""
    api_key: str | None = None
    """None: ``ANTHROPIC_API_KEY`` from the environment."""


@dataclass(frozen=True)
class ToolAnswer:
    input: dict[str, Any]
    model: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class StructuredAnswer:
    """A JSON answer in a given schema, and what the prompt cost."""

    data: dict[str, Any]
    model: str
    input_tokens: int
    """Prompt tokens paid at the full rate."""
    cache_write_tokens: int
    """Prompt tokens written to the cache (the prefix, the first time)."""
    cache_read_tokens: int
    """Prompt tokens read from the cache (the prefix, every later time)."""
    output_tokens: int


def claude_configured(settings: ClaudeSettings | None = None) -> bool:
    return bool((settings and settings.api_key) or os.environ.get(API_KEY_ENV))


class ClaudeClient:
    def __init__(self, settings: ClaudeSettings | None = None) -> None:
        self.settings = s = settings or ClaudeSettings()
        key = s.api_key or os.environ.get(API_KEY_ENV)
        if not key:
            raise ClaudeError(f"no Anthropic API key ({API_KEY_ENV} is not set)", f"export {API_KEY_ENV}=...")
        anthropic = require("anthropic", "cloud")
        self._anthropic = anthropic
        self._client = anthropic.Anthropic(
            api_key=key, base_url=s.base_url, timeout=s.timeout_s, max_retries=s.max_retries
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def tool_answer(
        self, system: str, user: str, tool_name: str, tool_description: str, schema: dict[str, Any]
    ) -> ToolAnswer:
        """Claude's answer as the input of ``tool_name`` (forced), checked to be complete."""
        message = self._create(
            system=system,
            messages=[{"role": "user", "content": user}],
            tools=[{"name": tool_name, "description": tool_description, "input_schema": schema}],
            tool_choice={"type": "tool", "name": tool_name},
        )
        calls = [b for b in message.content if getattr(b, "type", None) == "tool_use" and b.name == tool_name]
        if not calls:
            raise ClaudeError(
                f"Claude answered without calling {tool_name} (stop reason {message.stop_reason})", "retry"
            )
        answer = calls[0].input
        if not isinstance(answer, dict):
            raise ClaudeError(f"{tool_name}'s input is {type(answer).__name__}, not an object", "retry")
        return ToolAnswer(answer, message.model, message.usage.input_tokens, message.usage.output_tokens)

    def structured(self, cached_prefix: str, user: str, schema: dict[str, Any]) -> StructuredAnswer:
        """Claude's answer as JSON in ``schema`` (structured output). ``cached_prefix`` goes in the system
        prompt under a cache breakpoint: the same prefix again is read from Anthropic's prompt cache, so a
        call pays only for ``user`` at the full rate."""
        message = self._create(
            system=[{"type": "text", "text": cached_prefix, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": user}],
            output_config={"format": {"type": "json_schema", "schema": self._anthropic.transform_schema(schema)}},
        )
        if message.stop_reason == "refusal":
            raise ClaudeError("Claude declined to answer (stop reason refusal)", "check the transcript's content")
        text = "".join(b.text for b in message.content if getattr(b, "type", None) == "text")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ClaudeError(f"Claude's answer is not JSON: {text[:200]!r}", "retry") from exc
        if not isinstance(data, dict):
            raise ClaudeError(f"Claude's answer is a JSON {type(data).__name__}, not an object", "retry")
        u = message.usage
        return StructuredAnswer(
            data, message.model, u.input_tokens, u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0,
            u.output_tokens,
        )  # fmt: skip

    def _create(self, **request: Any) -> Any:
        """One Messages API call, its failures as ``ClaudeError``; an answer cut off is refused."""
        a = self._anthropic
        try:
            message = self._client.messages.create(
                model=self.settings.model, max_tokens=self.settings.max_tokens, **request
            )
        except a.AuthenticationError as exc:
            raise ClaudeError(f"the Anthropic API refused the key: {exc}", f"check {API_KEY_ENV}") from exc
        except a.APIStatusError as exc:
            transient = exc.status_code in (408, 429) or exc.status_code >= 500
            raise ClaudeError(
                f"the Anthropic API answered {exc.status_code}: {exc.message}",
                "retry later" if transient else "check the request (model name, size)",
                transient,
            ) from exc
        except a.APIConnectionError as exc:  # timeouts included
            raise ClaudeError(f"cannot reach the Anthropic API: {exc}", "check the network, then retry", True) from exc
        except a.APIResponseValidationError as exc:
            raise ClaudeError(
                f"the Anthropic API's answer is not a message: {exc}", "retry; report if it persists"
            ) from exc
        if not isinstance(message, a.types.Message):  # a body the SDK could not read as a message comes back raw
            raise ClaudeError(f"the Anthropic API's answer is not a message: {str(message)[:200]!r}", "retry")
        if message.stop_reason == "max_tokens":
            raise ClaudeError(
                f"Claude's answer was cut off at {self.settings.max_tokens} tokens",
                "raise ClaudeSettings.max_tokens or give it a shorter document",
            )
        return message
