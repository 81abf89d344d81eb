"""Mapping hot reload: the swappable catalog holder and the watcher of the mappings folder."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bridge.broker.messages import Delivery, Headers
from bridge.broker.names import Names
from bridge.codecs import codec_for
from bridge.errors import ConfigError
from bridge.mapping import MappingCatalog
from bridge.mapping.holder import CatalogHolder, LiveMapping, catalog_batch
from bridge.mapping.reload import MappingReloader, watched_files
from bridge.observability.metrics import Metrics
from bridge.pipeline import TranslateStage
from bridge.pipeline.outcome import OutcomeKind
from tests.polling import wait_for

from ..conftest import MAPPINGS

MATERIAL = MAPPINGS / "sap" / "cases" / "MATMAS05_DMC_S1SP02677_finished.xml"
V1_FIELD = "material_type:  {path: E1MARAM.MTART}"
V2_FIELD = "material_type:  {path: E1MARAM.LGPRO}"  # FERT -> WH_PL for the sample


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The SAP mappings and the lookup tables, in a folder the test may edit."""
    root = tmp_path / "mappings"
    (root / "sap").mkdir(parents=True)
    for path in (MAPPINGS / "sap").glob("*.yaml"):
        shutil.copy(path, root / "sap" / path.name)
    shutil.copytree(MAPPINGS / "lookups", root / "lookups")
    return root


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


class CountingLoad:
    """MappingCatalog.load of a folder, counted."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = 0

    def __call__(self) -> MappingCatalog:
        self.calls += 1
        return MappingCatalog.load(self.folder)


def reloader_for(folder: Path, metrics: Metrics | None = None, **options) -> tuple[MappingReloader, CountingLoad]:
    load = CountingLoad(folder)
    options.setdefault("interval_s", 5.0)
    options.setdefault("settle_s", 0.0)
    return MappingReloader(load, folder, metrics=metrics, **options), load


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def material_type(catalog) -> str:
    [document] = codec_for("sap").decode(MATERIAL.read_bytes(), origin=MATERIAL.name)
    [envelope] = catalog.reading("sap", document.document_type, document.extension).apply(document)
    return envelope["payload"]["material_type"]


def reloads(metrics: Metrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("bridge_mapping_reloads_total", {"outcome": outcome}) or 0.0


def reload_failed(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("bridge_mapping_reload_failed")


# -- the holder -------------------------------------------------------------------------------


def test_a_swap_replaces_the_whole_catalog_for_the_next_reads(folder):
    first = MappingCatalog.load(folder)
    holder = CatalogHolder(first)
    second = MappingCatalog.load(folder)
    assert holder.swap(second) is first
    assert holder.current is second
    assert holder.generation == 2


def test_inside_a_batch_the_holder_keeps_the_catalog_of_its_first_read(folder):
    first, second = MappingCatalog.load(folder), MappingCatalog.load(folder)
    holder = CatalogHolder(first)
    seen_in_thread = []
    with catalog_batch():
        assert holder.current is first
        holder.swap(second)
        assert holder.current is first  # the batch under way finishes with its catalog
        # a thread the batch fans out to, started in a copy of its context, reads the same
        thread = threading.Thread(target=contextvars.copy_context().run, args=(lambda: seen_in_thread.append(holder.current),))
        thread.start()
        thread.join()
        with catalog_batch():  # nested: the same batch
            assert holder.current is first
    assert seen_in_thread == [first]
    assert holder.current is second
    with catalog_batch():
        assert holder.current is second


def test_a_mapping_looked_up_by_name_follows_the_swaps(folder):
    holder = CatalogHolder(MappingCatalog.load(folder))
    live = holder.get("sap.matmas.material")
    assert isinstance(live, LiveMapping)
    assert live.resolve() is holder.current.mappings["sap.matmas.material"]
    assert live.timezone == "Asia/Shanghai"
    edit(folder / "sap" / "matmas_material.yaml", "timezone: Asia/Shanghai", "timezone: Europe/Berlin")
    holder.swap(MappingCatalog.load(folder))
    assert live.timezone == "Europe/Berlin"
    assert live.resolve() is holder.current.mappings["sap.matmas.material"]


def test_the_holder_answers_like_the_catalog_it_holds(folder):
    catalog = MappingCatalog.load(folder)
    holder = CatalogHolder(catalog)
    assert holder.directory == catalog.directory
    assert list(holder) == list(catalog)
    assert holder.lookups is catalog.lookups
    assert holder.reading("sap", "MATMAS05") is catalog.reading("sap", "MATMAS05")
    assert holder.for_envelope("report", "created") == catalog.for_envelope("report", "created")
    with pytest.raises(ConfigError, match="no mapping named 'nope'"):
        holder.get("nope")


def test_a_batch_of_the_translate_stage_is_translated_with_one_catalog(folder):
    """The reload lands while the batch's first message is decoded: the whole batch still
    translates with the old mapping, the next batch with the new one."""
    holder = CatalogHolder(MappingCatalog.load(folder))
    edit(folder / "sap" / "matmas_material.yaml", V1_FIELD, V2_FIELD)
    newer = MappingCatalog.load(folder)
    swapped = []

    def swapping_codec(system: str):
        codec = codec_for(system)
        if not swapped:
            swapped.append(holder.swap(newer))
        return codec

    class Ledger:
        def statuses(self, ids, stage):
            return {}

    stage = TranslateStage(Names(prefix="t", mes_exchange="t.mes"), holder, Ledger(), codec_for=swapping_codec)

    def batch(*suffixes: str) -> list[Delivery]:
        return [
            Delivery("t.translate", n, "", "", MATERIAL.read_bytes(), f"raw-{n}", None, None,
                     {Headers.SOURCE_SYSTEM: "sap"}, False)
            for n in suffixes
        ]

    def types(outcomes) -> list[str]:
        assert all(o.kind is OutcomeKind.FORWARD for o in outcomes), outcomes
        return [json.loads(o.outputs[0].body)["payload"]["material_type"] for o in outcomes]

    assert types(stage.process(batch("1", "2", "3"))) == ["FERT", "FERT", "FERT"]
    assert types(stage.process(batch("4", "5"))) == ["WH_PL", "WH_PL"]
    assert stage.catalog is newer


# -- the watcher ------------------------------------------------------------------------------


def test_a_changed_mapping_is_loaded_and_swapped_in(folder, metrics, caplog):
    reloader, _ = reloader_for(folder, metrics)
    holder = reloader.holder
    assert material_type(holder) == "FERT"
    edit(folder / "sap" / "matmas_material.yaml", V1_FIELD, V2_FIELD)
    with caplog.at_level(logging.INFO, logger="bridge.mapping.reload"):
        assert reloader.check() == "applied"
    assert material_type(holder) == "WH_PL"
    assert holder.generation == 2
    count = len(holder.current.mappings)
    assert f"mappings reloaded: {count} mappings (changed: sap/matmas_material.yaml)" in caplog.messages
    assert reloads(metrics, "applied") == 1
    assert reload_failed(metrics) == 0


def test_a_changed_lookup_table_is_loaded_and_swapped_in(folder):
    reloader, _ = reloader_for(folder)
    assert reloader.holder.lookups["sap_languages"].values["E"] == "en"
    edit(folder / "lookups" / "sap_languages.yaml", "E: en", "E: en-gb")
    assert reloader.check() == "applied"
    assert reloader.holder.lookups["sap_languages"].values["E"] == "en-gb"


def test_an_invalid_mapping_is_rejected_and_the_old_catalog_kept(folder, metrics, caplog):
    reloader, _ = reloader_for(folder, metrics)
    holder = reloader.holder
    before = holder.current
    broken = folder / "sap" / "matmas_material.yaml"
    edit(broken, V1_FIELD, "material_type:  {path: E1MARAM.MTART, transform: no_such_transform}")
    with caplog.at_level(logging.INFO, logger="bridge.mapping.reload"):
        assert reloader.check() == "rejected"
    assert holder.current is before
    assert material_type(holder) == "FERT"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert message.startswith(f"mappings not reloaded, still using the {len(before.mappings)} loaded before")
    assert f"{broken}:22: unknown transform 'no_such_transform'" in message
    assert reloads(metrics, "rejected") == 1
    assert reloads(metrics, "applied") == 0
    assert reload_failed(metrics) == 1

    # the same broken files are not tried again; a fixed version is
    caplog.clear()
    assert reloader.check() is None
    assert not caplog.records
    edit(broken, "material_type:  {path: E1MARAM.MTART, transform: no_such_transform}", V2_FIELD)
    assert reloader.check() == "applied"
    assert material_type(holder) == "WH_PL"
    assert reload_failed(metrics) == 0


def test_broken_yaml_is_rejected_naming_the_file_and_line(folder, metrics, caplog):
    reloader, _ = reloader_for(folder, metrics)
    before = reloader.holder.current
    (folder / "sap" / "extra.yaml").write_text("mapping: sap.extra\nfields: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bridge.mapping.reload"):
        assert reloader.check() == "rejected"
    assert reloader.holder.current is before
    assert "(changed: sap/extra.yaml)" in caplog.text
    assert f"{folder / 'sap' / 'extra.yaml'}:3: invalid YAML" in caplog.text


def test_files_put_back_as_they_were_clear_the_failure_without_a_reload(folder, metrics):
    reloader, load = reloader_for(folder, metrics)
    path = folder / "sap" / "matmas_material.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\nnot: [valid\n", encoding="utf-8")
    assert reloader.check() == "rejected"
    path.write_text(original, encoding="utf-8")
    assert reloader.check() is None
    assert reload_failed(metrics) == 0
    assert load.calls == 2  # at start, and the rejected version


def test_nothing_is_reloaded_when_nothing_changed(folder, metrics):
    reloader, load = reloader_for(folder, metrics)
    assert reloader.check() is None
    path = folder / "sap" / "matmas_material.yaml"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same content
    assert reloader.check() is None
    (folder / "sap" / "matmas_material.cases.yaml").write_text("cases: []\n", encoding="utf-8")  # not watched
    (folder / "sap" / "notes.txt").write_text("not a mapping\n", encoding="utf-8")
    assert reloader.check() is None
    assert load.calls == 1
    assert reloader.holder.generation == 1
    assert reloads(metrics, "applied") == reloads(metrics, "rejected") == 0


def test_the_watched_files_are_the_mappings_and_lookup_tables(folder):
    (folder / "sap" / "cases").mkdir()
    (folder / "sap" / "cases" / "x.yaml").write_text("{}\n", encoding="utf-8")
    names = [p.relative_to(folder).as_posix() for p in watched_files(folder)]
    assert "sap/matmas_material.yaml" in names
    assert "lookups/sap_units.yaml" in names
    assert not [n for n in names if ".cases." in n or "/cases/" in n]


def test_a_mapping_a_route_uses_cannot_be_removed_by_a_reload(folder, metrics, caplog):
    reloader, _ = reloader_for(folder, metrics)
    live = reloader.holder.get("sap.report.prodordconf")  # what make_sink does for an SAP route
    (folder / "sap" / "report_prodordconf.yaml").unlink()
    with caplog.at_level(logging.ERROR, logger="bridge.mapping.reload"):
        assert reloader.check() == "rejected"
    assert "mapping sap.report.prodordconf is used by a route but is no longer defined" in caplog.text
    assert live.resolve() is reloader.holder.current.mappings["sap.report.prodordconf"]


def test_a_reload_that_makes_two_mappings_read_one_document_is_rejected(folder, caplog):
    reloader, _ = reloader_for(folder)
    copy = folder / "sap" / "matmas_material_v2.yaml"
    copy.write_text(
        (folder / "sap" / "matmas_material.yaml").read_text(encoding="utf-8").replace(
            "mapping: sap.matmas.material", "mapping: sap.matmas.material.v2"
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR, logger="bridge.mapping.reload"):
        assert reloader.check() == "rejected"
    assert "several mappings would read sap MATMAS05: sap.matmas.material, sap.matmas.material.v2" in caplog.text


def test_a_change_still_being_written_waits_for_the_next_look(folder):
    reloader, load = reloader_for(folder, settle_s=0.2)
    path = folder / "sap" / "matmas_material.yaml"

    def keep_writing() -> None:
        threading.Event().wait(0.05)
        edit(path, V1_FIELD, V2_FIELD)

    edit(path, "description: SAP material master", "description: half-way")
    writer = threading.Thread(target=keep_writing)
    writer.start()
    assert reloader.check() is None  # it changed again while settling
    writer.join()
    assert load.calls == 1
    assert reloader.check() == "applied"
    assert material_type(reloader.holder) == "WH_PL"


def test_the_watcher_thread_picks_up_a_change_by_itself(folder, metrics):
    reloader, _ = reloader_for(folder, metrics, interval_s=0.05)
    reloader.start()
    try:
        edit(folder / "sap" / "matmas_material.yaml", V1_FIELD, V2_FIELD)
        wait_for(lambda: reloader.holder.generation == 2, timeout=10)
    finally:
        reloader.stop()
    assert material_type(reloader.holder) == "WH_PL"
    assert reloads(metrics, "applied") == 1


def test_the_reload_interval_is_a_setting_the_environment_overrides(tmp_path):
    from bridge.config import load_settings

    config = tmp_path / "bridge.yaml"
    config.write_text("mappings_reload_s: 30\n", encoding="utf-8")
    assert load_settings(config, env={}).mappings_reload_s == 30.0
    assert load_settings(config, env={"BRIDGE_MAPPINGS_RELOAD_S": "0"}).mappings_reload_s == 0.0
    assert load_settings(None, env={}).mappings_reload_s == 5.0
    for wrong in ("soon", "-1", "nan"):
        with pytest.raises(ConfigError, match="mappings_reload_s"):
            load_settings(config, env={"BRIDGE_MAPPINGS_RELOAD_S": wrong})


def test_with_reload_off_the_watcher_never_starts(folder):
    reloader, _ = reloader_for(folder, interval_s=0)
    reloader.start()
    assert reloader._thread is None
    reloader.stop()
