"""Load the hostile YAML corpus under a memory cap; one JSON line per file (run as a subprocess).

Usage: python -m tests.unit.hostile_yaml_driver CAP_BYTES FILE...

Each file's ``# load-as:`` and ``# env:`` header lines say how to load it. A MemoryError (the
cap reached: a guard regressed) is reported like any other outcome, never taken down the machine.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a corpus file."""
    fields: dict[str, str] = {}
    for line in path.read_bytes().decode("latin-1").splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _loaders() -> dict[str, Callable[[Path], Any]]:
    from bridge.config import load_settings
    from bridge.mapping.loader import load_mapping
    from bridge.mapping.lookups import load_lookup_file
    from bridge.mapping.yaml_source import load_yaml_file

    return {
        "mapping": load_mapping,
        "lookup": load_lookup_file,
        "cases": load_yaml_file,
        "yaml": load_yaml_file,
        "config": lambda path: load_settings(path, env={}),
    }


def main(cap: int, names: list[str]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    loaders = _loaders()
    for name in names:
        path = Path(name)
        fields = header(path)
        saved = dict(os.environ)
        if "env" in fields:
            key, _, value = fields["env"].partition("=")
            os.environ[key] = value
        try:
            loaders[fields["load-as"]](path)
            outcome = ["ok", ""]
        except MemoryError:
            outcome = ["MemoryError", ""]
        except Exception as exc:
            outcome = [type(exc).__name__, str(exc)]
        finally:
            os.environ.clear()
            os.environ.update(saved)
        print(json.dumps([path.name, *outcome]), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
