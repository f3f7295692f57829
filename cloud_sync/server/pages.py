"""The manager's pages: sign-in, the tenant's calls, a call's report with its audio, the teaching library.

A browser signs in once with a manager token (``POST /v1/session``), which is kept in an HttpOnly,
SameSite=Strict cookie; the pages and the API calls their scripts make are authorised by it, exactly
as a bearer token would be. A page asked for without it redirects to the sign-in page.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations.
import hashlib
import shutil
import tempfile
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from cloud_sync.contract import CALL_ID_PATTERN
from cloud_sync.server.report_view import render_report, report_view, templates, wav_bytes
from cloud_sync.server.store import CloudStore, NotFound, Principal, Role

SESSION_COOKIE = "ridealong_token"
CallId = Annotated[str, Path(pattern=CALL_ID_PATTERN, description="the call's id, as its manifest gives it")]


class NewSession(BaseModel):
    token: str = Field(min_length=1, max_length=200)


def add_pages(
    app: FastAPI,
    store: CloudStore,
    authenticate: Callable[[str], Principal | None],
    reader: Any,
    audio_dir: FilePath | None = None,
) -> None:
    """``authenticate``: token → principal (None: unknown, revoked, expired); ``reader``: the API's
    dependency for manager and admin tokens."""
    if audio_dir is None:
        audio_dir = FilePath(tempfile.mkdtemp(prefix="ridealong-audio-"))
        # Removed with the app (or at exit): a directory per app would pile up in /tmp otherwise.
        weakref.finalize(app, shutil.rmtree, audio_dir, ignore_errors=True)
    wav_cache = audio_dir

    @app.post("/v1/session", status_code=204, tags=["pages"])
    def sign_in(body: NewSession, response: Response) -> None:
        """Sign a browser in with a manager's or admin's token (kept in an HttpOnly cookie)."""
        who = authenticate(body.token)
        if who is None or who.role not in (Role.MANAGER, Role.ADMIN):
            raise NotFound("no manager or admin has this token")
        response.set_cookie(SESSION_COOKIE, body.token, httponly=True, samesite="strict", max_age=12 * 3600)

    @app.delete("/v1/session", status_code=204, tags=["pages"])
    def sign_out(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE)

    def page_reader(request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        who = authenticate(token) if token else None
        return who if who is not None and who.role in (Role.MANAGER, Role.ADMIN) else None

    signed_in = Depends(page_reader)

    def sign_in_first(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login() -> str:
        return templates.get_template("login.html").render()

    @app.get("/calls", response_class=HTMLResponse, include_in_schema=False)
    def calls_page(request: Request, who: Principal | None = signed_in) -> Any:
        if who is None:
            return sign_in_first(request)
        rows = []
        for state in reversed(store.calls(who.tenant)):
            manifest = store.manifest(who.tenant, state.call_id)
            try:
                report = store.report(who.tenant, state.call_id)
            except NotFound:
                report = None
            rows.append({
                "call_id": state.call_id, "rep": manifest.rep_id, "complete": state.complete, "report": report,
                "started": manifest.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), "length": manifest.end_s,
            })  # fmt: skip
        return templates.get_template("calls.html").render(rows=rows)

    @app.get("/calls/{call_id}", response_class=HTMLResponse, include_in_schema=False)
    def report_page(call_id: CallId, request: Request, who: Principal | None = signed_in) -> Any:
        if who is None:
            return sign_in_first(request)
        return render_report(report_view(store, who.tenant, call_id, f"/v1/calls/{call_id}/audio.wav"))

    @app.get("/library", response_class=HTMLResponse, include_in_schema=False)
    def library_page(request: Request, who: Principal | None = signed_in) -> Any:
        if who is None:
            return sign_in_first(request)
        return templates.get_template("library.html").render(entries=store.library(who.tenant))

    @app.get("/v1/calls/{call_id}/audio.wav", response_class=FileResponse, tags=["pages"])
    def call_audio(call_id: CallId, who: Principal = reader) -> Any:
        """The call's audio as WAV, with byte ranges (a player seeks without fetching it all)."""
        state = store.upload_state(who.tenant, call_id)
        if not state.complete:
            raise NotFound(f"call {call_id} has not finished uploading")
        path = wav_cache / hashlib.sha256(who.tenant.encode()).hexdigest()[:16] / f"{call_id}-{state.sha256}.wav"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pcm = store.audio(who.tenant, call_id)
            partial = path.with_suffix(f".{datetime.now(UTC).timestamp()}.part")
            partial.write_bytes(wav_bytes(pcm, store.manifest(who.tenant, call_id).audio.rate_hz))
            partial.replace(path)  # atomic: two requests at once never serve half a file
        return FileResponse(path, media_type="audio/wav")
