"""The deep dive on real models: the Claude path through the real Anthropic SDK against a loopback
Messages API (answered by the local LLM, with prompt caching and structured output), the local path
through the cloud's job queue, and the grounding verifier catching made-up citations in both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud_sync.client import SyncClient
from cloud_sync.contract import Citation, Report
from cloud_sync.deepdive.prompt import AnswerLimits
from cloud_sync.deepdive.providers import ClaudeDeepDive, LocalDeepDive
from cloud_sync.deepdive.review import DeepDive, DeepDiveSettings, displayed
from cloud_sync.deepdive.verify import GroundingVerifier, canonical_utterances
from cloud_sync.server.jobs import JobKind, JobStatus, wait_for_jobs
from cloud_sync.server.sqlite_store import SqliteCloudStore
from cloud_sync.server.store import Role
from cloud_sync.server.tasks import TextEmbedder
from cloud_sync.server.tokens import issue_token
from models.claude import ClaudeClient, ClaudeSettings
from models.llm import LlmSettings, LocalLlm, choice_grammar, json_grammar
from models.loaders import load_llm
from models.store import ModelStore
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_call
from scripts.loopback_messages import loopback_messages
from tests.cloud_sync.conftest import REP, LoopbackServer, StoreKind
from tests.conftest import REPO

pytestmark = pytest.mark.slow
SHORT = load_call(REPO / "tests" / "corpus" / "fixtures" / "short-call.json")
# Bounds that keep the local model's one-shot JSON answer (the loopback's) to about a minute.
BOUNDS = AnswerLimits(
    max_points=3, max_candidates=1, max_citations=2, max_reasoning_chars=120, max_quote_chars=100, max_summary_chars=200
)
SMALL = DeepDiveSettings(limits=BOUNDS)


@pytest.fixture(scope="module")
def llm(store: ModelStore) -> Iterator[LocalLlm]:
    yield load_llm(store, settings=LlmSettings(n_ctx=8192, n_threads=2))


def assert_displayed_all_verify(report: Report) -> None:
    """Re-check what the manager is shown, from scratch, against the stored utterances."""
    manifest, _ = corpus_manifest(SHORT, REP)
    verifier = GroundingVerifier(canonical_utterances(manifest))
    steps, points, candidates = displayed(report)
    for s in steps:
        assert verifier.check_step(s.model_copy(update={"check": None})).check.verified, s  # type: ignore[union-attr]
    for p in points:
        assert verifier.check_claim(p.model_copy(update={"check": None})).check.verified, p  # type: ignore[union-attr]
    for c in candidates:
        assert verifier.check_candidate(c).check.verified, c  # type: ignore[union-attr]


def injected(c: Citation, kind: str, other_speaker: str) -> Citation:
    if kind == "wrong_id":
        return c.model_copy(update={"utterance_id": "u999"})
    if kind == "altered_quote":
        words = c.quote.split()
        return c.model_copy(update={"quote": " ".join([*words[:-1], "guaranteed"]) if len(words) > 1 else "nothing"})
    return c.model_copy(update={"speaker_id": other_speaker})


def assert_injections_caught(report: Report) -> int:
    manifest, _ = corpus_manifest(SHORT, REP)
    utterances = canonical_utterances(manifest)
    verifier = GroundingVerifier(utterances)
    speakers = {u.speaker_id for u in utterances}
    cited = [c for s in report.steps for c in s.citations] + [c for p in report.points for c in p.citations]
    real = [c for c in cited if not verifier.citation_problems(c)]
    assert real, "the report has at least one true citation to tamper with"
    caught = 0
    for c in real:
        for kind in ("wrong_id", "altered_quote", "wrong_speaker"):
            other = next(s for s in sorted(speakers) if s != c.speaker_id)
            assert not verifier.check([injected(c, kind, other)], None).verified, (kind, c)
            caught += 1
    return caught


def test_the_claude_path_runs_through_the_sdk_with_a_cached_prefix(llm: LocalLlm) -> None:
    manifest, _ = corpus_manifest(SHORT, REP)
    rubric = starter_rubric("hvac")
    with loopback_messages(llm, json_grammar) as api:
        client = ClaudeClient(ClaudeSettings(base_url=api.url, api_key="test-key", max_retries=0))
        dive = DeepDive(ClaudeDeepDive(client), SMALL)
        first = dive.review(manifest, rubric, "starter:hvac")
        second = dive.review(manifest.model_copy(update={"call_id": "again"}), rubric, "starter:hvac")
        client.close()
    request = api.requests[0]
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["output_config"]["format"]["type"] == "json_schema"
    assert "TRANSCRIPT" in request["messages"][0]["content"] and "TRANSCRIPT" not in request["system"][0]["text"]
    # The rubric prefix is written to the cache once, then read; only the conversation is paid each time.
    assert first.usage.cache_write_tokens > 1000 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens and second.usage.cache_write_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens < first.usage.cache_write_tokens
    for report in (first, second):
        assert report.provider == "claude" and report.model == "claude-opus-5"
        assert len(report.steps) == len(rubric.steps) and report.claims > 0
        assert_displayed_all_verify(report)
    assert assert_injections_caught(first) >= 3


def test_the_local_path_reviews_an_uploaded_call_in_the_job_queue(
    llm: LocalLlm, text_embedder: TextEmbedder, tmp_path: Path
) -> None:
    """Upload → index and deep-dive jobs → the report over HTTP, scoped to the tenant's managers."""
    kind = StoreKind(lambda: SqliteCloudStore(tmp_path / "cloud.db"), None)
    server = LoopbackServer(kind, text_embedder, deep_dive=lambda: DeepDive(LocalDeepDive(llm, choice_grammar)))
    server.start()
    try:
        assert server.store is not None and server.jobs is not None
        for tenant in ("a", "b"):
            server.store.create_tenant(tenant, tenant)
        rep = issue_token(server.store, "a", Role.REP, subject=REP)[1]
        manager = {"Authorization": f"Bearer {issue_token(server.store, 'a', Role.MANAGER, subject='dana')[1]}"}
        other = {"Authorization": f"Bearer {issue_token(server.store, 'b', Role.MANAGER, subject='eve')[1]}"}
        manifest, audio = corpus_manifest(SHORT, REP)
        with SyncClient(server.url, rep) as client:
            client.upload(manifest, audio)
        jobs = wait_for_jobs(server.jobs, "a", timeout_s=900)
        assert {(j.kind, j.status) for j in jobs} == {(JobKind.INDEX_CALL, JobStatus.DONE),
                                                      (JobKind.DEEP_DIVE, JobStatus.DONE)}, jobs  # fmt: skip
        with httpx.Client(base_url=server.url) as http:
            r = http.get(f"/v1/calls/{manifest.call_id}/report", headers=manager)
            assert r.status_code == 200, r.text
            report = Report.model_validate(r.json())
            assert http.get(f"/v1/calls/{manifest.call_id}/report", headers=other).status_code == 404
            assert http.get(f"/v1/calls/{manifest.call_id}/report", headers={"Authorization": f"Bearer {rep}"}
                            ).status_code == 403  # fmt: skip
        assert report.provider == "local" and report.rubric_ref.startswith("starter:hvac")
        assert report.claims > 0 and report.summary
        assert_displayed_all_verify(report)
        assert assert_injections_caught(report) >= 3
        # The same job again does not pay for a second review of the same rubric version.
        server.jobs.enqueue(JobKind.DEEP_DIVE, "a", manifest.call_id)
        wait_for_jobs(server.jobs, "a", timeout_s=60)
        assert server.store.report("a", manifest.call_id).created_at == report.created_at
    finally:
        server.stop()
