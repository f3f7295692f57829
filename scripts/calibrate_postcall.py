"""Set the local deep dive's thresholds on labelled calls: the model's probability of "yes" for every
rubric step ("did the rep do it?") and customer-side moment ("did it happen?"), against the labels.

    .venv/bin/python scripts/calibrate_postcall.py --split dev [--limit N]

Prints, per threshold, the agreement with the labels, and the best thresholds; the JSON line is last.
Use the dev split only: the test split's figures are the ones to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_sync.deepdive.factory import DeepDiveModelSettings
from cloud_sync.deepdive.prompt import AnswerLimits, answer_schema, prefix, transcript_lines
from cloud_sync.deepdive.providers import DeepDiveRequest, LocalDeepDive
from cloud_sync.deepdive.verify import canonical_utterances
from models.llm import LlmSettings, choice_grammar
from models.loaders import load_llm
from models.store import ModelStore
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_split

GRID = [round(0.05 * n, 2) for n in range(1, 20)]


def best(pairs: list[tuple[float, bool]]) -> tuple[float, float, dict[float, float]]:
    by_threshold = {t: sum((p >= t) == label for p, label in pairs) / len(pairs) for t in GRID}
    top = max(by_threshold, key=lambda t: (by_threshold[t], -abs(t - 0.5)))
    return top, by_threshold[top], by_threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev"], default="dev")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    s = DeepDiveModelSettings()
    llm = load_llm(ModelStore(), s.local_model, LlmSettings(n_ctx=s.local_context_tokens, n_threads=s.local_threads))
    local = LocalDeepDive(llm, choice_grammar)
    steps: list[tuple[float, bool]] = []
    moments: list[tuple[float, bool]] = []
    calls = load_split(args.split)[: args.limit] if args.limit else load_split(args.split)
    for call in calls:
        manifest, _ = corpus_manifest(call, "calibrate")
        rubric = starter_rubric(call.trade)
        utterances = [u for u in canonical_utterances(manifest) if u.text.strip()]
        lines = transcript_lines(manifest, utterances, 0.5)
        request = DeepDiveRequest(
            prefix(rubric), lines, answer_schema(rubric, [u.id for u in utterances], AnswerLimits()), rubric, utterances
        )
        found = local.yes_probabilities(request)
        present = {m.type for m in call.moments}
        steps += [(found[step.id], step.id in call.rubric.covered) for step in rubric.steps]
        moments += [(found[m], m in present) for m in local.settings.point_kinds]
        print(f"{call.id}: steps {[round(found[x.id], 2) for x in rubric.steps]} moments "
              f"{ {m: round(found[m], 2) for m in local.settings.point_kinds} }", flush=True)
    step_t, step_agree, step_grid = best(steps)
    moment_t, moment_agree, moment_grid = best(moments)
    print(f"steps: best threshold {step_t} (agreement {step_agree:.3f}; at 0.5: {step_grid[0.5]:.3f})")
    print(f"moments: best threshold {moment_t} (agreement {moment_agree:.3f}; at 0.5: {moment_grid[0.5]:.3f})")
    print(json.dumps({"calls": len(calls), "step_threshold": step_t, "step_agreement": round(step_agree, 3),
                      "moment_threshold": moment_t, "moment_agreement": round(moment_agree, 3),
                      "step_grid": step_grid, "moment_grid": moment_grid}))  # fmt: skip


if __name__ == "__main__":
    main()
