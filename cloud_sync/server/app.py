"""The cloud's HTTP API (FastAPI): call ingest for reps, reading for managers, all scoped by tenant.

Auth is a bearer token per user, stored as its sha256; the token says which tenant and which role.
Another tenant's call answers exactly as a call that does not exist (404), so ids cannot be probed.
Every error body is ``ApiError`` (a stable code and a message); request bodies over the limits are
refused before they are read in full.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the annotations at run
# time, and they name functions local to ``create_app``.
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud_sync.contract import (
    MAX_CHUNK_BYTES,
    NO_NUL,
    ApiError,
    CallManifest,
    Comment,
    IssuedToken,
    LibraryEntry,
    NewComment,
    NewLibraryEntry,
    NewToken,
    Report,
    SearchHit,
    UploadState,
)
from cloud_sync.server.jobs import JobInfo, JobKind, JobQueue, JobStatus
from cloud_sync.server.pages import SESSION_COOKIE, CallId, add_pages
from cloud_sync.server.store import CloudStore, NotFound, Principal, Role, StoreConflict
from cloud_sync.server.tasks import TextEmbedder
from rubric_cache.errors import RubricError, RubricNotFound, UnchangedRubric, VersionConflict
from rubric_cache.schema import Rubric, RubricContent


class NewRubricVersion(BaseModel):
    content: RubricContent
    parent_version: int | None
    """The version this edit started from (None for the tenant's first); a stale one is a 409."""
    note: str = Field(default="", pattern=NO_NUL, max_length=2_000)


@dataclass(frozen=True)
class ServerSettings:
    max_manifest_bytes: int = 16 << 20
    """Largest manifest (JSON) accepted: 16 MiB holds a 4-hour call's transcripts many times over."""
    max_chunk_bytes: int = MAX_CHUNK_BYTES
    audio_cache_dir: FilePath | None = None
    """Where calls' audio is kept as WAV for the report page's player (None: a temporary directory)."""


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(ApiError(error=code, message=message).model_dump(), status_code=status)


def create_app(
    store: CloudStore,
    settings: ServerSettings | None = None,
    *,
    jobs: JobQueue | None = None,
    embedder: TextEmbedder | None = None,
) -> FastAPI:
    """``jobs``: where a complete call's follow-up work is queued (None: nothing is queued, for a server
    that only takes uploads). ``embedder``: embeds search queries (None: search answers 503)."""
    s = settings or ServerSettings()
    app = FastAPI(title="Ridealong cloud", version="1", description="Call ingest and coaching reports.")

    @app.middleware("http")
    async def size_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        limit = s.max_chunk_bytes if request.url.path.endswith("/audio") else s.max_manifest_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error(413, "too_large", f"the body is over {limit} bytes; send audio in chunks of at most that")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10])
        return _error(422, "invalid_request", problems)

    @app.exception_handler(StarletteHTTPException)  # ours, and the router's own 404 and 405
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, dict) else {"error": code, "message": str(exc.detail)}
        return JSONResponse(detail, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(RubricNotFound)
    async def no_rubric(_: Request, exc: RubricNotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(RubricError)
    async def rubric_conflict(_: Request, exc: RubricError) -> JSONResponse:
        code = "version_conflict" if isinstance(exc, VersionConflict) else "unchanged" if isinstance(
            exc, UnchangedRubric) else "invalid_rubric"  # fmt: skip
        return _error(409, code, str(exc))

    @app.exception_handler(StoreConflict)
    async def conflict(_: Request, exc: StoreConflict) -> JSONResponse:
        return _error(409, exc.code, str(exc))

    def unauthenticated(message: str) -> HTTPException:
        body = {"error": "unauthenticated", "message": message}
        return HTTPException(401, body, headers={"WWW-Authenticate": "Bearer"})

    def authenticate(token: str) -> Principal | None:
        return store.principal(token_sha256(token), datetime.now(UTC))

    def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        """The bearer token's owner; a signed-in browser's session cookie counts as the same token."""
        if authorization is not None and authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
            token = cookie
        else:
            raise unauthenticated("send Authorization: Bearer TOKEN")
        who = authenticate(token)
        if who is None:
            raise unauthenticated("the token is unknown, revoked or expired")
        return who

    def role(*allowed: Role) -> Callable[[Principal], Principal]:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if who.role not in allowed:
                raise HTTPException(403, {"error": "forbidden", "message": f"a {who.role.value} token cannot do this"})
            return who

        return check

    uploader = Depends(role(Role.REP, Role.MANAGER, Role.ADMIN))
    reader = Depends(role(Role.MANAGER, Role.ADMIN))
    admin = Depends(role(Role.ADMIN))

    def own_call(who: Principal, call_id: str) -> None:
        """A rep reaches only their own calls; another rep's answers as a call that does not exist."""
        if who.role == Role.REP and store.call_rep(who.tenant, call_id) != who.subject:
            raise NotFound(f"no call {call_id}")

    @app.put("/v1/calls/{call_id}", response_model=UploadState, responses={409: {"model": ApiError}})
    def put_manifest(call_id: CallId, manifest: CallManifest, response: Response, who: Principal = uploader) -> Any:
        if manifest.call_id != call_id:
            return _error(422, "invalid_request", f"the manifest is for call {manifest.call_id}, the URL for {call_id}")
        if who.role == Role.REP and (who.subject is None or manifest.rep_id != who.subject):
            mine = f"the calls of rep {who.subject}" if who.subject else "no rep's calls (issue one with --subject)"
            message = f"this token uploads {mine}; the call says rep {manifest.rep_id}: start calls with --rep"
            return _error(403, "forbidden", message)
        state, created = store.put_manifest(who.tenant, manifest)
        response.status_code = 201 if created else 200
        return state

    @app.get("/v1/calls/{call_id}/upload", response_model=UploadState)
    def upload_state(call_id: CallId, who: Principal = uploader) -> Any:
        own_call(who, call_id)
        return store.upload_state(who.tenant, call_id)

    @app.delete("/v1/calls/{call_id}/upload", status_code=204, responses={409: {"model": ApiError}})
    def discard_upload(call_id: CallId, who: Principal = admin) -> None:
        store.discard_upload(who.tenant, call_id)

    @app.put("/v1/calls/{call_id}/audio", response_model=UploadState, responses={409: {"model": ApiError}})
    async def put_audio(
        call_id: CallId,
        request: Request,
        offset: Annotated[int, Query(ge=0)],
        x_chunk_sha256: Annotated[str, Header(pattern=r"^[0-9a-f]{64}$")],
        who: Principal = uploader,
    ) -> Any:
        data = await request.body()
        if len(data) > s.max_chunk_bytes:
            return _error(413, "too_large", f"audio chunks are at most {s.max_chunk_bytes} bytes")
        if hashlib.sha256(data).hexdigest() != x_chunk_sha256:
            return _error(400, "chunk_checksum", "the chunk's sha256 does not match X-Chunk-SHA256: send it again")
        # The store is synchronous; off the event loop, so one slow write does not stall every client.
        await run_in_threadpool(own_call, who, call_id)
        return await run_in_threadpool(store.put_chunk, who.tenant, call_id, offset, data)

    @app.post("/v1/calls/{call_id}/complete", response_model=UploadState, responses={409: {"model": ApiError}})
    def complete(call_id: CallId, who: Principal = uploader) -> Any:
        own_call(who, call_id)
        state = store.complete(who.tenant, call_id)
        # Queued on every confirmation, not only the first: a server killed between completing the call and
        # queueing its job gets it queued when the device asks again. The queue keeps one waiting job per call.
        if jobs is not None:
            for kind in (JobKind.INDEX_CALL, JobKind.DEEP_DIVE):
                if jobs.handles(kind):
                    jobs.enqueue(kind, who.tenant, call_id)
        return state

    @app.get("/v1/calls", response_model=list[UploadState])
    def list_calls(who: Principal = reader) -> Any:
        return store.calls(who.tenant)

    @app.get("/v1/calls/{call_id}", response_model=CallManifest)
    def get_call(call_id: CallId, who: Principal = reader) -> Any:
        return store.manifest(who.tenant, call_id)

    @app.post("/v1/calls/{call_id}/comments", response_model=Comment, status_code=201)
    def add_comment(call_id: CallId, body: NewComment, who: Principal = reader) -> Any:
        return store.add_comment(who.tenant, call_id, body.utterance_id, who.name, body.body)

    @app.get("/v1/calls/{call_id}/comments", response_model=list[Comment])
    def list_comments(call_id: CallId, who: Principal = reader) -> Any:
        return store.comments(who.tenant, call_id)

    @app.get("/v1/calls/{call_id}/report", response_model=Report, responses={404: {"model": ApiError}})
    def get_report(call_id: CallId, rubric_ref: str | None = None, who: Principal = reader) -> Any:
        """The call's deep dive (against ``rubric_ref``, or the newest); claims carry their verification."""
        return store.report(who.tenant, call_id, rubric_ref)

    @app.post("/v1/library", response_model=LibraryEntry, status_code=201, responses={404: {"model": ApiError}})
    def share(entry: NewLibraryEntry, who: Principal = reader) -> Any:
        """Share a call, or one moment of it, as a teaching example in the tenant's library."""
        return store.share(who.tenant, entry, who.name)

    @app.get("/v1/library", response_model=list[LibraryEntry])
    def library(who: Principal = reader) -> Any:
        return store.library(who.tenant)

    @app.get("/v1/search", response_model=list[SearchHit], responses={503: {"model": ApiError}})
    def search(
        q: Annotated[str, Query(min_length=1, max_length=500, description="what was said, in your words")],
        role_: Annotated[
            Literal["rep", "customer", "other", "unknown"] | None, Query(alias="role", description="who said it")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        who: Principal = reader,
    ) -> Any:
        """Utterances across the tenant's calls closest in meaning to ``q``, best first."""
        if embedder is None:
            return _error(503, "search_unavailable", "this server has no text embedder: run `ridealong models fetch`")
        return store.search(who.tenant, embedder.embed([q])[0], role_, limit)

    @app.post("/v1/tokens", response_model=IssuedToken, status_code=201)
    def issue(body: NewToken, who: Principal = admin) -> Any:
        """A token for a user of the admin's tenant (shown once)."""
        from cloud_sync.server.tokens import issue_token

        ttl = timedelta(days=body.ttl_days) if body.ttl_days else None
        token_id, token = issue_token(store, who.tenant, Role(body.role), ttl, body.subject)
        expires = datetime.now(UTC) + ttl if ttl else None
        return IssuedToken(token_id=token_id, token=token, role=body.role, subject=body.subject, expires_at=expires)

    @app.delete("/v1/tokens/{token_id}", status_code=204, responses={404: {"model": ApiError}})
    def revoke(token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")], who: Principal = admin) -> None:
        store.revoke_token(who.tenant, token_id)

    @app.get("/v1/jobs", response_model=list[JobInfo])
    def list_jobs(status: JobStatus | None = None, who: Principal = admin) -> Any:
        return [] if jobs is None else jobs.jobs(who.tenant, status)

    @app.post("/v1/jobs/{job_id}/retry", response_model=JobInfo, responses={409: {"model": ApiError}})
    def retry_job(job_id: int, who: Principal = admin) -> Any:
        if jobs is None:
            raise NotFound(f"no job {job_id}")
        return jobs.retry(who.tenant, job_id)

    add_pages(app, store, authenticate, reader, s.audio_cache_dir)
    member = uploader  # every role of the tenant

    @app.get("/v1/rubrics/active", response_model=Rubric, responses={404: {"model": ApiError}})
    def active_rubric(who: Principal = member) -> Any:
        rubric = store.rubrics.active(who.tenant)
        if rubric is None:
            raise RubricNotFound(who.tenant, None, store.rubrics.versions(who.tenant))
        return rubric

    @app.get("/v1/rubrics/{version}", response_model=Rubric, responses={404: {"model": ApiError}})
    def get_rubric(version: int, who: Principal = reader) -> Any:
        return store.rubrics.get(who.tenant, version)

    @app.post("/v1/rubrics", response_model=Rubric, status_code=201, responses={409: {"model": ApiError}})
    def new_rubric_version(body: NewRubricVersion, who: Principal = admin) -> Any:
        return store.rubrics.create(who.tenant, body.content, who.name, body.parent_version, body.note)

    @app.post("/v1/rubrics/{version}/activate", response_model=Rubric, responses={404: {"model": ApiError}})
    def activate_rubric(version: int, who: Principal = admin) -> Any:
        """Activate a version; with a deep-dive model, every complete call is re-scored against it."""
        rubric = store.rubrics.activate(who.tenant, version)
        if jobs is not None and jobs.handles(JobKind.RESCORE):
            for call in store.calls(who.tenant):
                if call.complete:
                    jobs.enqueue(JobKind.RESCORE, who.tenant, call.call_id)
        return rubric

    return app
