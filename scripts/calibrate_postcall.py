"""Set the local deep dive's thresholds on labelled calls: for every rubric step, the similarity of the
rep utterance most like it ("covered" in the labels or not), and for every customer-side moment type,
of the customer utterance most like it (labelled in the call or not).

    .venv/bin/python scripts/calibrate_postcall.py [--split dev]

Prints the agreement with the labels per threshold and the best thresholds; the JSON line is last.
Only the dev split: the test split's figures are the ones to report. Embeddings only (no LLM): the
whole split takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_sync.deepdive.prompt import AnswerLimits, answer_schema, prefix, transcript_lines
from cloud_sync.deepdive.providers import DeepDiveRequest, LocalDeepDive
from cloud_sync.deepdive.verify import spoken_utterances
from models.loaders import load_text_embedder
from models.store import ModelStore
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_split

GRID = [round(0.2 + 0.02 * n, 2) for n in range(31)]


def best(pairs: list[tuple[float, bool]]) -> tuple[float, dict[float, float]]:
    by_threshold = {t: round(sum((p >= t) == label for p, label in pairs) / len(pairs), 3) for t in GRID}
    return max(by_threshold, key=lambda t: (by_threshold[t], -t)), by_threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev"], default="dev")
    args = parser.parse_args()
    local = LocalDeepDive(llm=None, choice_grammar=lambda labels: "", embedder=load_text_embedder(ModelStore()))
    steps: list[tuple[float, bool]] = []
    moments: list[tuple[float, bool]] = []
    calls = load_split(args.split)
    for call in calls:
        manifest, _ = corpus_manifest(call, "calibrate")
        rubric = starter_rubric(call.trade)
        utterances = list(spoken_utterances(manifest))
        lines = transcript_lines(manifest, utterances, 0.5)
        schema = answer_schema(rubric, AnswerLimits())
        found = local.evidence(DeepDiveRequest(prefix(rubric), lines, schema, rubric, utterances))
        present = {m.type for m in call.moments}
        steps += [(found[step.id][0], step.id in call.rubric.covered) for step in rubric.steps]
        moments += [(found[m][0], m in present) for m in local.settings.point_kinds]
    step_t, step_grid = best(steps)
    moment_t, moment_grid = best(moments)
    covered = sum(label for _, label in steps) / len(steps)
    present = sum(label for _, label in moments) / len(moments)
    print(f"steps: {len(steps)}, {covered:.2f} covered; best threshold {step_t}, agreement {step_grid[step_t]}"
          f" (calling every step covered: {covered:.3f})")  # fmt: skip
    print(f"moments: {len(moments)}, {present:.2f} present; best threshold {moment_t}, agreement "
          f"{moment_grid[moment_t]} (calling none present: {1 - present:.3f})")  # fmt: skip
    print(json.dumps({"calls": len(calls), "step_threshold": step_t, "step_agreement": step_grid[step_t],
                      "steps_covered_share": round(covered, 3), "moment_threshold": moment_t,
                      "moment_agreement": moment_grid[moment_t], "moments_present_share": round(present, 3),
                      "step_grid": step_grid, "moment_grid": moment_grid}))  # fmt: skip


if __name__ == "__main__":
    main()
