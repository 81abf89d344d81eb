"""Reconciliation (对账): compare what two sides hold (ERP, MES, the bridge's ledger, a snapshot
file) key by key, streamed, and say what differs.

A job layer builds :class:`Rules` (key fields, value tolerances, unit conversions, stale rule),
two :class:`Side` values over lazy record sources (a ledger query in key order, a snapshot file
through :func:`read_snapshot`), and iterates :func:`reconcile`'s run, storing each
:class:`Discrepancy` and reporting its :class:`Summary`. Nothing here knows a vendor.

The engine's pieces, each in its module:

:mod:`~bridge.reconcile.records`     :class:`Record` (one side's fact of one key), :class:`Amount`
:mod:`~bridge.reconcile.units`       :class:`UnitConverter`: exact factors, global and per material
:mod:`~bridge.reconcile.rules`       :class:`Rules`, :class:`FieldRule`, :class:`Tolerance`, :class:`StaleRule`
:mod:`~bridge.reconcile.sorting`     external sort with bounded memory, checked pass-through
:mod:`~bridge.reconcile.duplicates`  several records of one key: summed or refused
:mod:`~bridge.reconcile.compare`     the merge-join: :class:`Discrepancy`, :class:`Kind`, :class:`Summary`
:mod:`~bridge.reconcile.engine`      :func:`reconcile`: two :class:`Side` values in, a run out
:mod:`~bridge.reconcile.layout`      where a snapshot row keeps a record's fields: :class:`Layout`
:mod:`~bridge.reconcile.snapshot`    a CSV or JSON-lines snapshot file read as records, streamed
"""

from bridge.reconcile.compare import Discrepancy, Kind, PairComparer, Summary, compare_sorted
from bridge.reconcile.duplicates import Duplicates, collapse_duplicates, merge_records
from bridge.reconcile.engine import Comparison, Side, reconcile
from bridge.reconcile.layout import Layout, ValueColumns
from bridge.reconcile.records import Amount, Record, amount
from bridge.reconcile.rules import ANY_UNIT, FieldRule, Rules, StaleRule, Tolerance
from bridge.reconcile.snapshot import read_snapshot
from bridge.reconcile.sorting import DEFAULT_RUN_SIZE, external_sort, in_order
from bridge.reconcile.units import Conversion, UnitConverter

__all__ = [
    "ANY_UNIT",
    "DEFAULT_RUN_SIZE",
    "Amount",
    "Comparison",
    "Conversion",
    "Discrepancy",
    "Duplicates",
    "FieldRule",
    "Kind",
    "Layout",
    "PairComparer",
    "Record",
    "Rules",
    "Side",
    "StaleRule",
    "Summary",
    "Tolerance",
    "UnitConverter",
    "ValueColumns",
    "amount",
    "collapse_duplicates",
    "compare_sorted",
    "external_sort",
    "in_order",
    "merge_records",
    "read_snapshot",
    "reconcile",
]
