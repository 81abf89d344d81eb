"""Render deploy/grafana/dashboards/bridge.json to a PNG from real scrapes, without Grafana.

Grafana is in neither Debian nor PyPI, so this stands in for it: it scrapes ``/metrics`` of
running bridges every second (and ``/readyz`` first, as a kubelet's readiness probe would, which
is what keeps ``bridge_up`` current), keeps the samples the way Prometheus would (one series per
``instance``, a synthetic ``up``, series going stale when a scrape lacks them or fails), evaluates
each panel's PromQL on them with a small evaluator (selectors and matchers, ``rate``/``increase``
with Prometheus' extrapolation, ``max_over_time``, ``sum``/``max``/``min``/``avg``/``count``
``by``/``without``, ``histogram_quantile``, arithmetic and comparisons) and draws the panels on
the dashboard's grid with matplotlib.

One deliberate difference from a stock Prometheus 2.x: a new counter or histogram series gets a
zero sample at its ``_created`` time (what ``--enable-feature=created-timestamp-zero-ingestion``
does in Prometheus 2.50+; in multiprocess mode, which exposes no ``_created``, at the instance's
previous scrape), so the burst that created a series between two scrapes is not lost from
``rate`` and ``increase``.

matplotlib is not a dependency of the bridge: ``pip install -e '.[dashboard]'`` (or matplotlib) into the venv first.

Usage::

    python scripts/render_dashboard.py --run-demo                 # run scripts/demo.sh, scrape 8080-8083
    python scripts/render_dashboard.py --scrape localhost:8080 --duration 120
    python scripts/render_dashboard.py --samples /tmp/samples.json  # render saved scrapes again
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import math
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "bridge.json"
OUTPUT = ROOT / "docs" / "screenshots" / "dashboard.png"
#: The demo's bridges, one per flow (scripts/demo.sh): RabbitMQ flow, SAP, Kingdee, Yonyou loops.
DEMO_TARGETS = ("localhost:8080", "localhost:8081", "localhost:8082", "localhost:8083")
#: The Prometheus job name the dashboard and deploy/prometheus/prometheus.yml use.
JOB = "bridge"
LOOKBACK_S = 300.0  # Prometheus' default lookback for instant selectors

Labels = tuple[tuple[str, str], ...]
Vector = dict[Labels, float]


# ----------------------------------------------------------------------------- scraping


def scrape_round(targets: Sequence[str], *, probe_readyz: bool = True, timeout: float = 2.0) -> dict[str, Any]:
    """One scrape of every target: ``{"t": time, "targets": {instance: text or None}}``."""
    round_: dict[str, Any] = {"t": time.time(), "targets": {}}
    for target in targets:
        base = target if target.startswith("http") else f"http://{target}"
        instance = base.split("://", 1)[1].rstrip("/")
        text = None
        try:
            if probe_readyz:
                with contextlib.suppress(urllib.error.HTTPError):  # 503: not ready, bridge_up tells why
                    urllib.request.urlopen(f"{base}/readyz", timeout=timeout).read()
            text = urllib.request.urlopen(f"{base}/metrics", timeout=timeout).read().decode("utf-8")
        except (OSError, urllib.error.URLError):
            text = None
        round_["targets"][instance] = text
    return round_


def collect(
    targets: Sequence[str],
    *,
    interval: float,
    keep_going: Callable[[], bool],
    probe_readyz: bool = True,
) -> list[dict[str, Any]]:
    """Scrape every ``interval`` seconds while ``keep_going()``; the rounds."""
    rounds = []
    while keep_going():
        started = time.monotonic()
        rounds.append(scrape_round(targets, probe_readyz=probe_readyz))
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    rounds.append(scrape_round(targets, probe_readyz=probe_readyz))
    return rounds


def run_demo_and_collect(interval: float, log_path: Path) -> list[dict[str, Any]]:
    """Run ``scripts/demo.sh`` (its output to ``log_path``) and scrape its bridges meanwhile."""
    with log_path.open("w") as log:
        demo = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            rounds = collect(DEMO_TARGETS, interval=interval, keep_going=lambda: demo.poll() is None)
        finally:
            if demo.poll() is None:
                demo.terminate()
            demo.wait()
    if demo.returncode != 0:
        print(f"render_dashboard: demo exited {demo.returncode}; see {log_path}", file=sys.stderr)
    return rounds


# ----------------------------------------------------------------------------- samples


@dataclass
class Store:
    """Series as Prometheus would hold them: full label set -> [(time, value or None=stale)]."""

    series: dict[Labels, list[tuple[float, float | None]]] = field(default_factory=lambda: defaultdict(list))
    times: list[float] = field(default_factory=list)

    def matching(self, name: str | None, matchers: Sequence[tuple[str, str, str]]) -> Iterable[Labels]:
        for labels in self.series:
            values = dict(labels)
            if name is not None and values.get("__name__") != name:
                continue
            if all(_matches(values.get(label, ""), op, want) for label, op, want in matchers):
                yield labels


def _matches(value: str, op: str, want: str) -> bool:
    if op == "=":
        return value == want
    if op == "!=":
        return value != want
    hit = re.fullmatch(want, value) is not None
    return hit if op == "=~" else not hit


def _without_le(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))


def _target_labels(name: str, labels: Mapping[str, str], instance: str, job: str) -> Labels:
    """A sample's labels after the scrape: ``job`` and ``instance`` added, a clashing label of
    the sample renamed ``exported_<name>`` (Prometheus' default, ``honor_labels: false``)."""
    out = {f"exported_{k}" if k in ("job", "instance") else k: v for k, v in labels.items()}
    out.update(__name__=name, instance=instance, job=job)
    return tuple(sorted(out.items()))


def load_rounds(rounds: Sequence[Mapping[str, Any]], job: str = JOB) -> Store:
    """Build a :class:`Store` from scrape rounds (see :func:`scrape_round`)."""
    store = Store()
    live: dict[str, set[Labels]] = defaultdict(set)
    ever: dict[str, set[Labels]] = defaultdict(set)
    last_ok: dict[str, float] = {}
    for round_ in rounds:
        t = float(round_["t"])
        store.times.append(t)
        for instance, text in round_["targets"].items():
            target = (("instance", instance), ("job", job))
            store.series[(("__name__", "up"), *target)].append((t, 0.0 if text is None else 1.0))
            seen: set[Labels] = set()
            if text is not None:
                families = list(text_string_to_metric_families(text))
                # the text format exposes each child's creation time as a gauge family <name>_created
                created = {(family.name.removesuffix("_created"), _without_le(x.labels)): x.value
                           for family in families if family.name.endswith("_created") for x in family.samples}
                for family in families:
                    cumulative = family.type in ("counter", "histogram")
                    for sample in family.samples:
                        labels = _target_labels(sample.name, sample.labels, instance, job)
                        seen.add(labels)
                        points = store.series[labels]
                        if cumulative and labels not in ever[instance]:
                            # created-timestamp zero: at _created, else at the instance's previous scrape
                            zero_at = created.get((family.name, _without_le(sample.labels)), last_ok.get(instance))
                            if zero_at is not None and zero_at < t:
                                points.append((float(zero_at), 0.0))
                        points.append((t, float(sample.value)))
                        ever[instance].add(labels)
                last_ok[instance] = t
            for gone in live[instance] - seen:
                store.series[gone].append((t, None))
            live[instance] = seen
    return store


# ----------------------------------------------------------------------------- PromQL (a subset)

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![\w])|(?P<dur>\[[^\]]+\])|(?P<str>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>=~|!~|==|!=|>=|<=|[-+*/%^(){},=<>])|(?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*))"
)
_AGGREGATIONS = {"sum", "max", "min", "avg", "count"}
_FUNCTIONS = {"rate", "increase", "max_over_time", "min_over_time", "avg_over_time", "last_over_time",
              "histogram_quantile", "vector", "clamp_min", "clamp_max", "abs", "time"}
_PRECEDENCE = [("or",), ("and", "unless"), ("==", "!=", ">", "<", ">=", "<="), ("+", "-"), ("*", "/", "%")]
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str) -> float:
    """``90s``, ``5m``, ``1h30m`` -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class Node:
    """One PromQL expression node: ``kind`` is num, sel, call, agg or bin."""

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()
    name: str | None = None
    matchers: tuple[tuple[str, str, str], ...] = ()
    range_s: float | None = None
    grouping: tuple[str, ...] | None = None
    without: bool = False
    bool_: bool = False
    on: tuple[str, ...] | None = None


class Parser:
    """Recursive descent over the subset this dashboard uses; :func:`metric_names` reads its output."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise ValueError(f"cannot read {text[position:]!r} in {text!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.i = 0

    def parse(self) -> Node:
        node = self._binary(0)
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.i][1]!r} in {self.text!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _take(self, want: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise ValueError(f"unexpected end of {self.text!r}")
        value = self.tokens[self.i][1]
        if want is not None and value != want:
            raise ValueError(f"expected {want!r}, got {value!r} in {self.text!r}")
        self.i += 1
        return value

    def _binary(self, level: int) -> Node:
        if level == len(_PRECEDENCE):
            return self._unary()
        node = self._binary(level + 1)
        while self._peek() in _PRECEDENCE[level]:
            op = self._take()
            bool_ = self._peek() == "bool" and bool(self._take())
            on = None
            if self._peek() in ("on", "ignoring"):
                if self._take() == "ignoring":
                    raise ValueError("ignoring() is not supported by this evaluator")
                on = self._labels()
            node = Node("bin", op, (node, self._binary(level + 1)), bool_=bool_, on=on)
        return node

    def _labels(self) -> tuple[str, ...]:
        self._take("(")
        labels: list[str] = []
        while self._peek() != ")":
            labels.append(self._take())
            if self._peek() == ",":
                self._take()
        self._take(")")
        return tuple(labels)

    def _unary(self) -> Node:
        kind, value = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if value == "-":
            self._take()
            return Node("bin", "*", (Node("num", -1.0), self._unary()))
        if kind == "num":
            self._take()
            return Node("num", float(value))
        if value == "(":
            self._take()
            node = self._binary(0)
            self._take(")")
            return node
        if kind == "id" and value in _AGGREGATIONS:
            return self._aggregation()
        if kind == "id" and value in _FUNCTIONS and self._after() == "(":
            self._take()
            self._take("(")
            args: list[Node] = []
            while self._peek() != ")":
                args.append(self._binary(0))
                if self._peek() == ",":
                    self._take()
            self._take(")")
            return Node("call", value, tuple(args))
        if kind == "id" or value == "{":
            return self._selector()
        raise ValueError(f"unexpected {value!r} in {self.text!r}")

    def _after(self) -> str | None:
        return self.tokens[self.i + 1][1] if self.i + 1 < len(self.tokens) else None

    def _aggregation(self) -> Node:
        op = self._take()
        grouping, without = None, False
        if self._peek() in ("by", "without"):
            without = self._take() == "without"
            grouping = self._labels()
        self._take("(")
        inner = self._binary(0)
        self._take(")")
        if self._peek() in ("by", "without"):
            without = self._take() == "without"
            grouping = self._labels()
        return Node("agg", op, (inner,), grouping=grouping, without=without)

    def _selector(self) -> Node:
        name = None
        if self._peek() != "{":
            name = self._take()
        matchers: list[tuple[str, str, str]] = []
        if self._peek() == "{":
            self._take()
            while self._peek() != "}":
                label, op, raw = self._take(), self._take(), self._take()
                if op not in ("=", "!=", "=~", "!~") or not raw.startswith('"'):
                    raise ValueError(f"bad matcher {label}{op}{raw} in {self.text!r}")
                matchers.append((label, op, json.loads(raw)))
                if self._peek() == ",":
                    self._take()
            self._take("}")
        range_s = None
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "dur":
            range_s = parse_duration(self._take()[1:-1])
        return Node("sel", name=name, matchers=tuple(matchers), range_s=range_s)


def parse(text: str) -> Node:
    """Parse one query (variables already substituted)."""
    return Parser(text).parse()


def metric_names(node: Node) -> set[str]:
    """The metric names a parsed query selects."""
    names = {node.name} if node.kind == "sel" and node.name else set()
    for arg in node.args:
        names |= metric_names(arg)
    return names


def _drop_name(labels: Labels) -> Labels:
    return tuple(item for item in labels if item[0] != "__name__")


def _extrapolated(points: list[tuple[float, float]], t: float, window: float, *, is_rate: bool) -> float | None:
    """Prometheus' ``extrapolatedRate`` for a counter."""
    if len(points) < 2:
        return None
    result, previous = 0.0, points[0][1]
    for _, value in points[1:]:
        result += value - previous if value >= previous else value  # a reset
        previous = value
    first_t, first_v = points[0]
    last_t = points[-1][0]
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    to_start, to_end = first_t - (t - window), t - last_t
    average = sampled / (len(points) - 1)
    if result > 0 and first_v >= 0:
        to_start = min(to_start, sampled * (first_v / result))
    threshold = average * 1.1
    interval = sampled + (to_start if to_start < threshold else average / 2)
    interval += to_end if to_end < threshold else average / 2
    result *= interval / sampled
    return result / window if is_rate else result


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' ``bucketQuantile`` on (upper bound, cumulative count) pairs."""
    buckets.sort()
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return math.nan
    total = buckets[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    if index == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, lower = (0.0, 0.0) if index == 0 else (buckets[index - 1][0], buckets[index - 1][1])
    end, count = buckets[index][0], buckets[index][1] - lower
    return start + (end - start) * ((rank - lower) / count) if count else start


class Evaluator:
    """Evaluates parsed queries on a :class:`Store` at a moment."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._times: dict[Labels, list[float]] = {k: [p[0] for p in v] for k, v in store.series.items()}

    def instant(self, node: Node, t: float) -> Vector | float:
        kind = node.kind
        if kind == "num":
            return float(node.value)
        if kind == "sel":
            if node.range_s is not None:
                raise ValueError("a range selector needs a function around it")
            return self._select(node, t)
        if kind == "call":
            return self._call(node, t)
        if kind == "agg":
            return self._aggregate(node, t)
        return self._binary(node, t)

    def _points(self, labels: Labels, start: float, end: float) -> list[tuple[float, float]]:
        points, times = self.store.series[labels], self._times[labels]
        lo, hi = bisect.bisect_right(times, start), bisect.bisect_right(times, end)
        return [(ts, v) for ts, v in points[lo:hi] if v is not None]

    def _select(self, node: Node, t: float) -> Vector:
        out: Vector = {}
        for labels in self.store.matching(node.name, node.matchers):
            points, times = self.store.series[labels], self._times[labels]
            index = bisect.bisect_right(times, t) - 1
            if index >= 0 and points[index][1] is not None and points[index][0] > t - LOOKBACK_S:
                out[labels] = float(points[index][1])  # type: ignore[arg-type]
        return out

    def _range(self, node: Node, t: float) -> dict[Labels, list[tuple[float, float]]]:
        if node.kind != "sel" or node.range_s is None:
            raise ValueError("expected a range selector such as x[5m]")
        out = {}
        for labels in self.store.matching(node.name, node.matchers):
            points = self._points(labels, t - node.range_s, t)
            if points:
                out[labels] = points
        return out

    def _call(self, node: Node, t: float) -> Vector | float:
        name, args = node.value, node.args
        if name == "time":
            return t
        if name == "vector":
            value = self.instant(args[0], t)
            return {(): float(value)} if isinstance(value, float) else value
        if name == "histogram_quantile":
            return self._histogram_quantile(float(self.instant(args[0], t)), self._vector(args[1], t))  # type: ignore[arg-type]
        if name in ("rate", "increase"):
            window = args[0].range_s or 0.0
            out = {}
            for labels, points in self._range(args[0], t).items():
                value = _extrapolated(points, t, window, is_rate=name == "rate")
                if value is not None:
                    out[_drop_name(labels)] = value
            return out
        if name.endswith("_over_time"):
            reduce: Callable[[list[float]], float] = {
                "max_over_time": max, "min_over_time": min, "last_over_time": lambda v: v[-1],
                "avg_over_time": lambda v: sum(v) / len(v)}[name]
            return {_drop_name(k): reduce([v for _, v in p]) for k, p in self._range(args[0], t).items()}
        vector = self._vector(args[0], t)
        if name == "abs":
            return {k: abs(v) for k, v in vector.items()}
        bound = float(self.instant(args[1], t))  # type: ignore[arg-type]
        pick = max if name == "clamp_min" else min
        return {_drop_name(k): pick(v, bound) for k, v in vector.items()}

    def _vector(self, node: Node, t: float) -> Vector:
        value = self.instant(node, t)
        if isinstance(value, float):
            raise ValueError("expected an instant vector, got a scalar")
        return value

    def _histogram_quantile(self, q: float, vector: Vector) -> Vector:
        groups: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
        for labels, value in vector.items():
            le = dict(labels).get("le")
            if le is None:
                continue
            key = tuple(item for item in _drop_name(labels) if item[0] != "le")
            groups[key].append((float(le), value))
        out = {key: _quantile(q, buckets) for key, buckets in groups.items()}
        return {k: v for k, v in out.items() if not math.isnan(v)}

    def _aggregate(self, node: Node, t: float) -> Vector:
        groups: dict[Labels, list[float]] = defaultdict(list)
        for labels, value in self._vector(node.args[0], t).items():
            if node.grouping is None:
                key: Labels = ()
            elif node.without:
                key = tuple(item for item in _drop_name(labels) if item[0] not in node.grouping)
            else:
                key = tuple(item for item in labels if item[0] in node.grouping)
            groups[key].append(value)
        reduce: Callable[[list[float]], float] = {
            "sum": sum, "max": max, "min": min, "count": len, "avg": lambda v: sum(v) / len(v)}[node.value]
        return {key: float(reduce(values)) for key, values in groups.items()}

    def _binary(self, node: Node, t: float) -> Vector | float:
        op = node.value
        lhs, rhs = self.instant(node.args[0], t), self.instant(node.args[1], t)
        if op in ("and", "or", "unless"):
            if isinstance(lhs, float) or isinstance(rhs, float):
                raise ValueError(f"{op} needs two vectors")
            key = self._key(node.on)
            right = {key(k) for k in rhs}
            if op == "and":
                return {k: v for k, v in lhs.items() if key(k) in right}
            if op == "unless":
                return {k: v for k, v in lhs.items() if key(k) not in right}
            left = {key(k) for k in lhs}
            return {**lhs, **{k: v for k, v in rhs.items() if key(k) not in left}}
        if isinstance(lhs, float) and isinstance(rhs, float):
            result = _apply(op, lhs, rhs)
            return (1.0 if result else 0.0) if op in _COMPARISONS else float(result)
        if isinstance(lhs, float) or isinstance(rhs, float):
            vector = rhs if isinstance(lhs, float) else lhs
            out: Vector = {}
            for labels, value in vector.items():  # type: ignore[union-attr]
                a, b = (lhs, value) if isinstance(lhs, float) else (value, rhs)
                out.update(self._combine(op, labels, value, a, b, node.bool_))  # type: ignore[arg-type]
            return out
        key = self._key(node.on)
        right = {key(k): v for k, v in rhs.items()}
        out = {}
        for labels, value in lhs.items():
            if key(labels) in right:
                out.update(self._combine(op, labels, value, value, right[key(labels)], node.bool_))
        return out

    @staticmethod
    def _key(on: tuple[str, ...] | None) -> Callable[[Labels], Labels]:
        if on is None:
            return _drop_name
        return lambda labels: tuple(item for item in labels if item[0] in on)

    @staticmethod
    def _combine(op: str, labels: Labels, sample: float, a: float, b: float, bool_: bool) -> Vector:
        result = _apply(op, a, b)
        if op in _COMPARISONS:
            if bool_:
                return {_drop_name(labels): 1.0 if result else 0.0}
            return {labels: sample} if result else {}
        return {_drop_name(labels): float(result)}


_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def _apply(op: str, a: float, b: float) -> float | bool:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b else (math.nan if a == 0 else math.copysign(math.inf, a))
    if op == "%":
        return math.fmod(a, b) if b else math.nan
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


# ----------------------------------------------------------------------------- the dashboard


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    """The dashboard JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def variables(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """Each template variable's current value (``All`` -> its ``allValue``, else ``.*``)."""
    values: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value", variable.get("query", ""))
        if isinstance(current, list):
            current = "|".join(current)
        if current in ("$__all", "") and variable.get("includeAll"):
            current = variable.get("allValue") or ".*"
        values[variable["name"]] = str(current)
    return values


def substitute(expr: str, values: Mapping[str, str], *, rate_interval: str, range_: str) -> str:
    """``expr`` with Grafana's variables replaced: ``$__rate_interval``, ``$__range``, ``$name``, ``${name}``."""
    text = expr.replace("$__rate_interval", rate_interval).replace("$__range", range_)
    for name in sorted(values, key=len, reverse=True):
        text = text.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return text


def panel_queries(dashboard: Mapping[str, Any]) -> Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Every (panel, target) pair, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                yield inner, target


def legend(fmt: str, labels: Labels) -> str:
    """Grafana's legendFormat: ``{{label}}`` replaced by the series' value."""
    values = dict(labels)
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), ""), fmt or "")
    return text.strip() or "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


@dataclass
class PanelData:
    """What a panel shows: series name -> [(time, value)] over the steps."""

    panel: Mapping[str, Any]
    series: dict[str, list[tuple[float, float]]]
    error: str | None = None


def evaluate_dashboard(
    dashboard: Mapping[str, Any], store: Store, *, rate_interval: float, steps: Sequence[float] | None = None
) -> list[PanelData]:
    """Evaluate every panel's targets at each step (default: each scrape round's time)."""
    steps = list(steps or store.times)
    values = variables(dashboard)
    span = max(steps[-1] - steps[0], rate_interval) if steps else rate_interval
    evaluator = Evaluator(store)
    out = []
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            out.append(PanelData(panel, {}))
            continue
        series: dict[str, list[tuple[float, float]]] = defaultdict(list)
        error = None
        for target in panel.get("targets", []):
            text = substitute(target["expr"], values, rate_interval=f"{rate_interval:g}s", range_=f"{span:g}s")
            try:
                node = parse(text)
                for t in steps:
                    result = evaluator.instant(node, t)
                    if isinstance(result, float):
                        result = {(): result}
                    for labels, value in result.items():
                        if not math.isnan(value):
                            series[legend(target.get("legendFormat", ""), labels)].append((t, value))
            except ValueError as exc:
                error = str(exc)
        out.append(PanelData(panel, dict(series), error))
    return out


# ----------------------------------------------------------------------------- drawing

_BG, _PANEL, _TEXT, _DIM, _GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e9e", "#2c3235"
_PALETTE = ("#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0",
            "#37872d", "#fade2a", "#447ebc", "#c4162a", "#1f60c4", "#8f3bb8", "#96d98d", "#ffb357")
_COL_PX, _ROW_PX, _DPI = 80, 34, 100


def _format(value: float, unit: str, decimals: int | None = None) -> str:
    if unit == "s":
        if value == 0:
            return "0 s"
        if abs(value) < 1:
            return f"{value * 1000:.{0 if decimals is None else max(0, decimals - 3)}f} ms"
        return f"{value:.2f} s"
    text = f"{value:.{decimals}f}" if decimals is not None else f"{value:.3g}"
    return f"{text} /s" if unit == "ops" else text


def _color(defaults: Mapping[str, Any], value: float) -> tuple[str, str | None]:
    """(colour, mapped text) of a stat value from the panel's mappings and thresholds."""
    for mapping in defaults.get("mappings", []):
        hit = mapping.get("options", {}).get(str(int(value)) if float(value).is_integer() else str(value))
        if hit:
            return {"green": "#73bf69", "red": "#f2495c"}.get(hit.get("color"), hit.get("color", _TEXT)), hit["text"]
    colour = "green"
    for step in defaults.get("thresholds", {}).get("steps", []):
        if step.get("value") is None or value >= step["value"]:
            colour = step["color"]
    return {"green": "#73bf69", "red": "#f2495c"}.get(colour, colour), None


class _Canvas:
    """The figure and the dashboard grid's geometry in it."""

    header_px = 70

    def __init__(self, data: Sequence[PanelData], steps: Sequence[float]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = max(d.panel["gridPos"]["y"] + d.panel["gridPos"]["h"] for d in data)
        self.width, self.height = 24 * _COL_PX, rows * _ROW_PX + self.header_px + 10
        self.fig = plt.figure(figsize=(self.width / _DPI, self.height / _DPI), dpi=_DPI, facecolor=_BG)
        self.steps = list(steps)
        self.times = [datetime.fromtimestamp(t) for t in steps]
        self.index = {t: i for i, t in enumerate(steps)}

    def box(self, grid: Mapping[str, int], pad: float = 4) -> tuple[float, float, float, float]:
        """A grid position as figure fractions (left, bottom, width, height)."""
        x0 = grid["x"] * _COL_PX + pad
        y0 = self.header_px + grid["y"] * _ROW_PX + pad
        w, h = grid["w"] * _COL_PX - 2 * pad, grid["h"] * _ROW_PX - 2 * pad
        return x0 / self.width, 1 - (y0 + h) / self.height, w / self.width, h / self.height

    def header(self, title: str, subtitle: str) -> None:
        self.fig.text(12 / self.width, 1 - 28 / self.height, title, color="#ffffff", fontsize=17, weight="bold",
                      va="center")
        self.fig.text(12 / self.width, 1 - 54 / self.height, subtitle, color=_DIM, fontsize=9, va="center")

    def row(self, panel: Mapping[str, Any]) -> None:
        grid = panel["gridPos"]
        self.fig.text(self.box(grid)[0], 1 - (self.header_px + grid["y"] * _ROW_PX + 17) / self.height,
                      panel["title"], color="#ffffff", fontsize=11.5, weight="bold", va="center")

    def frame(self, panel: Mapping[str, Any]) -> Any:
        left, bottom, w, h = self.box(panel["gridPos"])
        frame = self.fig.add_axes((left, bottom, w, h))
        frame.set_facecolor(_PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(_GRID)
        frame.text(8 / (w * self.width), 1 - 13 / (h * self.height), panel["title"], transform=frame.transAxes,
                   color=_TEXT, fontsize=9, weight="bold", va="center")
        return frame

    def save(self, out: Path) -> None:
        import matplotlib.pyplot as plt

        out.parent.mkdir(parents=True, exist_ok=True)
        self.fig.savefig(out, dpi=_DPI, facecolor=_BG)
        plt.close(self.fig)


def _draw_stat(frame: Any, item: PanelData, defaults: Mapping[str, Any]) -> None:
    unit, decimals = defaults.get("unit", "short"), defaults.get("decimals")
    names = list(item.series)
    for n, name in enumerate(names):
        value = item.series[name][-1][1]
        colour, text = _color(defaults, value)
        cx = (n + 0.5) / len(names)
        frame.text(cx, 0.42, text or _format(value, unit, decimals), transform=frame.transAxes, ha="center",
                   va="center", color=colour, fontsize=22 if len(names) == 1 else 16, weight="bold")
        if len(names) > 1:
            frame.text(cx, 0.13, name, transform=frame.transAxes, ha="center", color=_DIM, fontsize=7.5)


def _draw_bargauge(frame: Any, item: PanelData, defaults: Mapping[str, Any]) -> None:
    unit, decimals = defaults.get("unit", "short"), defaults.get("decimals")
    names = sorted(item.series)
    for n, name in enumerate(names):
        value = item.series[name][-1][1]
        colour, _ = _color(defaults, value)
        y = 0.78 - n * (0.7 / len(names))
        frame.text(0.02, y, name, transform=frame.transAxes, color=_TEXT, fontsize=7.5, va="center")
        frame.text(0.98, y, _format(value, unit, decimals), transform=frame.transAxes, color=colour, fontsize=8,
                   va="center", ha="right")


def _draw_timeseries(canvas: _Canvas, item: PanelData, defaults: Mapping[str, Any]) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    grid, unit = item.panel["gridPos"], defaults.get("unit", "short")
    left, bottom, w, h = canvas.box(grid)
    plot = canvas.fig.add_axes((left + 44 / canvas.width, bottom + h * 0.30, w - 56 / canvas.width, h * 0.56))
    plot.set_facecolor(_PANEL)
    step = defaults.get("custom", {}).get("lineInterpolation") == "stepAfter"
    for n, (name, points) in enumerate(item.series.items()):
        ys = [math.nan] * len(canvas.steps)
        for t, value in points:
            ys[canvas.index[t]] = value
        colour = _PALETTE[n % len(_PALETTE)]
        few = sum(not math.isnan(v) for v in ys) < 3
        plot.plot(canvas.times, ys, color=colour, linewidth=1.3, label=name,
                  drawstyle="steps-post" if step else "default", marker="o" if few else None, markersize=2.5)
        plot.fill_between(canvas.times, [math.nan if math.isnan(v) else 0 for v in ys], ys, color=colour,
                          alpha=0.08, step="post" if step else None)
    plot.set_xlim(canvas.times[0], canvas.times[-1])
    if defaults.get("min") == 0:
        plot.set_ylim(bottom=0)
    plot.tick_params(colors=_DIM, labelsize=6.5, length=0)
    plot.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    plot.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=7))
    plot.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _format(v, unit)))
    plot.yaxis.set_major_locator(MaxNLocator(4))
    plot.grid(color=_GRID, linewidth=0.6)
    for spine in plot.spines.values():
        spine.set_visible(False)
    columns = max(1, min(len(item.series), int(grid["w"] / 3)))
    plot.legend(loc="upper left", bbox_to_anchor=(-0.05, -0.16), ncol=columns, frameon=False, fontsize=6.3,
                labelcolor=_TEXT, handlelength=1.2, columnspacing=1.0, borderaxespad=0)


def render(data: Sequence[PanelData], steps: Sequence[float], out: Path, *, title: str, subtitle: str) -> None:
    """Draw the panels on the dashboard's 24-column grid into ``out`` (PNG)."""
    canvas = _Canvas(data, steps)
    canvas.header(title, subtitle)
    for item in data:
        if item.panel["type"] == "row":
            canvas.row(item.panel)
            continue
        frame = canvas.frame(item.panel)
        defaults = item.panel.get("fieldConfig", {}).get("defaults", {})
        if item.error or not item.series:
            frame.text(0.5, 0.45, item.error or "No data", transform=frame.transAxes, ha="center", va="center",
                       color=_DIM, fontsize=10 if item.error is None else 7)
        elif item.panel["type"] == "stat":
            _draw_stat(frame, item, defaults)
        elif item.panel["type"] == "bargauge":
            _draw_bargauge(frame, item, defaults)
        else:
            _draw_timeseries(canvas, item, defaults)
    canvas.save(out)


# ----------------------------------------------------------------------------- the command


def _median_spacing(times: Sequence[float]) -> float:
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    return gaps[len(gaps) // 2] if gaps else 15.0


def main(argv: Sequence[str] | None = None) -> int:
    """Scrape (or load) samples, evaluate the dashboard, write the PNG."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-demo", action="store_true", help="run scripts/demo.sh and scrape its bridges")
    source.add_argument("--scrape", nargs="+", metavar="HOST:PORT", help="bridges to scrape")
    source.add_argument("--samples", type=Path, help="render scrapes saved earlier with --save")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to scrape with --scrape")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    parser.add_argument("--save", type=Path, help="also write the scrapes to this JSON file")
    parser.add_argument("--rate-interval", help="$__rate_interval (default: 4 scrape intervals, as Grafana)")
    parser.add_argument("--label", help="where the scrapes came from, for the subtitle")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    if args.samples:
        rounds = json.loads(args.samples.read_text())
        origin = f"scrapes from {args.samples.name}"
    elif args.run_demo:
        rounds = run_demo_and_collect(args.interval, Path("/tmp/render-dashboard-demo.log"))
        origin = "scripts/demo.sh"
    else:
        deadline = time.monotonic() + args.duration
        rounds = collect(args.scrape, interval=args.interval, keep_going=lambda: time.monotonic() < deadline)
        origin = "bridges " + ", ".join(args.scrape)
    origin = args.label or origin
    if args.save:
        args.save.write_text(json.dumps(rounds))
    store = load_rounds(rounds)
    if not store.times:
        print("render_dashboard: no scrapes", file=sys.stderr)
        return 1
    spacing = _median_spacing(store.times)
    rate_interval = parse_duration(args.rate_interval) if args.rate_interval else max(1.0, round(4 * spacing))
    dashboard = load_dashboard(args.dashboard)
    data = evaluate_dashboard(dashboard, store, rate_interval=rate_interval)
    instances = sorted({i for r in rounds for i, text in r["targets"].items() if text})
    start, end = time.localtime(store.times[0]), time.localtime(store.times[-1])
    subtitle = (f"{origin}, {time.strftime('%Y-%m-%d %H:%M:%S', start)} to {time.strftime('%H:%M:%S', end)}: "
                f"{len(store.times)} scrapes every {spacing:.3g} s of {', '.join(instances) or 'no bridge'}; "
                f"$__rate_interval = {rate_interval:.3g}s. Drawn by scripts/render_dashboard.py (PromQL evaluated "
                f"on the scrapes, not by Grafana).")
    render(data, store.times, args.out, title=dashboard.get("title", "dashboard"), subtitle=subtitle)
    empty = [d.panel["title"] for d in data if d.panel["type"] != "row" and not d.series]
    print(f"wrote {args.out}; panels without data: {', '.join(empty) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
