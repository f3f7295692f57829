"""Post-call evaluation: deep dives of labelled calls, scored against their labels.

    .venv/bin/python scripts/eval_postcall.py --split dev [--provider local|loopback|claude] [--limit N]
    .venv/bin/python scripts/eval_postcall.py --data DIR          # every *.json call in DIR

Per call and overall:
- verification rate: the model's claims that the grounding verifier passed;
- displayed verified rate: what the manager is shown, re-checked from scratch (must be 1.0);
- rubric agreement: steps shown as covered (verified) or not, against the labels' covered/skipped;
- moment coverage: labelled moments cited by a shown coaching point (the same utterance, and the same
  type within two utterances);
- rejected claims and the verifier's reasons;
- injected hallucinations caught: every true citation of a report altered three ways (an id not in
  the call, a changed quote, another speaker), each run through the verifier.

Providers: ``local`` (the local llama.cpp model, as the offline server runs it), ``loopback`` (the
Claude path through the real SDK against a loopback Messages API answered by the local model) and
``claude`` (the real API; needs ANTHROPIC_API_KEY). The last stdout line is the JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_sync.contract import Citation, Report
from cloud_sync.deepdive.review import DeepDive, displayed
from cloud_sync.deepdive.verify import GroundingVerifier, canonical_utterances
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import Call, load_call, load_split

INJECTIONS = ("wrong_id", "altered_quote", "wrong_speaker")


def inject(c: Citation, kind: str, speakers: list[str]) -> Citation:
    if kind == "wrong_id":
        return c.model_copy(update={"utterance_id": f"{c.utterance_id}x"})
    if kind == "altered_quote":
        words = c.quote.replace("...", " ").split()
        return c.model_copy(update={"quote": " ".join([*words[:3], "guaranteed", "lowest", "price"])})
    return c.model_copy(update={"speaker_id": next(s for s in speakers if s != c.speaker_id)})


def score_call(call: Call, report: Report) -> dict[str, Any]:
    manifest, _ = corpus_manifest(call, "eval")
    utterances = canonical_utterances(manifest)
    verifier = GroundingVerifier(utterances)
    steps, points, candidates = displayed(report)
    shown = [
        *(verifier.check_step(s.model_copy(update={"check": None})).check for s in steps),
        *(verifier.check_claim(p.model_copy(update={"check": None})).check for p in points),
        *(verifier.check_candidate(c.model_copy(update={"check": None})).check for c in candidates),
    ]
    shown_claims = [c for c in shown if c is not None]
    covered = {s.step_id for s in steps if s.covered}
    agree = [
        (step in covered) == (step in call.rubric.covered) for step in [*call.rubric.covered, *call.rubric.skipped]
    ]
    order = {u.id: n for n, u in enumerate(call.utterances)}
    cited = [(p.moment_type, c.utterance_id) for p in points for c in p.citations]
    exact = [m for m in call.moments if any(u == m.utterance for _, u in cited)]
    typed = [
        m for m in call.moments
        if any(t == m.type and abs(order.get(u, -99) - order[m.utterance]) <= 2 for t, u in cited)
    ]  # fmt: skip
    speakers = sorted({u.speaker_id for u in utterances})
    true_citations = [
        c for c in [*(c for s in report.steps for c in s.citations), *(c for p in report.points for c in p.citations)]
        if not verifier.citation_problems(c)
    ]  # fmt: skip
    injected = [inject(c, kind, speakers) for c in true_citations for kind in INJECTIONS]
    caught = sum(1 for c in injected if not verifier.check([c], None).verified)
    checks = [
        *(s.check for s in report.steps),
        *(p.check for p in report.points),
        *(c.check for c in report.candidates),
    ]
    rejected = [p for check in checks if check is not None and not check.verified for p in check.problems]
    return {
        "call": call.id,
        "audio_s": manifest.end_s,
        "seconds": report.seconds,
        "claims": report.claims,
        "verified": report.verified,
        "verification_rate": round(report.verification_rate, 3),
        "displayed": len(shown_claims),
        "displayed_verified": sum(1 for c in shown_claims if c.verified),
        "rubric_agreement": round(sum(agree) / len(agree), 3),
        "moments": len(call.moments),
        "moments_cited": len(exact),
        "moments_typed": len(typed),
        "rejected": rejected,
        "injected": len(injected),
        "injected_caught": caught,
        "usage": report.usage.model_dump(),
    }


REASONS = {
    "no such utterance": "unknown utterance",
    "is not what was said": "quote not said",
    "too short to show": "quote too short",
    "said at": "wrong times",
    "said by": "wrong speaker",
    "moment, but it cites": "wrong side",
    "too uncertain": "speaker unsure",
    "no citation": "uncited",
}


def reason(problem: str) -> str:
    return next((kind for text, kind in REASONS.items() if text in problem), "other")


def overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def ratio(num: str, den: str) -> float | None:
        d = sum(r[den] for r in rows)
        return round(sum(r[num] for r in rows) / d, 3) if d else None

    kinds = Counter(reason(p) for r in rows for p in r["rejected"])
    return {
        "calls": len(rows),
        "verification_rate": ratio("verified", "claims"),
        "displayed_verified_rate": ratio("displayed_verified", "displayed"),
        "injected_caught_rate": ratio("injected_caught", "injected"),
        "rubric_agreement": round(statistics.mean(r["rubric_agreement"] for r in rows), 3) if rows else None,
        "moment_coverage_exact": ratio("moments_cited", "moments"),
        "moment_coverage_typed": ratio("moments_typed", "moments"),
        "rejected_claims": sum(len(r["rejected"]) for r in rows),
        "rejected_reasons": dict(kinds.most_common(8)),
        "seconds_per_call_mean": round(statistics.mean(r["seconds"] for r in rows), 1) if rows else None,
        "cache_read_tokens": sum(r["usage"]["cache_read_tokens"] for r in rows),
        "cache_write_tokens": sum(r["usage"]["cache_write_tokens"] for r in rows),
        "paid_input_tokens": sum(r["usage"]["input_tokens"] for r in rows),
        "output_tokens": sum(r["usage"]["output_tokens"] for r in rows),
    }


@contextlib.contextmanager
def deep_dive(provider: str) -> Any:
    if provider == "claude":
        from cloud_sync.deepdive.providers import ClaudeDeepDive
        from models.claude import ClaudeClient

        client = ClaudeClient()
        yield DeepDive(ClaudeDeepDive(client))
        client.close()
        return
    from cloud_sync.deepdive.factory import DeepDiveModelSettings
    from models.llm import LlmSettings, choice_grammar, json_grammar
    from models.loaders import load_llm
    from models.store import ModelStore

    s = DeepDiveModelSettings()
    llm = load_llm(ModelStore(), s.local_model, LlmSettings(n_ctx=s.local_context_tokens, n_threads=s.local_threads))
    if provider == "local":
        from cloud_sync.deepdive.providers import LocalDeepDive
        from models.loaders import load_text_embedder

        yield DeepDive(LocalDeepDive(llm, choice_grammar, load_text_embedder(ModelStore())))
        return
    from cloud_sync.deepdive.providers import ClaudeDeepDive
    from models.claude import ClaudeClient, ClaudeSettings
    from scripts.loopback_messages import loopback_messages

    with loopback_messages(llm, json_grammar) as api:
        client = ClaudeClient(ClaudeSettings(base_url=api.url, api_key="loopback", max_retries=0))
        yield DeepDive(ClaudeDeepDive(client))
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=Path, help="a directory of labelled call JSON files")
    where.add_argument("--split", choices=["dev", "test"], help="the corpus split")
    parser.add_argument("--provider", choices=["local", "loopback", "claude"], default="local")
    parser.add_argument("--limit", type=int, help="only the first N calls")
    parser.add_argument("--out", type=Path, help="write the reports here as JSON, one per call")
    args = parser.parse_args()
    calls = load_split(args.split) if args.split else [load_call(p) for p in sorted(args.data.glob("*.json"))]
    calls = calls[: args.limit] if args.limit else calls
    rows = []
    with deep_dive(args.provider) as dive:
        for call in calls:
            manifest, _ = corpus_manifest(call, "eval")
            report = dive.review(manifest, starter_rubric(call.trade), manifest.rubric_ref or "starter")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{call.id}.json").write_text(report.model_dump_json(indent=1))
            row = score_call(call, report)
            rows.append(row)
            print(
                f"{call.id:<12} {row['audio_s']:>5.0f} s audio  {row['seconds']:>6.1f} s  claims {row['claims']:>2}"
                f"  verified {row['verification_rate']:.2f}  shown {row['displayed_verified']}/{row['displayed']}"
                f"  rubric {row['rubric_agreement']:.2f}  moments {row['moments_cited']}/{row['moments']}"
                f"  injected caught {row['injected_caught']}/{row['injected']}",
                flush=True,
            )
    print(json.dumps({"provider": args.provider, "split": args.split, "calls": rows, "overall": overall(rows)}))


if __name__ == "__main__":
    main()
