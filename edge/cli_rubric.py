"""`ridealong rubric import|list|show|diff|activate|export`: a tenant's rubric versions on this device.

Import never activates: it saves the next version and shows what changed against the active one, and
the author activates it after reviewing (``rubric activate``). A rubric exported, edited and imported
again names the version it was edited from, so a version saved meanwhile is a conflict, not lost work.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from edge.cli_calls import data_dir
from rubric_cache.starter import TRADES


def default_rubric_db() -> Path:
    return data_dir() / "rubrics.db"


METHODS = ("auto", "headed", "local-llm", "claude")


def add_parser(sub: Any) -> None:
    rubric = sub.add_parser("rubric", help="a tenant's rubric: import a playbook, review, activate")
    rubric.add_argument("--db", type=Path, default=default_rubric_db(), help="the rubric store (%(default)s)")
    rsub = rubric.add_subparsers(dest="rubric_command", required=True)
    imp = rsub.add_parser("import", help="extract a rubric from a playbook (or load an edited rubric JSON)")
    imp.add_argument("playbook", type=Path, help="markdown or text playbook, or a rubric .json from `export`")
    imp.add_argument("--tenant", required=True)
    imp.add_argument("--trade", default="general", help=f"the trade ({', '.join(TRADES)}, or any word)")
    imp.add_argument("--method", choices=METHODS, default="auto", help="default: a headed step list if the "
                     "playbook has one, else Claude when ANTHROPIC_API_KEY is set, else the local LLM")  # fmt: skip
    imp.add_argument("--author", default=os.environ.get("USER", "unknown"))
    imp.add_argument("--note", default="", help="what changed and why")
    imp.add_argument("--json", action="store_true", help="print the extracted rubric as JSON on stdout")
    imp.add_argument("--dry-run", action="store_true", help="extract and show, but save nothing")
    listing = rsub.add_parser("list", help="tenants and their versions (* active)")
    listing.add_argument("tenant", nargs="?")
    show = rsub.add_parser("show", help="one version (default: the active one)")
    show.add_argument("tenant")
    show.add_argument("--version", type=int)
    show.add_argument("--json", action="store_true")
    diff = rsub.add_parser("diff", help="what changed from version A to B (default B: the latest)")
    diff.add_argument("tenant")
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int, nargs="?")
    activate = rsub.add_parser("activate", help="make a version the one calls use from now on")
    activate.add_argument("tenant")
    activate.add_argument("version", type=int)
    export = rsub.add_parser("export", help="a version as JSON, to edit and import again")
    export.add_argument("tenant")
    export.add_argument("--version", type=int)
    export.add_argument("-o", "--output", type=Path)


def run(args: argparse.Namespace) -> int:
    from rubric_cache.store import RubricStore

    store = RubricStore(args.db)
    try:
        command = args.rubric_command
        if command == "import":
            return _import(store, args)
        if command == "list":
            return _list(store, args.tenant)
        if command == "show":
            return _show(store, args.tenant, args.version, args.json)
        if command == "diff":
            return _diff(store, args.tenant, args.a, args.b)
        if command == "activate":
            rubric = store.activate(args.tenant, args.version)
            print(f"tenant {args.tenant}: version {rubric.version} is active; calls from now on use it")
            return 0
        return _export(store, args.tenant, args.version, args.output)
    finally:
        store.close()


def _note(text: str) -> None:
    print(text, file=sys.stderr)


def _import(store: Any, args: argparse.Namespace) -> int:
    from rubric_cache.diff import diff

    if args.playbook.suffix.lower() == ".json":
        content, parent, source, method = _edited_rubric(args.playbook), _based_on(args.playbook), None, "edited"
    else:
        draft, method = _extract(args.playbook, args.trade, args.method)
        content, source = draft.content, draft.source_sha256
        latest = store.versions(args.tenant)
        parent = latest[-1] if latest else None
    if args.json:
        print(json.dumps(content.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        _print_steps(content)
    active = store.active(args.tenant)
    changes = diff(active.content if active else None, content).render()
    _note(f"\n{method}: {len(content.steps)} steps. Against the active version "
          f"({active.version if active else 'none'}):\n{changes}")  # fmt: skip
    if args.dry_run:
        _note("dry run: nothing saved")
        return 0
    rubric = store.create(args.tenant, content, args.author, parent, args.note, source)
    _note(f"saved as tenant {args.tenant} version {rubric.version} (not active). Review it, then: "
          f"ridealong rubric activate {args.tenant} {rubric.version}")  # fmt: skip
    return 0


def _extract(path: Path, trade: str, method: str) -> tuple[Any, str]:
    from models.claude import claude_configured
    from rubric_cache.extraction.headed import extract_headed, step_list
    from rubric_cache.playbook import read_playbook

    playbook = read_playbook(path)
    if method == "auto":
        method = "headed" if step_list(playbook) else "claude" if claude_configured() else "local-llm"
    if method == "headed":
        return extract_headed(playbook, trade), method
    if method == "claude":
        from rubric_cache.extraction.claude import extract_with_claude

        return extract_with_claude(playbook, trade), method
    from models.llm import LlmSettings
    from models.loaders import load_llm
    from models.store import ModelStore
    from rubric_cache.extraction.local_llm import extract_with_local_llm

    _note(f"reading {path.name} with the local LLM (a few minutes on a laptop)…")
    llm = load_llm(ModelStore(), settings=LlmSettings(n_ctx=4096, n_threads=max(1, (os.cpu_count() or 2))))
    local = extract_with_local_llm(playbook, trade, llm)
    if local.left_out:
        _note(f"note: {local.left_out} passages did not fit the local model's context and were not read")
    if local.dropped:
        _note(f"note: {local.dropped} steps cited no passage of the playbook and were dropped")
    return local.draft, method


def _edited_rubric(path: Path) -> Any:
    from pydantic import ValidationError

    from rubric_cache.errors import InvalidRubric
    from rubric_cache.extraction.draft import describe
    from rubric_cache.schema import RubricContent

    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRubric(f"{path} is not rubric JSON: {exc}") from exc
    try:
        return RubricContent.model_validate(raw.get("content", raw) if isinstance(raw, dict) else raw)
    except ValidationError as exc:
        raise InvalidRubric(f"{path}: {describe(exc)}") from exc


def _based_on(path: Path) -> int | None:
    raw = json.loads(path.read_text())
    based_on = raw.get("based_on_version") if isinstance(raw, dict) else None
    return int(based_on) if based_on is not None else None


def _print_steps(content: Any) -> None:
    print(f"{content.title} ({content.trade})")
    for n, s in enumerate(content.steps, 1):
        flags = ", ".join(f for f, on in (("required", s.required), ("before price", s.before_price)) if on)
        quote = f'  ← "{s.source_quote[:70]}{"…" if len(s.source_quote or "") > 70 else ""}"' if s.source_quote else ""
        print(f"{n:2d}. {s.id:<28} {s.weight:5.1%}  {flags}{quote}")


def _list(store: Any, tenant: str | None) -> int:
    tenants = [tenant] if tenant else store.tenants()
    if not tenants or not store.versions(tenants[0]):
        print("no rubrics yet: calls use their trade's starter rubric (ridealong rubric import PLAYBOOK --tenant T)")
        return 0
    for t in tenants:
        active = store.active(t)
        for r in store.history(t):
            mark = "*" if active and active.version == r.version else " "
            print(f"{mark} {t}@{r.version}  {r.created_at:%Y-%m-%d %H:%M}  {r.author:<12} "
                  f"{len(r.content.steps):2d} steps  {r.content.title}  {r.note}")  # fmt: skip
    return 0


def _show(store: Any, tenant: str, version: int | None, as_json: bool) -> int:
    from rubric_cache.errors import RubricNotFound

    rubric = store.get(tenant, version) if version else store.active(tenant)
    if rubric is None:
        raise RubricNotFound(tenant, None, store.versions(tenant))
    if as_json:
        print(rubric.model_dump_json(indent=2))
        return 0
    print(f"{rubric.ref} by {rubric.author}, {rubric.created_at:%Y-%m-%d %H:%M}, from version {rubric.parent_version}")
    _print_steps(rubric.content)
    return 0


def _diff(store: Any, tenant: str, a: int, b: int | None) -> int:
    from rubric_cache.diff import diff

    versions = store.versions(tenant)
    new = store.get(tenant, b if b is not None else (versions[-1] if versions else a))
    print(f"{tenant}: version {a} → {new.version}")
    print(diff(store.get(tenant, a).content, new.content).render())
    return 0


def _export(store: Any, tenant: str, version: int | None, output: Path | None) -> int:
    from rubric_cache.errors import RubricNotFound

    rubric = store.get(tenant, version) if version else store.active(tenant)
    if rubric is None:
        raise RubricNotFound(tenant, None, store.versions(tenant))
    text = json.dumps(
        {"tenant": tenant, "based_on_version": rubric.version, "content": rubric.content.model_dump(mode="json")},
        indent=2,
        ensure_ascii=False,
    )
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n")
        _note(f"wrote {rubric.ref} to {output}: edit it, then `ridealong rubric import {output} --tenant {tenant}`")
    return 0
