"""The edge's sync client (httpx): one call's manifest and audio to the cloud, resumably and idempotently.

``upload`` can be called any number of times for the same call, after any failure: it sends the
manifest (a retry of the same manifest is a no-op on the server), asks the server how many audio bytes
it has, sends the rest in checksummed chunks from there, and asks the server to check the whole
audio's sha256. Transient failures (connection dropped, timeout, 429, 5xx) are retried with
exponential backoff and full jitter, so a fleet of phones regaining signal together does not retry in
lockstep; a refusal (401, 403, 4xx) is not retried. The call is synced only when the server's checksum
equals the manifest's.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from cloud_sync.contract import CallManifest, UploadState
from rubric_cache.schema import Rubric


class SyncError(Exception):
    """Base of sync failures."""


class SyncRefused(SyncError):
    """The server refused (bad token, wrong role, invalid manifest, a different call under this id):
    retrying will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"the server refused ({status} {code}): {message}")
        self.status = status
        self.code = code


class SyncGaveUp(SyncError):
    """Still failing after every attempt (no signal, server down): the call stays queued."""


@dataclass(frozen=True)
class SyncSettings:
    chunk_bytes: int = 256 * 1024
    """Audio per request: small enough to get through on a poor link, large enough to be quick."""
    timeout_s: float = 30.0
    attempts: int = 8
    """Tries of one request before the call is left for the next sync."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0


@dataclass(frozen=True)
class Progress:
    call_id: str
    sent_bytes: int
    total_bytes: int


class SyncClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        settings: SyncSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = s = settings or SyncSettings()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=s.timeout_s,
            transport=transport,
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retries = 0
        """Requests retried so far (for tests and the progress line)."""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def upload(
        self, manifest: CallManifest, audio: bytes, on_progress: Callable[[Progress], None] | None = None
    ) -> UploadState:
        if len(audio) != manifest.audio.bytes or hashlib.sha256(audio).hexdigest() != manifest.audio.sha256:
            raise SyncError(f"call {manifest.call_id}: the audio does not match its manifest (local store damaged?)")
        call = f"/v1/calls/{manifest.call_id}"
        state = self._state(self._request("PUT", call, json=manifest.model_dump(mode="json")))
        if state.complete:
            return state
        offset = self._state(self._request("GET", f"{call}/upload")).received_bytes
        while offset < len(audio):
            chunk = audio[offset : offset + self.settings.chunk_bytes]
            response = self._request(
                "PUT",
                f"{call}/audio",
                params={"offset": offset},
                content=chunk,
                headers={
                    "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
                    "Content-Type": "application/octet-stream",
                },
                tolerate={409},
            )
            if response.status_code == 409:
                body = _json(response)
                if body.get("error") != "wrong_offset":  # the bytes themselves conflict: retrying cannot help
                    raise SyncRefused(409, body.get("error", "conflict"), body.get("message", ""))
                # The server has a different picture of the offset (a reply was lost): ask it.
                offset = self._state(self._request("GET", f"{call}/upload")).received_bytes
                continue
            offset = self._state(response).received_bytes
            if on_progress is not None:
                on_progress(Progress(manifest.call_id, offset, len(audio)))
        state = self._state(self._request("POST", f"{call}/complete"))
        if not state.complete or state.sha256 != manifest.audio.sha256:
            raise SyncError(f"call {manifest.call_id}: the server's checksum {state.sha256} is not the manifest's")
        return state

    def _request(
        self, method: str, url: str, tolerate: frozenset[int] | set[int] = frozenset(), **kw: Any
    ) -> httpx.Response:
        s = self.settings
        last = ""
        for attempt in range(s.attempts):
            if attempt:
                self.retries += 1
                # Full jitter: a random wait up to the exponential cap.
                self._sleep(self._rng.uniform(0, min(s.backoff_max_s, s.backoff_initial_s * 2 ** (attempt - 1))))
            try:
                response = self._http.request(method, url, **kw)
            except httpx.TransportError as exc:  # dropped connection, refused, timeout
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in tolerate or response.status_code < 400:
                return response
            if response.status_code == 429 or response.status_code >= 500:
                last = f"{response.status_code}: {response.text[:200]}"
                continue
            body = _json(response)
            raise SyncRefused(
                response.status_code, body.get("error", "error"), body.get("message", response.text[:200])
            )
        raise SyncGaveUp(f"{method} {url} failed {s.attempts} times; last: {last}")

    def active_rubric(self, tenant: str) -> Rubric | None:
        """The tenant's active rubric (``rubric_cache.cache.RubricSource``). Offline is ``ConnectionError``
        (an ``OSError``), so the edge's cache keeps what it has; None when the tenant has none."""
        try:
            response = self._http.get("/v1/rubrics/active")
        except httpx.TransportError as exc:
            raise ConnectionError(f"cannot reach the cloud: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise ConnectionError(f"the cloud answered {response.status_code}")
        if response.status_code >= 400:
            body = _json(response)
            raise SyncRefused(response.status_code, body.get("error", "error"), body.get("message", ""))
        rubric = Rubric.model_validate(response.json())
        if rubric.tenant != tenant:
            raise SyncRefused(200, "wrong_tenant", f"the token is tenant {rubric.tenant}'s, not {tenant}'s")
        return rubric

    @staticmethod
    def _state(response: httpx.Response) -> UploadState:
        return UploadState.model_validate(response.json())


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
