"""Fit the online speaker confidence to how often the role is right (Platt scaling), from kept eval runs.

    .venv/bin/python scripts/eval_speech.py --online-only --split dev [--calls ID,...] --keep DIR
        --data <corpus>/<condition> ...
    .venv/bin/python scripts/calibrate_speech.py DIR [--corpus ~/.cache/ridealong/corpus/neural]

Attribution turns the margin between the chosen voice and the best other option into a confidence,
``sigmoid(slope * margin + offset)``. This reads every kept call store (``<condition>-<call>.db``),
finds each online utterance's reference role, and fits ``p(role right) = sigmoid(a * logit(c) + b)``
to the stored confidences ``c`` of the turns the voice or continuity decided; the turns given by
turn-taking alone and the cross-talk (each one fixed confidence) get their observed accuracy. It prints
the reliability table before and after, and the ``AttributionSettings`` values that give the fitted
probabilities. The stores must come from the current settings (the new ones are composed with them).
Fit on the dev split only: the test split is where the fit is judged.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sklearn.linear_model import LogisticRegression

from edge.attribution import AttributionSettings
from models.store import default_home
from scripts.eval_speech import load_run
from scripts.speech_eval.labels import read_rttm
from scripts.speech_eval.metrics import reliability, utterance_role_correct

_EDGE = 1e-3  # stored confidences are rounded to 3 decimals: 1.0 means "at least 0.9995"


@dataclass
class Outcomes:
    decided: list[tuple[float, bool]] = field(default_factory=list)
    """(confidence, role right) of the online utterances the voice or continuity decided."""
    by_turn_taking: list[bool] = field(default_factory=list)
    """Role right, of each turn given by turn-taking alone."""
    cross_talk: list[bool] = field(default_factory=list)
    """Role right, of each cross-talk utterance."""


def collect(stores: Path, corpus: Path) -> Outcomes:
    out = Outcomes()
    fixed = AttributionSettings().short_piece_confidence
    for db in sorted(stores.glob("*.db")):
        condition, _, call = db.stem.partition("-")
        stem = corpus / condition / call
        roles_path = Path(f"{stem}.roles.json")
        if not roles_path.exists():
            continue  # not a corpus call: no roles to score
        run = load_run(stem.with_suffix(".wav"), stores)
        if not run.enrolled:
            continue  # unenrolled: every confidence is capped, so it says nothing of the margin
        reference, roles = read_rttm(stem.with_suffix(".rttm")), json.loads(roles_path.read_text())
        for u in run.passes["online"]:
            right = utterance_role_correct(reference, roles, u)
            if right is None:
                continue
            if u.is_cross_talk:
                out.cross_talk.append(right)
            # Turn-taking pieces carry exactly this value (a voice-decided turn rounding to it is rare).
            elif math.isclose(u.speaker_confidence, fixed):
                out.by_turn_taking.append(right)
            else:
                out.decided.append((u.speaker_confidence, right))
    return out


def logit(c: float) -> float:
    c = min(max(c, _EDGE / 2), 1 - _EDGE / 2)
    return math.log(c / (1 - c))


@dataclass(frozen=True)
class Calibration:
    a: float
    b: float
    """p(role right) = sigmoid(a * logit(stored confidence) + b)."""
    turn_taking_accuracy: float | None
    """How often a turn given by turn-taking alone had the right role (None: there were none)."""
    cross_talk_accuracy: float | None = None
    """How often cross-talk had the right role (None: there was none)."""

    def probability(self, confidence: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.a * logit(confidence) + self.b)))

    def settings(self, current: AttributionSettings) -> dict[str, float]:
        """The attribution settings that make the live confidence this fit's probability."""
        # sigmoid(a * logit(sigmoid(slope * m + offset)) + b) = sigmoid(a * slope * m + a * offset + b)
        values = {
            "confidence_slope": round(self.a * current.confidence_slope, 3),
            "confidence_offset": round(self.a * current.confidence_offset + self.b, 3),
        }
        if self.turn_taking_accuracy is not None:
            values["short_piece_confidence"] = round(self.turn_taking_accuracy, 3)
        if self.cross_talk_accuracy is not None:
            values["cross_talk_confidence"] = round(self.cross_talk_accuracy, 3)
        return values


def fit(
    decided: list[tuple[float, bool]], by_turn_taking: Sequence[bool], cross_talk: Sequence[bool] = ()
) -> Calibration:
    """Platt scaling of the voice-decided confidences; the observed accuracy of the turn-taking ones and of
    the cross-talk."""
    if len(decided) < 2 or len({ok for _, ok in decided}) < 2:
        raise ValueError(f"{len(decided)} scored utterances, all with the same outcome: nothing to fit")
    x = np.array([[logit(c)] for c, _ in decided])
    y = np.array([ok for _, ok in decided], dtype=int)
    model = LogisticRegression(C=1e6).fit(x, y)  # effectively unregularised: two parameters, many points
    return Calibration(float(model.coef_[0][0]), float(model.intercept_[0]), _share(by_turn_taking), _share(cross_talk))


def _share(outcomes: Sequence[bool]) -> float | None:
    return sum(outcomes) / len(outcomes) if outcomes else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stores", type=Path, help="the --keep directory of eval_speech runs")
    parser.add_argument("--corpus", type=Path, default=default_home() / "corpus" / "neural")
    parser.add_argument("--min-utterances", type=int, default=200, help="refuse to fit on fewer")
    args = parser.parse_args(argv)

    found = collect(args.stores, args.corpus)
    decided, by_turn_taking, cross_talk = found.decided, found.by_turn_taking, found.cross_talk
    if len(decided) < args.min_utterances:
        parser.error(f"{len(decided)} scored utterances in {args.stores}: too few to fit (--min-utterances)")
    calibration = fit(decided, by_turn_taking, cross_talk)
    current = AttributionSettings()
    before = (decided + [(current.short_piece_confidence, ok) for ok in by_turn_taking]
              + [(current.cross_talk_confidence, ok) for ok in cross_talk])  # fmt: skip
    after = (
        [(calibration.probability(c), ok) for c, ok in decided]
        + [(calibration.turn_taking_accuracy or 0.0, ok) for ok in by_turn_taking]
        + [(calibration.cross_talk_accuracy or 0.0, ok) for ok in cross_talk]
    )
    for name, pairs in (("as stored", before), ("fitted", after)):
        bins, ece = reliability(pairs)
        print(f"{name}: {len(pairs)} utterances, ECE {ece:.3f}")
        for b in bins:
            print(f"  [{b.low:.1f}, {b.high:.1f})  n={b.count:5d}  confidence {b.mean_confidence:.3f}  "
                  f"right {b.accuracy:.3f}")  # fmt: skip
    summary = {
        "utterances": len(decided),
        "turn_taking_utterances": len(by_turn_taking),
        "cross_talk_utterances": len(cross_talk),
        "platt_a": round(calibration.a, 4),
        "platt_b": round(calibration.b, 4),
        "settings": calibration.settings(current),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
