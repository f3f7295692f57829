"""Record the self-check references (models/references/*.json) from the provisioned models.

Run only after a provisioning you have checked by hand (listening, WER, DER): every later
provisioning is compared with what this writes.

    .venv/bin/python scripts/make_model_references.py [NAME ...]
"""

from __future__ import annotations

import argparse
import json

from models.registry import DEMO_RECORDING, default_specs, get_spec
from models.selfcheck import SelfChecker
from models.store import ModelStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="models to record (default: every default model)")
    args = parser.parse_args()
    store = ModelStore()
    checker = SelfChecker(store, record=True)
    specs = [get_spec(n) for n in args.names] or [s for s in default_specs() if s.name != DEMO_RECORDING]
    for spec in specs:
        print(spec.name, json.dumps(checker(spec, store.require(spec)))[:200])


if __name__ == "__main__":
    main()
