"""Deep-dive cost on this machine: how long the local model takes on a 10-minute call, and what the
Claude path's prompt cache saves.

    .venv/bin/python scripts/bench_deepdive.py [--skip-claude-path]

1. Local: two dev calls of one trade joined into one call of about ten minutes (their utterances
   renumbered, the second's times shifted), reviewed by the local llama.cpp model as the offline server
   does: seconds, parts, tokens.
2. Claude path: two dev calls reviewed in turn through the real Anthropic SDK against the loopback
   Messages API (answered by the local model): prompt tokens written to the cache, read from it, and
   paid at the full rate, per call. Tokens are counted by the local model's tokenizer.

The JSON line is last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_sync.contract import CallManifest
from cloud_sync.deepdive.factory import DeepDiveModelSettings
from cloud_sync.deepdive.prompt import conversation, prefix, transcript_lines
from cloud_sync.deepdive.providers import ClaudeDeepDive, LocalDeepDive, LocalDeepDiveSettings
from cloud_sync.deepdive.review import DeepDive
from cloud_sync.deepdive.verify import spoken_utterances
from models.claude import ClaudeClient, ClaudeSettings
from models.llm import LlmSettings, LocalLlm, choice_grammar, json_grammar
from models.loaders import load_llm, load_text_embedder
from models.store import ModelStore
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_split
from scripts.loopback_messages import loopback_messages


def ten_minute_call() -> tuple[CallManifest, str]:
    dev = load_split("dev")
    first = next(c for c in dev if c.id == "hvac-01")
    second = next(c for c in dev if c.id == "hvac-02")
    a, _ = corpus_manifest(first, "bench")
    b, _ = corpus_manifest(second, "bench")
    shift = a.end_s + 2.0
    moved = tuple(
        u.model_copy(update={"id": f"b{u.id}", "start_ts": round(u.start_ts + shift, 2),
                             "end_ts": round(u.end_ts + shift, 2)})
        for u in b.utterances
    )  # fmt: skip
    joined = a.model_copy(update={"call_id": "ten-minutes", "utterances": a.utterances + moved,
                                  "end_s": round(shift + b.end_s, 2)})  # fmt: skip
    return joined, "hvac"


def local_ten_minutes(llm: LocalLlm) -> dict[str, object]:
    manifest, trade = ten_minute_call()
    local = LocalDeepDive(llm, choice_grammar, load_text_embedder(ModelStore()))
    report = DeepDive(local).review(manifest, starter_rubric(trade), "starter:hvac")
    return {
        "audio_s": manifest.end_s,
        "utterances": len(manifest.utterances),
        "seconds": report.seconds,
        "claims": report.claims,
        "verified": report.verified,
        "usage": report.usage.model_dump(),
    }


def prompt_split(llm: LocalLlm) -> list[dict[str, object]]:
    """The Claude path's prompt, split as the loopback's usage counts it (cached prefix, paid rest), without
    generating: the split depends on the prompt alone."""
    chat = LocalDeepDiveSettings()
    cached: set[str] = set()
    rows = []
    for call in [c for c in load_split("dev") if c.id in ("hvac-01", "hvac-02")]:
        manifest, _ = corpus_manifest(call, "bench")
        rubric_prefix = prefix(starter_rubric(call.trade))
        primed = len(llm.tokenize(f"{chat.chat_open}{rubric_prefix}{chat.chat_user}", add_bos=True))
        lines = transcript_lines(manifest, spoken_utterances(manifest), 0.5)
        paid = len(llm.tokenize(conversation(lines) + chat.chat_assistant))
        hit = rubric_prefix in cached
        cached.add(rubric_prefix)
        rows.append({"call": call.id, "audio_s": manifest.end_s, "cache_write_tokens": 0 if hit else primed,
                     "cache_read_tokens": primed if hit else 0, "input_tokens": paid})  # fmt: skip
    return rows


def claude_path_cache(llm: LocalLlm) -> list[dict[str, object]]:
    rows = []
    with loopback_messages(llm, json_grammar) as api:
        # The local model writes the whole review as one JSON answer here: minutes, not Claude's seconds.
        client = ClaudeClient(ClaudeSettings(base_url=api.url, api_key="loopback", max_retries=0, timeout_s=1800))
        dive = DeepDive(ClaudeDeepDive(client))
        for call in [c for c in load_split("dev") if c.id in ("hvac-01", "hvac-02")]:
            manifest, _ = corpus_manifest(call, "bench")
            report = dive.review(manifest, starter_rubric(call.trade), manifest.rubric_ref or "starter")
            rows.append({"call": call.id, "seconds": report.seconds, **report.usage.model_dump(),
                         "claims": report.claims, "verified": report.verified})  # fmt: skip
        client.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-claude-path", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--tokens-only", action="store_true", help="the Claude path's prompt split, no generation")
    args = parser.parse_args()
    s = DeepDiveModelSettings()
    llm = load_llm(ModelStore(), s.local_model, LlmSettings(n_ctx=s.local_context_tokens, n_threads=s.local_threads))
    if args.tokens_only:
        split = prompt_split(llm)
        for row in split:
            print(f"{row['call']}: cache write {row['cache_write_tokens']}, cache read {row['cache_read_tokens']}, "
                  f"paid {row['input_tokens']} prompt tokens")  # fmt: skip
        print(json.dumps({"prompt_split": split}))
        return
    local = {} if args.skip_local else local_ten_minutes(llm)
    if local:
        print(f"local deep dive of a {local['audio_s']:.0f} s call ({local['utterances']} utterances): "
              f"{local['seconds']} s, {local['verified']} of {local['claims']} claims verified, {local['usage']}",
              flush=True)  # fmt: skip
    claude = [] if args.skip_claude_path else claude_path_cache(llm)
    for row in claude:
        print(f"claude path, {row['call']}: cache write {row['cache_write_tokens']}, "
              f"cache read {row['cache_read_tokens']}, paid {row['input_tokens']}, "
              f"output {row['output_tokens']} tokens; {row['seconds']} s", flush=True)  # fmt: skip
    print(json.dumps({"local_ten_minutes": local, "claude_path": claude}))


if __name__ == "__main__":
    main()
