"""A Messages API on loopback, answered by the local llama.cpp model: the Claude path of the deep dive runs
through the real Anthropic SDK, offline, with real model output.

It implements what the deep dive uses of ``POST /v1/messages``: system blocks with a ``cache_control``
breakpoint, one user message, and structured output (``output_config.format`` with a JSON schema),
which it enforces with a grammar built from the schema. Prompt caching works as Anthropic's does:
the prompt up to the breakpoint is written to the cache the first time (``cache_creation_input_tokens``)
and read from it after (``cache_read_input_tokens``); here the cache is the model's saved KV state, so
a cached prefix is really not evaluated again. Tokens are counted with the local model's tokenizer,
not Claude's.

The SDK moves schema keywords the API does not take (``maxLength``, ``maxItems``) into descriptions
("{maxLength: 300}"); they are read back from there, as Claude would read them.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cloud_sync.deepdive.providers import LocalDeepDiveSettings

_HINTS = {"maxLength", "minLength", "maxItems", "minItems"}


def restore_hints(schema: Any) -> Any:
    """The schema with the constraints the SDK moved into descriptions put back."""
    if isinstance(schema, list):
        return [restore_hints(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: restore_hints(v) for k, v in schema.items()}
    description = out.get("description")
    if isinstance(description, str) and (found := re.search(r"\{([^{}]*)\}\s*$", description)):
        for pair in found.group(1).split(", "):
            key, _, value = pair.partition(": ")
            if key in _HINTS and value.isdigit():
                out[key] = int(value)
    return out


@dataclass
class LoopbackMessages:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)


def create_messages_app(llm: Any, grammar: Any, state: LoopbackMessages) -> FastAPI:
    """``llm``: a ``models.llm.LocalLlm``; ``grammar``: JSON schema → GBNF (``models.llm.json_grammar``)."""
    chat = LocalDeepDiveSettings()
    cached: set[str] = set()
    lock = threading.Lock()
    app = FastAPI(title="loopback Messages API")

    def error(status: int, kind: str, message: str) -> JSONResponse:
        return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)

    @app.post("/v1/messages")
    def messages(body: dict[str, Any], request: Request) -> Any:
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return error(401, "authentication_error", "no API key")
        state.requests.append(body)
        system, msgs = body.get("system", []), body.get("messages", [])
        if not isinstance(system, list) or len(msgs) != 1 or msgs[0].get("role") != "user":
            return error(400, "invalid_request_error", "this loopback takes system blocks and one user message")
        fmt = (body.get("output_config") or {}).get("format") or {}
        if fmt.get("type") != "json_schema":
            return error(400, "invalid_request_error", "this loopback answers structured output only")
        marked = [n for n, b in enumerate(system) if b.get("cache_control")]
        cut = marked[-1] + 1 if marked else 0
        prefix = "".join(b["text"] for b in system[:cut])
        rest = "".join(b["text"] for b in system[cut:])
        user = msgs[0]["content"] if isinstance(msgs[0]["content"], str) else "".join(
            b.get("text", "") for b in msgs[0]["content"])  # fmt: skip
        with lock:  # one model, one KV cache
            primed = llm.prime(f"{chat.chat_open}{prefix}{chat.chat_user}")
            key = hashlib.sha256(prefix.encode()).hexdigest()
            hit = key in cached
            cached.add(key)
            suffix = f"{rest}{user}{chat.chat_assistant}"
            room = llm.settings.n_ctx - primed - len(llm.tokenize(suffix)) - 8
            done = llm.complete(suffix, grammar=grammar(restore_hints(fmt["schema"])),
                                max_tokens=min(int(body["max_tokens"]), room))  # fmt: skip
        usage = {
            "input_tokens": done.prompt_tokens - primed,
            "cache_creation_input_tokens": 0 if hit else primed,
            "cache_read_input_tokens": primed if hit else 0,
            "output_tokens": done.completion_tokens,
        }
        state.usages.append(usage)
        stop = "max_tokens" if done.completion_tokens >= min(int(body["max_tokens"]), room) else "end_turn"
        return {
            "id": f"msg_{len(state.requests):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": done.text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    return app


@contextmanager
def loopback_messages(llm: Any, grammar: Any) -> Iterator[LoopbackMessages]:
    state = LoopbackMessages()
    app = create_messages_app(llm, grammar, state)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the loopback Messages API did not start")
        time.sleep(0.02)
    state.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)
