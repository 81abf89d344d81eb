"""Fuzz the SAP decoders and the offline translate path for a bounded time.

Each case is one byte string, made from a seed file (``tests/data/sap/**``,
``tests/data/hostile/**``, ``mappings/sap/cases/*``) by one to four structure-aware mutations:
byte flips, inserts and deletes, truncation, splices of elements or lines from another seed,
duplicated, deleted and deeply nested elements, hostile field values (huge and odd numbers, SAP
placeholder dates, superscript and fullwidth digits, CJK, XML specials), mixed content, entity
and character references, encoding declarations, re-encoding as UTF-16/32, BOMs, NULs, DTDs,
SOAP envelopes, and for flat files line ends, column overwrites and code pages.

Each case runs, in a worker process, through what ``bridge translate`` does in-process:
``SapCodec().decode`` (with the test WE60 definitions, sometimes with ``encoding``) then the
mapping chosen from the repository's ``mappings/`` and the JSON rendering of each envelope, plus
``SapCodec().decode_idocs`` with a warning callback and the codec sniffing.

A finding is any exception that is not a ``BridgeError``, a ``BridgeError`` (or a warning) whose
text has a newline, a worker that dies (signal, out of memory under ``--memory-mb``), or a case
that takes longer than ``--case-timeout`` seconds (the worker is killed and restarted). Each
finding's input is saved under ``--findings`` (``<kind>-<sha1>.bin`` plus a ``.txt`` with the
error); the summary gives cases run, seconds, cases/s and the findings by type. Exit 1 on findings.

Why not atheris: it installs here, but libFuzzer stops at the first crash and at the first
timeout, a per-case time bound cannot interrupt lxml's C code from inside the process, and
byte-level coverage feedback reaches the XML/flat structure slowly. This loop is random but
structure-aware, keeps the run going after findings, bounds every case from outside the
process, and feeds inputs with a new kind of outcome back into its pool.

Usage: python bench/fuzz_decoders.py [--seconds 60] [--seed N] [--jobs 1] [--findings DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import random
import re
import resource
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_DIRS = (ROOT / "tests" / "data" / "sap", ROOT / "tests" / "data" / "hostile", ROOT / "mappings" / "sap" / "cases")
DEFINITIONS = ROOT / "tests" / "data" / "sap" / "we60"
MAX_CASE_BYTES = 2_000_000

# -- mutations --------------------------------------------------------------------------------

HOSTILE_VALUES = [
    "9" * 40,
    "1234567890123456789012345678901234567890.5",
    "0.1234567890123456789012345678901",
    "1e-9999999",
    "1e999999",
    "1e9999999",
    "-1E+99999999999999999999",
    "-5-",
    "+5-",
    "5--",
    "1 5",
    "¹",
    "²³",
    "00000²",
    "１２３",
    "١٢٣",
    "NaN",
    "-Infinity",
    "inf",
    "-0",
    ".",
    "-",
    "1,5",
    "1.2.3",
    "0x10",
    "99991231",
    "00000000",
    "240000",
    "235960",
    "99999999",
    "20240230",
    "2024-03-15",
    "20240315101500",
    "0",
    "000000000000000000001",
    "A" * 300,
    "装配篮子",
    "小心轻放 焊接",
    "\u200b",
    "\ufeff",
    "&amp;&lt;&gt;&quot;&apos;",
    "&#0;",
    "&#x10FFFF;",
    "&#xD800;",
    "&undefined;",
    "<![CDATA[1<2]]>",
    "<!-- c -->5",
    "<?pi x?>7",
    "208277437<B>9</B>",
    "a<B/>b",
    "  leading",
    "\t",
    "x" * 70000,
]
ENCODING_DECLARATIONS = [
    b"UTF-8",
    b"utf-16",
    b"UTF-16LE",
    b"UTF-32",
    b"ISO-8859-1",
    b"GBK",
    b"GB18030",
    b"Shift_JIS",
    b"cp037",
    b"EBCDIC-US",
    b"ascii",
    b"bogus-codec",
    b"",
]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xef\xbb\xbf" * 2]
REENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "gbk", "latin-1", "cp037"]
JUNK = [
    b"\x00",
    b"\x00\x00\x00\x00",
    b"\xff",
    b"\x80",
    b"\r",
    b"\n",
    b"\r\n",
    b"<",
    b">",
    b"&",
    b"]]>",
    b"</",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"<!ENTITY e SYSTEM 'file:///etc/passwd'>",
    b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>',
    b"&e;",
    b"<?xml version='1.0'?>",
    b"EDI_DC40",
    b"EDI_DC40  ",
    b"E2",
    b"\xe8\xa3\x85",
    b"\xc2\xb2",
]
SEGMENT_TAGS = [b"E1AFKOL", b"E1MARAM", b"E1AFPOL", b"E1JSTKL", b"_-RB04_-YP3_E1EDK01_XML", b"E1BATMAS", b"ZZ1", b"IDOC", b"EDI_DC40"]

_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>([^<]*)</\1>")
_OPEN_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)(\s[^<>]*)?>")
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>")


@dataclass
class Mutator:
    rng: random.Random
    pool: list[bytes]

    def other(self) -> bytes:
        return self.rng.choice(self.pool)

    def pos(self, data: bytes) -> int:
        return self.rng.randrange(len(data) + 1)

    # byte level
    def flip(self, data: bytes) -> bytes:
        if not data:
            return data
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(buf))
            buf[i] = self.rng.choice([buf[i] ^ (1 << self.rng.randrange(8)), self.rng.randrange(256)])
        return bytes(buf)

    def insert_junk(self, data: bytes) -> bytes:
        at = self.pos(data)
        return data[:at] + self.rng.choice(JUNK) * self.rng.choice([1, 1, 2, 17]) + data[at:]

    def delete_range(self, data: bytes) -> bytes:
        if not data:
            return data
        at = self.rng.randrange(len(data))
        return data[:at] + data[at + self.rng.randint(1, 64) :]

    def truncate(self, data: bytes) -> bytes:
        return data[: self.pos(data)]

    def splice(self, data: bytes) -> bytes:
        other = self.other()
        start = self.rng.randrange(len(other) + 1)
        chunk = other[start : start + self.rng.randint(1, 2000)]
        at = self.pos(data)
        return data[:at] + chunk + data[at + self.rng.choice([0, 0, len(chunk)]) :]

    def crossover(self, data: bytes) -> bytes:
        other = self.other()
        return data[: self.pos(data)] + other[self.rng.randrange(len(other) + 1) :]

    # XML structure
    def _elements(self, data: bytes) -> list[re.Match[bytes]]:
        return list(_ELEMENT.finditer(data, 0, min(len(data), 200_000)))

    def hostile_value(self, data: bytes) -> bytes:
        found = self._elements(data)
        if not found:
            return self.insert_junk(data)
        for m in self.rng.sample(found, min(len(found), self.rng.randint(1, 3))):
            value = self.rng.choice(HOSTILE_VALUES).encode("utf-8")
            data = data[: m.start(2)] + value + data[m.end(2) :]
            break  # offsets move: one replacement per call, calls are stacked
        return data

    def _segment_span(self, data: bytes) -> tuple[int, int] | None:
        """The span of some element with a closing tag (a segment or a field)."""
        opens = list(_OPEN_TAG.finditer(data, 0, min(len(data), 200_000)))
        self.rng.shuffle(opens)
        for m in opens[:20]:
            name = m.group(1)
            close = data.find(b"</" + name + b">", m.end())
            if close != -1:
                return m.start(), close + len(name) + 3
        return None

    def duplicate_element(self, data: bytes) -> bytes:
        span = self._segment_span(data)
        if span is None:
            return self.splice(data)
        a, b = span
        return data[:b] + data[a:b] * self.rng.choice([1, 1, 2, 50]) + data[b:]

    def delete_element(self, data: bytes) -> bytes:
        span = self._segment_span(data)
        if span is None:
            return self.delete_range(data)
        a, b = span
        return data[:a] + data[b:]

    def splice_element(self, data: bytes) -> bytes:
        span = self._segment_span(self.other())
        target = self._segment_span(data)
        if span is None or target is None:
            return self.splice(data)
        chunk = self.other()
        span = self._segment_span(chunk)
        if span is None:
            return self.splice(data)
        at = self.rng.choice(target)
        return data[:at] + chunk[span[0] : span[1]] + data[at:]

    def nest(self, data: bytes) -> bytes:
        span = self._segment_span(data)
        if span is None:
            return data
        depth = self.rng.choice([2, 10, 100, 200, 250, 255, 260, 600])
        tag = self.rng.choice(SEGMENT_TAGS)
        attr = self.rng.choice([b"", b' SEGMENT="1"'])
        a, b = span
        return data[:a] + (b"<" + tag + attr + b">") * depth + data[a:b] + (b"</" + tag + b">") * depth + data[b:]

    def mixed_content(self, data: bytes) -> bytes:
        found = self._elements(data)
        if not found:
            return data
        m = self.rng.choice(found)
        inner = self.rng.choice([b"<B>9</B>", b"<B/>", b"<B SEGMENT='1'><C>1</C></B>", b"x<B>9</B>y"])
        if self.rng.random() < 0.5:
            return data[: m.end(2)] + inner + data[m.end(2) :]  # child element inside a field
        return data[: m.start()] + b"stray text " + data[m.start() :]  # text between elements

    def attributes(self, data: bytes) -> bytes:
        opens = list(_OPEN_TAG.finditer(data, 0, min(len(data), 200_000)))
        if not opens:
            return data
        m = self.rng.choice(opens)
        attr = self.rng.choice(
            [b' SEGMENT="1"', b' SEGMENT=""', b' SEGMENT="x"', b' BEGIN="1"', b' xmlns="urn:x"', b' a="&lt;"', b' x:y="1"', b" SEGMENT='1' SEGMENT='2'"]
        )
        end = m.end() - 1 if not data[: m.end()].endswith(b"/>") else m.end() - 2
        return data[:end] + attr + data[end:]

    def namespace(self, data: bytes) -> bytes:
        choice = self.rng.randrange(3)
        if choice == 0:
            return data.replace(b"<", b"<n:", 40).replace(b"</n:", b"</", 0)
        if choice == 1:
            return re.sub(rb"<(/?)([A-Za-z_])", rb"<\1ns0:\2", data, count=self.rng.randint(1, 200))
        return data.replace(b' xmlns="urn:sap-com:document:sap:idoc:soap:messages"', b"", 1)

    def soap_envelope(self, data: bytes) -> bytes:
        body = _DECLARATION.sub(b"", data, count=1)
        ns = self.rng.choice([b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope"])
        return b'<s:Envelope xmlns:s="' + ns + b'"><s:Header/><s:Body>' + body + b"</s:Body></s:Envelope>"

    def declaration(self, data: bytes) -> bytes:
        encoding = self.rng.choice(ENCODING_DECLARATIONS)
        decl = b'<?xml version="1.0" encoding="' + encoding + b'"?>' if encoding else b'<?xml version="1.1"?>'
        if _DECLARATION.search(data[:200]):
            return _DECLARATION.sub(decl, data, count=1)
        return decl + data

    def reencode(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace")
        codec = self.rng.choice(REENCODINGS)
        if self.rng.random() < 0.5:
            name = {"cp037": "EBCDIC-US"}.get(codec, codec.upper())
            text = re.sub(r'encoding="[^"]*"', f'encoding="{name}"', text, count=1)
        return text.encode(codec, "replace")

    def bom(self, data: bytes) -> bytes:
        return self.rng.choice(BOMS) + data

    def nuls(self, data: bytes) -> bytes:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            buf.insert(self.rng.randrange(len(buf) + 1), 0)
        return bytes(buf)

    def entities(self, data: bytes) -> bytes:
        refs = [b"&#0;", b"&#1;", b"&#x1F;", b"&#xFFFE;", b"&#x110000;", b"&#99999999999;", b"&amp;", b"&lt;", b"&bogus;", b"&#xD800;", b"&#9;", b"&#13;", b"&#65;"]
        found = self._elements(data)
        if not found:
            return self.insert_junk(data)
        m = self.rng.choice(found)
        return data[: m.start(2)] + self.rng.choice(refs) + data[m.start(2) :]

    def dtd(self, data: bytes) -> bytes:
        bomb = (
            b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        )
        choice = self.rng.choice([bomb, b'<!DOCTYPE x SYSTEM "file:///etc/passwd">', b"<!doctype x>", b"<!DOCTYPE\n x>"])
        m = _DECLARATION.search(data[:200])
        at = m.end() if m else 0
        return data[:at] + choice + data[at:]

    def huge_number(self, data: bytes) -> bytes:
        found = self._elements(data)
        number = self.rng.choice([b"9" * self.rng.choice([29, 40, 1000, 5000]), b"1e" + b"9" * self.rng.randint(5, 30), b"0." + b"0" * 5000 + b"1"])
        if not found:
            return data + number
        m = self.rng.choice(found)
        return data[: m.start(2)] + number + data[m.end(2) :]

    def retag(self, data: bytes) -> bytes:
        values = [b"LOIPRO05", b"LOIPRO01", b"MATMAS05", b"BATMAS03", b"ORDERS05", b"ZBRTEST01", b"NOPE99", b"", b"X" * 40]
        for field in (b"IDOCTYP", b"CIMTYP", b"MESTYP", b"DOCNUM", b"CREDAT", b"CRETIM", b"SNDPRN"):
            if field in data and self.rng.random() < 0.4:
                return re.sub(rb"<" + field + rb">[^<]*</" + field + rb">", b"<" + field + b">" + self.rng.choice(values) + b"</" + field + b">", data, count=1)
        return data

    # flat structure
    def _lines(self, data: bytes) -> list[bytes]:
        return data.split(b"\n")

    def flat_lines(self, data: bytes) -> bytes:
        lines = self._lines(data)
        if len(lines) < 2:
            return self.crossover(data)
        op = self.rng.randrange(6)
        i = self.rng.randrange(len(lines))
        if op == 0:
            lines.insert(i, lines[self.rng.randrange(len(lines))])
        elif op == 1:
            del lines[i]
        elif op == 2:
            j = self.rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            other = self._lines(self.other())
            lines.insert(i, self.rng.choice(other))
        elif op == 4:
            lines[i] = lines[i][: self.rng.randrange(len(lines[i]) + 1)]
        else:
            lines[i] = lines[i].rstrip() if self.rng.random() < 0.5 else lines[i] + b" " * self.rng.randint(1, 2000)
        return b"\n".join(lines)

    def flat_columns(self, data: bytes) -> bytes:
        lines = self._lines(data)
        i = self.rng.randrange(len(lines))
        line = lines[i]
        col = self.rng.choice([0, 10, 30, 33, 39, 45, 51, 55, 61, 63, 100, 250, 380, 390, 524, self.rng.randrange(len(line) + 1)])
        value = self.rng.choice(HOSTILE_VALUES).encode(self.rng.choice(["utf-8", "utf-8", "gbk"]), "replace")[:60]
        lines[i] = line[:col] + value + line[col + len(value) :]
        return b"\n".join(lines)

    def line_ends(self, data: bytes) -> bytes:
        ending = self.rng.choice([b"\r\n", b"\r", b"\n\n", b"\x85", b"\r\r\n"])
        if self.rng.random() < 0.5:
            return data.replace(b"\n", ending)
        return data.replace(b"\n", ending, self.rng.randint(1, 5))

    def mutate(self, data: bytes) -> bytes:
        xml = data.lstrip()[:1] == b"<" or b"</" in data[:2000]
        common = [self.flip, self.insert_junk, self.delete_range, self.truncate, self.splice, self.crossover, self.bom, self.nuls, self.reencode, self.huge_number]
        structural = (
            [self.hostile_value] * 4
            + [self.duplicate_element, self.delete_element, self.splice_element, self.nest, self.mixed_content, self.attributes]
            + [self.namespace, self.soap_envelope, self.declaration, self.entities, self.dtd, self.retag]
            if xml
            else [self.flat_lines, self.flat_lines, self.flat_columns, self.flat_columns, self.flat_columns, self.line_ends]
        )
        for _ in range(self.rng.choice([1, 1, 1, 2, 2, 3, 4])):
            operation = self.rng.choice(structural * 2 + common)
            data = operation(data)
            if len(data) > MAX_CASE_BYTES:
                data = data[:MAX_CASE_BYTES]
        return data


# -- the worker -------------------------------------------------------------------------------

ENCODING_OPTIONS = [None, None, None, None, "gbk", "latin-1", "8400", "shift_jis"]


def _worker(conn: Connection, memory_mb: int) -> None:
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(10_000)
    from adapters.sap.codec import SapCodec
    from bridge.codecs import sniff_codec
    from bridge.errors import BridgeError
    from bridge.mapping import MappingCatalog
    from bridge.translate import Translator

    catalog = MappingCatalog.load(ROOT / "mappings")
    codec = SapCodec(definitions=[DEFINITIONS])
    translators = {
        enc: Translator(catalog, source_system="sap", codec_options={"definitions": [DEFINITIONS], **({"encoding": enc} if enc else {})})
        for enc in set(ENCODING_OPTIONS)
    }

    def check(text: str, where: str) -> None:
        if "\n" in text:
            raise _MultiLine(f"{where}: {text!r}")

    def run(data: bytes, encoding: str | None) -> str:
        warnings: list[str] = []
        try:
            sniff_codec(data, "fuzz")
        except BridgeError as exc:
            check(str(exc), "sniff_codec")
        try:
            codec.decode_idocs(data, origin="fuzz", encoding=encoding, on_warning=warnings.append)
        except BridgeError as exc:
            check(str(exc), "decode_idocs")
        for warning in warnings:
            check(warning, "warning")
        translator = translators[encoding]
        try:
            outputs = 0
            for document in translator.decode(data, "fuzz"):
                for warning in document.warnings:
                    check(warning, "warning")
                try:
                    for envelope in translator.map_document(document):
                        json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
                        outputs += 1
                except BridgeError as exc:
                    check(str(exc), "map_document")
                    return f"{type(exc).__name__}|{_template(str(exc))}"
            return f"ok|{outputs}"
        except BridgeError as exc:
            check(str(exc), "decode")
            return f"{type(exc).__name__}|{_template(str(exc))}"

    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        encoding = ENCODING_OPTIONS[data[0]] if data else None
        data = data[1:]
        try:
            outcome = ("ok", run(data, encoding), "")
        except _MultiLine as exc:
            outcome = ("finding", "MultiLineMessage", str(exc))
        except BaseException as exc:  # the finding itself: anything else
            outcome = ("finding", type(exc).__name__, "".join(traceback.format_exception(exc))[-4000:])
        conn.send(outcome)


class _MultiLine(Exception):
    pass


# -- the driver -------------------------------------------------------------------------------


class Slot:
    """One worker process and the case it is running."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.case: bytes | None = None
        self.started = 0.0
        self.start()

    def start(self) -> None:
        parent, child = mp.Pipe()
        self.process = mp.get_context("fork").Process(target=_worker, args=(child, self.memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent

    def send(self, case: bytes) -> None:
        self.case = case
        self.started = time.monotonic()
        self.conn.send_bytes(case)

    def restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self.case = None
        self.start()

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join()


def load_seeds() -> list[bytes]:
    seeds = []
    for directory in SEED_DIRS:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix != ".md" and path.stat().st_size <= MAX_CASE_BYTES:
                seeds.append(path.read_bytes())
    return seeds


def save_finding(directory: Path, kind: str, case: bytes, detail: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(case).hexdigest()[:16]
    path = directory / f"{kind}-{digest}.bin"
    path.write_bytes(case[1:])
    encoding = ENCODING_OPTIONS[case[0]] if case else None
    (directory / f"{kind}-{digest}.txt").write_text(f"encoding option: {encoding}\n{detail}\n", encoding="utf-8")
    return path


def _template(message: str) -> str:
    """An error message without its particulars: what kind of outcome a case had."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "Q", message)
    return re.sub(r"\d+", "N", message)[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--case-timeout", type=float, default=2.0, help="seconds one case may take (default 2)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per worker (0: none)")
    parser.add_argument("--findings", type=Path, default=Path("/tmp/fuzz-findings"), help="where to save findings")
    args = parser.parse_args(argv)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    seeds = load_seeds()
    pool = list(seeds)
    mutator = Mutator(rng, pool)
    print(f"fuzz_decoders: seed {seed}, {len(seeds)} seed files, {args.seconds:g} s, {args.jobs} job(s)", flush=True)

    slots = [Slot(args.memory_mb) for _ in range(max(1, args.jobs))]
    by_conn = {slot.conn: slot for slot in slots}
    findings: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    templates: Counter[str] = Counter()
    distinct: Counter[str] = Counter()
    cases = 0
    started = time.monotonic()
    deadline = started + args.seconds
    next_report = started + 30

    def new_case() -> bytes:
        base = rng.choice(pool) if rng.random() < 0.6 else rng.choice(seeds)
        data = base if rng.random() < 0.02 else mutator.mutate(base)
        return bytes([rng.randrange(len(ENCODING_OPTIONS))]) + data

    def record(kind: str, case: bytes, detail: str) -> None:
        findings[kind] += 1
        last = detail.strip().splitlines()[-1] if detail.strip() else ""
        key = kind + ": " + re.sub(r"0x[0-9A-Fa-f]+|\d+", "N", last)[:90]
        distinct[key] += 1
        if distinct[key] <= 3:  # a few inputs per distinct finding are enough
            path = save_finding(args.findings, kind, case, detail)
            if distinct[key] == 1:
                print(f"  finding {key}\n    {path}: {last[:200]}", flush=True)

    try:
        for slot in slots:
            slot.send(new_case())
        while True:
            now = time.monotonic()
            for slot in slots:
                if slot.case is not None and now - slot.started > args.case_timeout:
                    record("Hang", slot.case, f"no result after {args.case_timeout:g} s")
                    cases += 1
                    slot.restart()
                    by_conn = {s.conn: s for s in slots}
                    if now < deadline:
                        slot.send(new_case())
            if all(slot.case is None for slot in slots):
                break
            ready = wait([s.conn for s in slots if s.case is not None], timeout=0.2)
            for conn in ready:
                slot = by_conn[conn]  # type: ignore[index]
                case = slot.case
                assert case is not None
                try:
                    status, kind, detail = conn.recv()  # type: ignore[union-attr]
                except (EOFError, ConnectionError):
                    slot.process.join(1)
                    record("WorkerDied", case, f"worker exit code {slot.process.exitcode}")
                    cases += 1
                    slot.restart()
                    by_conn = {s.conn: s for s in slots}
                else:
                    cases += 1
                    slot.case = None
                    if status == "finding":
                        record(kind, case, detail)
                    else:
                        reached_mapping = not kind.startswith(("DecodeError", "DefinitionError"))
                        if (
                            kind not in templates
                            and (reached_mapping or rng.random() < 0.05)
                            and len(case) < 500_000
                            and len(pool) < 20_000
                        ):
                            pool.append(case[1:])  # a new kind of outcome: mutate it further
                        templates[kind] += 1
                        outcomes[kind.split("|")[0]] += 1
                if time.monotonic() < deadline:
                    slot.send(new_case())
            if time.monotonic() >= next_report:
                elapsed = time.monotonic() - started
                print(f"  {elapsed:.0f} s: {cases} cases, {cases / elapsed:.0f}/s, {sum(findings.values())} findings", flush=True)
                next_report += 30
    except KeyboardInterrupt:
        print("  interrupted", flush=True)
    finally:
        for slot in slots:
            slot.stop()

    elapsed = time.monotonic() - started
    total = sum(findings.values())
    print(f"cases run: {cases}")
    print(f"seconds: {elapsed:.1f}")
    print(f"cases/s: {cases / elapsed:.1f}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common(12)))
    print(f"distinct outcomes: {len(templates)} (pool grew from {len(seeds)} to {len(pool)} inputs)")
    if total:
        print(f"findings: {total} ({len(distinct)} distinct) saved in {args.findings}")
        for kind, count in findings.most_common():
            print(f"  {kind}: {count}")
        print("distinct findings:")
        for key, count in distinct.most_common():
            print(f"  {count:6d}  {key}")
        return 1
    print("findings: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
