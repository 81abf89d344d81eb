"""The MES side of a job: an export file (CSV or JSON lines) or a query endpoint answering JSON
lines, read with a layout (:mod:`bridge.reconcile.layout`).

The default layout names columns after the view's fields: the key fields (``order_id``,
``operation_id``, ``material_id``, ``lot_id``, ``parent_lot_id``), each value and its unit
(``yield`` and ``yield_unit``, ``scrap`` and ``scrap_unit``, ``quantity`` and
``quantity_unit``). A job's ``layout:`` names other columns: ``{key: {order_id: AUFNR, ...}, values:
{yield: {value: good, unit: uom}}, material: item, ref: report_no}``: ``material`` (for a
material's unit conversions; by default the ``material_id`` key column where the view has one)
and ``ref`` (the MES's own document number, shown in reports) only where given.

A query endpoint is fetched with GET (the job's window as ``since`` and ``until`` query
parameters, the bearer token from ``token_env``), TLS verified (``ca_bundle``,
``client_cert``), into a temporary file checked against ``max_bytes`` while it streams, then
read like a snapshot.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, TransientError
from bridge.reconcile.jobs import MesSpec
from bridge.reconcile.layout import Layout, ValueColumns
from bridge.reconcile.records import Record
from bridge.reconcile.snapshot import read_snapshot
from bridge.reconcile.views import VIEW_KEYS, VIEW_VALUES

__all__ = ["layout_for", "mes_records"]


def layout_for(view: str, key_fields: tuple[str, ...], given: Mapping[str, Any] | None) -> Layout:
    """The layout of a job's MES side (the default, or the job's ``layout:``, checked)."""
    spec = dict(given or {})
    unknown = set(spec) - {"key", "values", "material", "ref", "version", "seen_at"}
    if unknown:
        raise ConfigError(f"layout: unknown entries {', '.join(sorted(unknown))} "
                          "(known: key, values, material, ref, version, seen_at)")
    keys = spec.get("key") or {}
    if not isinstance(keys, Mapping):
        raise ConfigError("layout.key maps each key field to its column: {order_id: AUFNR, ...}")
    stray = set(keys) - set(VIEW_KEYS[view])
    if stray:
        raise ConfigError(f"layout.key: {', '.join(sorted(stray))} not in view {view}'s key ({', '.join(VIEW_KEYS[view])})")
    values = spec.get("values") or {}
    if not isinstance(values, Mapping):
        raise ConfigError("layout.values maps each value to {value: COLUMN, unit: COLUMN} or {value:, fixed_unit:}")
    columns = {}
    for name in VIEW_VALUES[view]:
        given_value = values.get(name) or {}
        if not isinstance(given_value, Mapping):
            raise ConfigError(f"layout.values.{name}: give {{value: COLUMN, unit: COLUMN}}")
        unit = given_value.get("unit")
        fixed = given_value.get("fixed_unit")
        columns[name] = ValueColumns(str(given_value.get("value") or name),
                                     None if fixed else str(unit or f"{name}_unit"),
                                     str(fixed) if fixed else None)
    key = [str(keys.get(name) or name) for name in key_fields]
    material = spec.get("material") or (key[key_fields.index("material_id")] if "material_id" in key_fields else None)
    return Layout(key=key, values=columns, material=_named(material), version=_named(spec.get("version")),
                  seen_at=_named(spec.get("seen_at")), ref=_named(spec.get("ref")))


def _named(column: Any) -> str | None:
    return str(column) if column else None


def mes_records(spec: MesSpec, layout: Layout, *, since: date | None, until: date | None,
                env: Mapping[str, str] | None = None, directory: str | Path | None = None) -> Iterator[Record]:
    """The MES side's records (a snapshot file, or a query endpoint's answer)."""
    if spec.snapshot is not None:
        yield from read_snapshot(spec.snapshot, layout, format=spec.format, max_bytes=spec.max_bytes)
        return
    with tempfile.TemporaryDirectory(dir=directory) as folder:
        answer = Path(folder) / "mes.jsonl"
        _fetch(spec, answer, since, until, os.environ if env is None else env)
        yield from read_snapshot(answer, layout, format=spec.format or "jsonl", max_bytes=spec.max_bytes)


def _fetch(spec: MesSpec, into: Path, since: date | None, until: date | None, env: Mapping[str, str]) -> None:
    import httpx

    headers = {"Accept": "application/x-ndjson, application/json, text/csv"}
    if spec.token_env:
        token = env.get(spec.token_env)
        if not token:
            raise ConfigError(f"the MES query's token variable {spec.token_env} is not set")
        headers["Authorization"] = f"Bearer {token}"
    params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
    verify: Any = True
    if spec.ca_bundle is not None:
        import ssl

        try:
            verify = ssl.create_default_context(cafile=str(spec.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"the MES query's ca_bundle {spec.ca_bundle}: {exc}") from None
        if spec.client_cert is not None:
            try:
                verify.load_cert_chain(str(spec.client_cert))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"the MES query's client_cert {spec.client_cert}: {exc}") from None
    elif spec.client_cert is not None:
        import ssl

        verify = ssl.create_default_context()
        try:
            verify.load_cert_chain(str(spec.client_cert))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"the MES query's client_cert {spec.client_cert}: {exc}") from None
    where = str(spec.url).split("?")[0]
    try:
        with httpx.Client(verify=verify, timeout=spec.timeout_s) as client, \
                client.stream("GET", str(spec.url), params=params, headers=headers) as reply:
            if reply.status_code in (401, 403):
                raise ConfigError(f"the MES query at {where} refused the bridge's credentials (HTTP {reply.status_code})")
            if reply.status_code >= 500 or reply.status_code == 429:
                raise TransientError(f"the MES query at {where} answered HTTP {reply.status_code}")
            if reply.status_code != 200:
                raise ConfigError(f"the MES query at {where} answered HTTP {reply.status_code}")
            declared = reply.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > spec.max_bytes:
                raise ConfigError(f"the MES query at {where} answers {declared} bytes, above max_bytes {spec.max_bytes}")
            written = 0
            with into.open("wb") as out:
                for chunk in reply.iter_bytes():
                    written += len(chunk)
                    if written > spec.max_bytes:
                        raise ConfigError(f"the MES query at {where} answers more than max_bytes {spec.max_bytes}")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise TransientError(f"the MES query at {where} cannot be read: {type(exc).__name__}") from None
