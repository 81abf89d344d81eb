"""Peak memory of ``bridge translate`` and ``bridge idoc show`` against the document's size.

Generates documents of about ``--size`` bytes from the repository's SAP samples, runs each
command on each in a fresh interpreter, and prints the peak resident set above the
interpreter's baseline divided by the document's size::

    .venv/bin/python bench/memory.py --size 10MB --rounds 3

Kinds of document:

``xml-many``     IDoc-XML with many ``<IDOC>`` (LOIPRO05_S4HANA_Original, the IDOC repeated, DOCNUMs counted up)
``xml-one``      IDoc-XML with ONE huge IDoc, deep: one order with its operation repeated (all
                 under one top-level segment)
``xml-one-wide`` IDoc-XML with ONE huge IDoc, wide: the order header segment repeated (many
                 top-level segments)
``flat-padded``  a flat MATMAS05 file with SAP's padded lines (1063 columns)
``flat-stripped`` the same with trailing blanks stripped (SAP's ``unpadded`` files)

How it is measured: each run is ``python -c PROBE`` which runs the command in-process and, at
its end, reads ``VmHWM`` (peak RSS) from ``/proc/self/status``. (``ru_maxrss`` of a child is not
used: Linux carries the parent's peak over ``exec``, so a large parent would show.) The baseline
is a probe that only imports the modules the same command had loaded (measured once per command
on a small document); the fixed cost of the command on a small document (mapping catalog,
definitions) is printed too, and counts against the document. Figures are medians over
``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XML_SAMPLE = ROOT / "mappings" / "sap" / "cases" / "LOIPRO05_S4HANA_Original.xml"
FLAT_SAMPLE = ROOT / "mappings" / "sap" / "cases" / "MATMAS05_3PL_material_master.idoc"
MAPPINGS = ROOT / "mappings"

PROBE = r"""
import json, os, sys

def peak_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status")

out, mode, *args = sys.argv[1:]
code = 0
if mode == "imports":
    import importlib
    for name in args:
        try:
            importlib.import_module(name)
        except Exception:
            pass
else:
    sys.argv = ["bridge", *args]
    from bridge.cli import main
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
with open(out, "w") as f:
    json.dump({"peak_kib": peak_kib(), "code": code, "modules": sorted(sys.modules)}, f)
"""


@dataclass
class Probe:
    """One probe run: peak RSS (bytes), exit code, the modules loaded, stderr."""

    peak: int
    code: int
    modules: list[str]
    stderr: str


def probe(mode: str, args: Sequence[str], *, env: dict[str, str] | None = None) -> Probe:
    """Run the probe in a fresh interpreter (stdout to /dev/null)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.json"
        err = Path(tmp) / "stderr"
        with err.open("wb") as stderr:
            subprocess.run(
                [sys.executable, "-c", PROBE, str(out), mode, *args],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                check=False,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
            )
        text = err.read_text(errors="replace")
        if not out.exists():
            raise RuntimeError(f"probe died: {text[-2000:]}")
        found = json.loads(out.read_text())
    return Probe(found["peak_kib"] * 1024, found["code"], found["modules"], text)


# -- documents ----------------------------------------------------------------------------


def xml_many(size: int) -> bytes:
    """IDoc-XML with as many copies of the sample's IDOC as fit in ``size`` (DOCNUMs counted up)."""
    text = XML_SAMPLE.read_text(encoding="utf-8")
    start, end = text.index("<IDOC "), text.rindex("</IDOC>") + len("</IDOC>")
    head, idoc, tail = text[:start], text[start:end], text[end:]
    docnum = re.search(r"<DOCNUM>(\d+)</DOCNUM>", idoc)
    assert docnum
    count = max(1, (size - len(head) - len(tail)) // (len(idoc) + 3))
    parts = [head]
    for n in range(count):
        parts.append(idoc.replace(docnum.group(0), f"<DOCNUM>{int(docnum.group(1)) + n:016d}</DOCNUM>", 1))
        parts.append("\n  ")
    parts.append(tail)
    return "".join(parts).encode()


def xml_one(size: int) -> bytes:
    """IDoc-XML with one IDoc: the sample's first operation (E1AFVOL) repeated, numbered on."""
    text = XML_SAMPLE.read_text(encoding="utf-8")
    start = text.index("<E1AFVOL SEGMENT")
    end = text.index("</E1AFVOL>", start) + len("</E1AFVOL>")
    operation = text[start:end]
    vornr = re.search(r"<VORNR>(\d+)</VORNR>", operation)
    assert vornr
    count = max(1, (size - len(text)) // (len(operation) + 9))
    copies = [
        operation.replace(vornr.group(0), f"<VORNR>{(n % 9999) + 1:04d}</VORNR>", 1) for n in range(count)
    ]
    return (text[:start] + "\n        ".join(copies) + text[end:]).encode()


def flat_matmas(size: int, *, pad: bool) -> bytes:
    """A flat MATMAS05 of about ``size`` bytes: the sample's plant + storage location lines
    repeated (own SEGNUMs, storage locations under their plant), padded or stripped."""
    control, *body = [line for line in FLAT_SAMPLE.read_text(encoding="utf-8").split("\n") if line]
    head, group, tail = body[:3], body[3:8], body[8:]
    out = [control.ljust(524) if pad else control]
    segnum = 0

    def emit(line: str, parent: int | None = None) -> int:
        nonlocal segnum
        segnum += 1
        psgnum = f"{parent:06d}" if parent is not None else line[55:61]
        line = f"{line[:49]}{segnum:06d}{psgnum}{line[61:]}"
        out.append(line.ljust(1063) if pad else line.rstrip())
        return segnum

    for line in head:
        emit(line)
    total = sum(len(line) + 1 for line in out)
    while total < size and segnum < 999_000:
        plant = emit(group[0], 1)
        for line in group[1:]:
            emit(line, plant)
        total += sum(len(line) + 1 for line in out[-5:])
    for line in tail:
        emit(line, 1)
    return ("\n".join(out) + "\n").encode()


def xml_one_wide(size: int) -> bytes:
    """IDoc-XML with one IDoc of many top-level segments: the sample's order header (E1AFKOL
    with everything under it) repeated, order numbers counted up."""
    text = XML_SAMPLE.read_text(encoding="utf-8")
    start = text.index("<E1AFKOL SEGMENT")
    end = text.index("</E1AFKOL>", start) + len("</E1AFKOL>")
    order = text[start:end]
    aufnr = re.search(r"<AUFNR>(\d+)</AUFNR>", order)
    assert aufnr
    count = max(1, (size - len(text)) // (len(order) + 5) + 1)
    copies = [order.replace(aufnr.group(0), f"<AUFNR>{int(aufnr.group(1)) + n}</AUFNR>", 1) for n in range(count)]
    return (text[:start] + "\n    ".join(copies) + text[end:]).encode()


KINDS: dict[str, Callable[[int], bytes]] = {
    "xml-many": xml_many,
    "xml-one": xml_one,
    "xml-one-wide": xml_one_wide,
    "flat-padded": lambda size: flat_matmas(size, pad=True),
    "flat-stripped": lambda size: flat_matmas(size, pad=False),
}
SUFFIX = {"xml-many": ".xml", "xml-one": ".xml", "xml-one-wide": ".xml", "flat-padded": ".idoc", "flat-stripped": ".idoc"}
COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "translate": lambda path: ["translate", "--mappings", str(MAPPINGS), str(path)],
    "idoc show": lambda path: ["idoc", "show", str(path)],
}


def write_document(kind: str, size: int, folder: Path) -> Path:
    """The document of ``kind`` of about ``size`` bytes, written into ``folder``."""
    path = folder / f"{kind}{SUFFIX[kind]}"
    path.write_bytes(KINDS[kind](size))
    return path


@dataclass
class Measure:
    """Peak RSS above the imports-only baseline, for one command on one document."""

    command: str
    kind: str
    size: int
    baseline: int  # imports only
    fixed: int  # the command on a small document, above the baseline
    above: list[int]  # per round, above the baseline

    @property
    def ratio(self) -> float:
        return statistics.median(self.above) / self.size


def baseline(command: str, small: Path) -> tuple[int, int]:
    """(imports-only peak, the command's peak on ``small``) for ``command``."""
    run = probe("run", COMMANDS[command](small))
    if run.code:
        raise RuntimeError(f"{command} fails on {small.name}: {run.stderr[-2000:]}")
    imports = probe("imports", run.modules)
    return imports.peak, run.peak


def measure(command: str, path: Path, *, rounds: int = 3, base: tuple[int, int] | None = None) -> Measure:
    """Run ``command`` on ``path`` ``rounds`` times, each in a fresh interpreter."""
    kind = path.stem
    imports, small = base or baseline(command, path.parent / "small.xml")
    above = []
    for _ in range(rounds):
        run = probe("run", COMMANDS[command](path))
        if run.code:
            raise RuntimeError(f"{command} fails on {path.name}: {run.stderr[-2000:]}")
        above.append(run.peak - imports)
    return Measure(command, kind, path.stat().st_size, imports, small - imports, above)


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(|k|kb|m|mb|mib)", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 10MB)")
    factor = {"": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "mib": 2**20}[match.group(2)]
    return int(float(match.group(1)) * factor)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=_size, default=_size("10MB"), help="document size (default 10MB)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per command and document (median)")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="only these kinds")
    parser.add_argument("--command", action="append", choices=sorted(COMMANDS), help="only these commands")
    parser.add_argument("--bound", type=float, default=10.0, help="exit 1 when a ratio reaches this")
    args = parser.parse_args(argv)
    kinds = args.kind or list(KINDS)
    commands = args.command or list(COMMANDS)
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        small = folder / "small.xml"
        small.write_bytes(XML_SAMPLE.read_bytes())
        bases = {command: baseline(command, small) for command in commands}
        for command in commands:
            imports, fixed = bases[command]
            print(
                f"{command}: baseline (imports only) {imports / 2**20:.1f} MiB; "
                f"on the {small.stat().st_size // 1000} kB sample +{(fixed - imports) / 2**20:.1f} MiB"
            )
        print(f"{'command':<10} {'document':<14} {'size':>9} {'peak above baseline':>20} {'x size':>7}  rounds")
        for kind in kinds:
            path = write_document(kind, args.size, folder)
            for command in commands:
                m = measure(command, path, rounds=args.rounds, base=bases[command])
                worst = max(worst, m.ratio)
                rounds = " ".join(f"{a / m.size:.1f}" for a in m.above)
                print(
                    f"{command:<10} {kind:<14} {m.size / 1e6:>7.1f}MB "
                    f"{statistics.median(m.above) / 2**20:>16.1f} MiB {m.ratio:>7.2f}  {rounds}"
                )
            path.unlink()
    print(f"worst: {worst:.2f} x the document's size (bound {args.bound})")
    return 1 if worst >= args.bound else 0


if __name__ == "__main__":
    sys.exit(main())
