"""A loopback HTTP server that speaks the shape of Anthropic's Messages API, for testing the real SDK.

Each request to ``POST /v1/messages`` gets the next scripted reply (a status and a body, or raw text);
requests are kept for assertions. It runs uvicorn in a thread on an ephemeral port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response


@dataclass
class Reply:
    body: Any
    status: int = 200
    raw: bool = False
    """``body`` is sent as-is (text), not as JSON."""


@dataclass
class MessagesServer:
    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def tool_message(tool: str, tool_input: Any, stop_reason: str = "tool_use") -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-5",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": tool, "input": tool_input}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 300},
    }


def text_message(text: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    message = tool_message("x", {}, stop_reason)
    message["content"] = [{"type": "text", "text": text}]
    return message


@contextmanager
def messages_server() -> Iterator[MessagesServer]:
    state = MessagesServer()
    app = FastAPI()

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        state.requests.append(json.loads(await request.body()))
        reply = state.replies.pop(0) if state.replies else Reply({"error": "no scripted reply"}, 500)
        content = reply.body if reply.raw else json.dumps(reply.body)
        media = "text/plain" if reply.raw else "application/json"
        return Response(content=content, status_code=reply.status, media_type=media)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the loopback Messages server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)
