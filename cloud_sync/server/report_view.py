"""Everything the manager's report page shows, gathered from the store and rendered with Jinja2: served
live by the cloud (``pages``) and exported as a static page with its audio (``export_report``)."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from cloud_sync.contract import CallManifest, Claim, Comment, Report, StepAssessment, TaxonomyCandidate, WireUtterance
from cloud_sync.deepdive.review import RubricSource, displayed
from cloud_sync.deepdive.verify import spoken_utterances
from cloud_sync.server.plots import rubric_bars, talk_timeline
from cloud_sync.server.store import CloudStore, NotFound
from rubric_cache.errors import RubricError

UNSURE_BELOW = 0.5
"""Speaker labels less sure than this are marked on the transcript (the verifier's threshold)."""

templates = Environment(loader=PackageLoader("cloud_sync.server", "templates"), autoescape=select_autoescape())


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


templates.filters["clock"] = clock


@dataclass(frozen=True)
class Unverified:
    """A claim the verifier rejected: shown apart, with why, never as coaching."""

    what: str
    text: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ReportView:
    manifest: CallManifest
    report: Report | None
    step_names: dict[str, str]
    steps: list[StepAssessment]
    points: list[Claim]
    candidates: list[TaxonomyCandidate]
    unverified: list[Unverified]
    comments: dict[str, list[Comment]]
    utterances: tuple[WireUtterance, ...]
    timeline_svg: str
    rubric_svg: str
    audio_url: str
    static: bool

    @property
    def unsure_below(self) -> float:
        return UNSURE_BELOW


def report_view(store: CloudStore, tenant: str, call_id: str, audio_url: str, static: bool = False) -> ReportView:
    manifest = store.manifest(tenant, call_id)
    try:
        report: Report | None = store.report(tenant, call_id)
    except NotFound:
        report = None
    names: dict[str, str] = {}
    if report is not None:
        try:
            rubric = RubricSource(store.rubrics).by_ref(tenant, report.rubric_ref)
            names = {s.id: s.name for s in rubric.steps}
        except RubricError:
            pass  # the version is gone from this store: the page shows the step ids
    steps, points, candidates = displayed(report) if report is not None else ([], [], [])
    unverified = []
    if report is not None:
        for s in report.steps:
            if s.check is not None and not s.check.verified:
                unverified.append(Unverified(f"step {names.get(s.step_id, s.step_id)}", s.reasoning, s.check.problems))
        for p in report.points:
            if p.check is not None and not p.check.verified:
                unverified.append(Unverified(f"{p.kind} point", p.text, p.check.problems))
        for c in report.candidates:
            if c.check is not None and not c.check.verified:
                unverified.append(Unverified("moment type idea", f"{c.name}: {c.description}", c.check.problems))
    comments: dict[str, list[Comment]] = {}
    for comment in store.comments(tenant, call_id):
        comments.setdefault(comment.utterance_id, []).append(comment)
    spoken = spoken_utterances(manifest)
    return ReportView(
        manifest=manifest,
        report=report,
        step_names=names,
        steps=list(steps),
        points=list(points),
        candidates=list(candidates),
        unverified=unverified,
        comments=comments,
        utterances=spoken,
        timeline_svg=talk_timeline(spoken, manifest.end_s),
        rubric_svg=rubric_bars(report.steps, names) if report is not None else "",
        audio_url=audio_url,
        static=static,
    )


def render_report(view: ReportView) -> str:
    return templates.get_template("report.html").render(v=view)


def wav_bytes(pcm: bytes, rate_hz: int) -> bytes:
    """The call's audio (16-bit mono PCM) as a WAV file a browser plays and seeks."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm)
    return out.getvalue()


def export_report(store: CloudStore, tenant: str, call_id: str, out: Path) -> Path:
    """A static copy of the report page: ``out/index.html`` beside ``out/audio.wav``."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = store.manifest(tenant, call_id)
    (out / "audio.wav").write_bytes(wav_bytes(store.audio(tenant, call_id), manifest.audio.rate_hz))
    page = out / "index.html"
    page.write_text(render_report(report_view(store, tenant, call_id, "audio.wav", static=True)))
    return page
