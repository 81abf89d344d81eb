"""``sources.<system>.timezone`` decides the zone of an ERP's local times when it is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_settings
from bridge.mapping import MappingCatalog
from bridge.source_options import load_catalog, source_timezones
from bridge.translate import Translator

ROOT = Path(__file__).resolve().parents[2]
ORDER = ROOT / "mappings" / "sap" / "cases" / "LOIPRO05_S4HANA_Original.xml"


def _order(catalog: MappingCatalog) -> dict:
    translator = Translator(catalog)
    (document,) = translator.decode(ORDER.read_bytes(), ORDER.name)
    (envelope,) = translator.map_document(document)
    return envelope


def _settings(tmp_path: Path, text: str):
    config = tmp_path / "bridge.yaml"
    config.write_text(f"mappings_dir: {ROOT / 'mappings'}\n{text}", encoding="utf-8")
    return load_settings(config, env={})


@pytest.mark.parametrize(
    ("config", "offset"),
    [
        pytest.param("", "+08:00", id="no source zone: the mapping's Asia/Shanghai stands"),
        pytest.param("sources:\n  sap: {}\n", "+08:00", id="a source without a zone: the mapping's stands"),
        pytest.param(
            "sources:\n  sap:\n    timezone: Europe/Berlin\n", "+01:00", id="the source's Europe/Berlin wins"
        ),
        pytest.param("sources:\n  sap:\n    timezone: UTC\n", "+00:00", id="an explicit UTC wins too"),
        pytest.param(
            "sources:\n  kingdee:\n    timezone: Europe/Berlin\n", "+08:00", id="another system's zone does not apply"
        ),
    ],
)
def test_the_source_systems_zone_wins_over_the_mappings_only_when_set(
    tmp_path: Path, config: str, offset: str
) -> None:
    settings = _settings(tmp_path, config)
    envelope = _order(load_catalog(settings))
    # GSTRS 20231204 / GSUZS 164653 and CREDAT 20231128 / CRETIM 093405 are read in the zone chosen
    assert envelope["payload"]["planned_start"] == f"2023-12-04T16:46:53{offset}"
    assert envelope["occurred_at"] == f"2023-11-28T09:34:05{offset}"


def test_an_unset_source_zone_is_not_the_default_utc(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "sources:\n  sap:\n    definitions: []\n")
    assert settings.sources["sap"].timezone is None
    assert source_timezones(settings) == {}


def test_reverse_mappings_to_a_system_take_its_zone(tmp_path: Path) -> None:
    catalog = load_catalog(_settings(tmp_path, "sources:\n  sap:\n    timezone: Europe/Berlin\n"))
    reverse = [m for m in catalog if m.direction == "from_canonical" and m.system == "sap"]
    assert reverse
    assert {m.timezone for m in reverse} == {"Europe/Berlin"}
    assert {m.timezone for m in MappingCatalog.load(ROOT / "mappings") if m.system == "sap"} == {"Asia/Shanghai"}

