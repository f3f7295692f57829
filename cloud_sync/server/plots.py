"""The report's two plots, as inline SVG (matplotlib, no display): who talked when, and the rubric's
step scores. A glance at either says more than a paragraph."""

from __future__ import annotations

import io
from collections.abc import Sequence

from cloud_sync.contract import StepAssessment, WireUtterance

_ROLE_COLOURS = {"rep": "#2b6cb0", "customer": "#dd6b20", "other": "#38a169", "unknown": "#a0aec0"}


def _svg(fig: object) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prologue: it is inlined in HTML


def talk_timeline(utterances: Sequence[WireUtterance], end_s: float) -> str:
    """One lane per speaker, a bar per utterance; the rep's share of talk time in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speakers = list(dict.fromkeys(u.speaker_id for u in utterances))
    roles = {u.speaker_id: u.role for u in utterances}
    talk = {s: sum(u.end_ts - u.start_ts for u in utterances if u.speaker_id == s) for s in speakers}
    total = sum(talk.values()) or 1.0
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(speakers) + 0.9))
    for lane, s in enumerate(speakers):
        bars = [(u.start_ts, max(0.2, u.end_ts - u.start_ts)) for u in utterances if u.speaker_id == s]
        ax.broken_barh(bars, (lane - 0.35, 0.7), color=_ROLE_COLOURS.get(roles[s], "#718096"))
    ax.set_yticks(range(len(speakers)), [f"{s} ({roles[s]}, {100 * talk[s] / total:.0f} %)" for s in speakers])
    ax.set_xlim(0, max(end_s, 1.0))
    ax.set_xlabel("seconds into the call")
    ax.invert_yaxis()
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def rubric_bars(steps: Sequence[StepAssessment], names: dict[str, str]) -> str:
    """A bar per rubric step, 0 (missed) to 3 (strong); unverified steps drawn hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.32 * len(steps) + 0.8))
    for n, s in enumerate(steps):
        verified = s.check is None or s.check.verified
        colour = "#2f855a" if s.covered else "#c53030"
        ax.barh(n, max(s.score, 0.08), color=colour if verified else "none", edgecolor=colour)
    ax.set_yticks(range(len(steps)), [names.get(s.step_id, s.step_id) for s in steps])
    ax.set_xlim(0, 3)
    ax.set_xticks([0, 1, 2, 3], ["missed", "weak", "adequate", "strong"])
    ax.invert_yaxis()
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
