"""What the cloud's jobs do, as handlers for either queue (``jobs``). Each is idempotent: run twice, it
leaves what running once leaves."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import numpy as np

from cloud_sync.contract import Report
from cloud_sync.deepdive.review import DeepDive, RubricSource
from cloud_sync.deepdive.verify import spoken_utterances
from cloud_sync.server.jobs import Handler, JobKind
from cloud_sync.server.store import CloudStore, NotFound

_EMBED_BATCH = 64


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text."""
        ...


class CallNotReady(Exception):
    """The call's upload is not complete; the job is retried (its upload may still finish)."""


def index_call(store: CloudStore, embedder: TextEmbedder, tenant: str, call_id: str) -> int:
    """Embed a complete call's utterances into the tenant's search index; how many were indexed."""
    if not store.upload_state(tenant, call_id).complete:
        raise CallNotReady(f"call {call_id} has not finished uploading")
    utterances = spoken_utterances(store.manifest(tenant, call_id))
    texts = [u.text for u in utterances]
    blocks = [embedder.embed(texts[i : i + _EMBED_BATCH]) for i in range(0, len(texts), _EMBED_BATCH)]
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, 384), dtype=np.float32)
    store.index_call(tenant, call_id, utterances, vectors)
    return len(utterances)


def deep_dive_call(store: CloudStore, dive: DeepDive, tenant: str, call_id: str, rescore: bool) -> Report | None:
    """Review a complete call and keep the report: against the rubric it was coached with, or (``rescore``,
    after a rubric change) the tenant's active one. A report already kept for that rubric version is not
    paid for again; None then."""
    if not store.upload_state(tenant, call_id).complete:
        raise CallNotReady(f"call {call_id} has not finished uploading")
    manifest = store.manifest(tenant, call_id)
    source = RubricSource(store.rubrics)
    ref, rubric = source.active(tenant) if rescore else source.pinned(tenant, manifest)
    try:
        store.report(tenant, call_id, ref)
        return None
    except NotFound:
        pass
    report = dive.review(manifest, rubric, ref)
    store.put_report(tenant, report)
    return report


def call_handlers(
    store: CloudStore, embedder: Callable[[], TextEmbedder], deep_dive: Callable[[], DeepDive] | None = None
) -> dict[str, Handler]:
    """The handler of every job kind. ``embedder`` and ``deep_dive`` are called when a job first needs one
    (and once). No ``deep_dive``: calls are indexed but not reviewed."""
    load = functools.cache(embedder)

    def index(tenant: str, call_id: str) -> None:
        index_call(store, load(), tenant, call_id)

    handlers: dict[str, Handler] = {JobKind.INDEX_CALL.value: index}
    if deep_dive is not None:
        load_dive = functools.cache(deep_dive)

        def review(tenant: str, call_id: str) -> None:
            deep_dive_call(store, load_dive(), tenant, call_id, rescore=False)

        def rescore(tenant: str, call_id: str) -> None:
            deep_dive_call(store, load_dive(), tenant, call_id, rescore=True)

        handlers[JobKind.DEEP_DIVE.value] = review
        handlers[JobKind.RESCORE.value] = rescore
    return handlers
