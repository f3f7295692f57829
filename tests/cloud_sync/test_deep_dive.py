"""The deep dive on real models: the Claude path through the real Anthropic SDK against a loopback
Messages API (answered by the local LLM, with prompt caching and structured output), the local path
through the cloud's job queue, and the grounding verifier catching made-up citations in both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cloud_sync.client import SyncClient
from cloud_sync.contract import CallManifest, Citation, Report
from cloud_sync.deepdive.prompt import AnswerLimits
from cloud_sync.deepdive.providers import ClaudeDeepDive, LocalDeepDive
from cloud_sync.deepdive.review import DeepDive, DeepDiveSettings, displayed
from cloud_sync.deepdive.verify import GroundingVerifier, canonical_utterances
from cloud_sync.server.jobs import JobKind, JobStatus, wait_for_jobs
from cloud_sync.server.report_view import export_report
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
from tests.conftest import ARTIFACTS, REPO

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]  # fmt: skip
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
        # The local model answering for Opus writes a review in minutes, not seconds, on two busy cores: the
        # SDK's wait is not what this test is about.
        settings = ClaudeSettings(base_url=api.url, api_key="test-key", max_retries=0, timeout_s=1800.0)
        client = ClaudeClient(settings)
        dive = DeepDive(ClaudeDeepDive(client), SMALL)
        first = dive.review(manifest, rubric, "starter:hvac")
        second = dive.review(manifest.model_copy(update={"call_id": "again"}), rubric, "starter:hvac")
        client.close()
    request = api.requests[0]
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["output_config"]["format"]["type"] == "json_schema"
    assert "TRANSCRIPT" in request["messages"][0]["content"] and "TRANSCRIPT" not in request["system"][0]["text"]
    # Everything before the conversation is the same for both calls (schema included), or the cache would miss.
    assert [(r["system"], r["output_config"]) for r in api.requests[1:]] == [
        (request["system"], request["output_config"])
    ]
    # The rubric prefix is written to the cache once, then read; only the conversation is paid each time.
    assert first.usage.cache_write_tokens > 1000 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens and second.usage.cache_write_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens < first.usage.cache_write_tokens
    for report in (first, second):
        assert report.provider == "claude" and report.model == "claude-opus-5"
        assert len(report.steps) == len(rubric.steps) and report.claims > 0
        assert_displayed_all_verify(report)
    assert assert_injections_caught(first) >= 3


@dataclass
class Reviewed:
    """A cloud on SQLite whose job queue indexed and reviewed (local model) an uploaded corpus call."""

    server: LoopbackServer
    manifest: CallManifest
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def reviewed(
    llm: LocalLlm, text_embedder: TextEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reviewed]:
    """Upload → index and deep-dive jobs → a stored report."""
    db = tmp_path_factory.mktemp("cloud") / "cloud.db"
    kind = StoreKind(lambda: SqliteCloudStore(db), None)
    server = LoopbackServer(
        kind, text_embedder, deep_dive=lambda: DeepDive(LocalDeepDive(llm, choice_grammar, text_embedder))
    )
    server.start()
    try:
        assert server.store is not None and server.jobs is not None
        for tenant in ("a", "b"):
            server.store.create_tenant(tenant, tenant)
        tokens = {
            "rep": issue_token(server.store, "a", Role.REP, subject=REP)[1],
            "manager": issue_token(server.store, "a", Role.MANAGER, subject="dana")[1],
            "b-manager": issue_token(server.store, "b", Role.MANAGER, subject="eve")[1],
        }
        manifest, audio = corpus_manifest(SHORT, REP, full_audio=True)
        with SyncClient(server.url, tokens["rep"]) as client:
            client.upload(manifest, audio)
        jobs = wait_for_jobs(server.jobs, "a", timeout_s=900)
        assert {(j.kind, j.status) for j in jobs} == {(JobKind.INDEX_CALL, JobStatus.DONE),
                                                      (JobKind.DEEP_DIVE, JobStatus.DONE)}, jobs  # fmt: skip
        yield Reviewed(server, manifest, tokens)
    finally:
        server.stop()


def test_the_local_path_reviews_an_uploaded_call_in_the_job_queue(reviewed: Reviewed) -> None:
    call_id, server = reviewed.manifest.call_id, reviewed.server
    assert server.store is not None and server.jobs is not None
    with httpx.Client(base_url=server.url) as http:
        r = http.get(f"/v1/calls/{call_id}/report", headers=reviewed.auth("manager"))
        assert r.status_code == 200, r.text
        report = Report.model_validate(r.json())
        assert http.get(f"/v1/calls/{call_id}/report", headers=reviewed.auth("b-manager")).status_code == 404
        assert http.get(f"/v1/calls/{call_id}/report", headers=reviewed.auth("rep")).status_code == 403
    assert report.provider == "local" and report.rubric_ref.startswith("starter:hvac")
    assert report.claims > 0 and report.summary
    assert_displayed_all_verify(report)
    assert assert_injections_caught(report) >= 3
    # The same job again does not pay for a second review of the same rubric version.
    server.jobs.enqueue(JobKind.DEEP_DIVE, "a", call_id)
    wait_for_jobs(server.jobs, "a", timeout_s=60)
    assert server.store.report("a", call_id).created_at == report.created_at


def test_the_report_page_in_a_real_browser(reviewed: Reviewed, tmp_path: Path) -> None:
    """Sign in, click a citation (the player seeks to its start), comment on an utterance, share the call
    to the library, and export the page; screenshots go to the test artifacts."""
    from playwright.sync_api import sync_playwright

    call_id, server = reviewed.manifest.call_id, reviewed.server
    assert server.store is not None
    shots = ARTIFACTS / "report-page"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{server.url}/calls/{call_id}")
        assert "/login" in page.url  # not signed in: sent to sign in first
        page.fill("#token", reviewed.tokens["manager"])
        page.click("#login button[type=submit]")
        page.wait_for_url(f"**/calls/{call_id}")
        page.wait_for_function("document.getElementById('player').readyState >= 1")
        assert page.locator("#rubric-version").inner_text().startswith("starter:hvac")
        page.screenshot(path=str(shots / "1-report.png"), full_page=True)

        citation = page.locator("#points button.cite, #steps button.cite").last
        start = float(citation.get_attribute("data-start") or "nan")
        clicked = citation.get_attribute("data-utterance")
        assert start > 0
        # The click's own task reads the position it set (the player then plays on from there).
        current = citation.evaluate("b => { b.click(); return document.getElementById('player').currentTime; }")
        assert current == pytest.approx(start, abs=1e-6)
        playing = page.locator(".utt.playing")
        assert playing.get_attribute("id") == f"utt-{clicked}"
        page.screenshot(path=str(shots / "2-citation-played.png"))

        line = page.locator("#utt-u004")
        line.locator("button.comment-open").click()
        line.locator("textarea").fill("Good question: it opened up the unit's history.")
        line.locator("form button[type=submit]").click()
        line.locator(".comment").wait_for()
        assert "dana" in line.locator(".comment").inner_text()
        page.screenshot(path=str(shots / "3-commented.png"))

        page.click("#share summary")
        page.fill("#share-form input[name=title]", "Finding the real problem before quoting")
        page.check("#share-form input[name=at_moment]")
        page.click("#share-form button[type=submit]")
        page.locator("#share-result a").wait_for()
        page.click("#share-result a")
        page.wait_for_url("**/library")
        entry = page.locator("#library tr.entry").first
        assert "Finding the real problem before quoting" in entry.inner_text()
        page.screenshot(path=str(shots / "4-library.png"))
        browser.close()
    comments = server.store.comments("a", call_id)
    assert [(c.utterance_id, c.author) for c in comments] == [("u004", "dana")]
    [shared] = server.store.library("a")
    assert shared.utterance_id == clicked and shared.start_ts == start  # shared from the moment last played
    # The static export: the same page with its audio beside it, no server needed.
    page_file = export_report(server.store, "a", call_id, tmp_path / "export")
    html = page_file.read_text()
    assert 'src="audio.wav"' in html and "comment-open" not in html and (tmp_path / "export" / "audio.wav").exists()
    print(f"screenshots: {sorted(str(p) for p in shots.iterdir())}")
