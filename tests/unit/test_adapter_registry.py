"""One entry point group finds every adapter; a broken or clashing adapter is named."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from bridge import codecs, formats
from bridge.adapter import Adapter, registry
from bridge.document import SourceDocument
from bridge.errors import ConfigError

GROUP = registry.ENTRY_POINT_GROUP


class FakeCodec:
    system = "fake"

    def sniff(self, data: bytes) -> bool:
        return data.startswith(b"FAKE")

    def decode(self, data: bytes, *, origin: str | None = None, **options: Any) -> list[SourceDocument]:
        return [SourceDocument(system="fake", document_type="THING", tree={"text": data.decode()[4:]}, origin=origin)]

    def check_options(self, **options: Any) -> None:
        if options:
            raise ConfigError(f"unknown fake codec option(s): {', '.join(options)}")


FAKE = Adapter(name="fake", codec=FakeCodec, formats={"fake-text": lambda doc, payload: b"x"})
SAME_FORMAT = Adapter(name="other", formats={"fake-text": lambda doc, payload: b"y"})
SHADOWS_JSON = Adapter(name="other", formats={"json": lambda doc, payload: b"y"})
NOT_AN_ADAPTER = object()
MISNAMED = Adapter(name="something-else")


def _install(monkeypatch: pytest.MonkeyPatch, **named: str) -> None:
    points = [EntryPoint(name, f"{__name__}:{attr}", GROUP) for name, attr in named.items()]
    monkeypatch.setattr(registry, "entry_points", lambda group: points if group == GROUP else [])
    for cached in (registry.adapters, registry.adapter_formats, registry.adapter_transforms, codecs._codecs, formats._serialisers):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    for cached in (registry.adapters, registry.adapter_formats, registry.adapter_transforms, codecs._codecs, formats._serialisers):
        cached.cache_clear()


def test_the_sap_adapter_is_installed_with_its_roles() -> None:
    sap = registry.adapter_for("sap")
    assert sap.codec is not None
    assert {"rfc-xml", "idoc-xml", "idoc-flat"} <= set(sap.formats)
    assert [command.name for command in sap.commands] == ["idoc"]


def test_a_third_party_adapter_plugs_in_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, fake="FAKE")
    assert registry.adapter_names() == ["fake"]
    assert codecs.codec_names() == ["fake"]
    (document,) = codecs.sniff_codec(b"FAKEhello").decode(b"FAKEhello", origin="f.txt")
    assert document.tree == {"text": "hello"}
    assert formats.serialiser_for("fake-text")("THING", {}) == b"x"
    assert formats.serialiser_for("json")("THING", {"a": 1}) == b'{"a":1}'


def test_an_unknown_system_names_the_installed_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, fake="FAKE")
    with pytest.raises(ConfigError, match=r"no adapter for system 'kingdee' \(installed: fake\)"):
        registry.adapter_for("kingdee")


@pytest.mark.parametrize(
    ("named", "message"),
    [
        pytest.param({"broken": "DOES_NOT_EXIST"}, "adapter broken .* cannot be loaded", id="broken"),
        pytest.param({"odd": "NOT_AN_ADAPTER"}, "adapter odd .* is a object, not an Adapter", id="not-an-adapter"),
        pytest.param({"misnamed": "MISNAMED"}, "calls itself 'something-else' but is registered as 'misnamed'", id="misnamed"),
    ],
)
def test_a_bad_adapter_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, named: dict[str, str], message: str
) -> None:
    _install(monkeypatch, **named)
    with pytest.raises(ConfigError, match=message):
        registry.adapters()


@pytest.mark.parametrize(
    ("named", "message"),
    [
        pytest.param({"fake": "FAKE", "other": "SAME_FORMAT"}, "payload format 'fake-text' of adapter other is already defined by adapter fake", id="two-adapters"),
        pytest.param({"other": "SHADOWS_JSON"}, "payload format 'json' of adapter other is already defined by the bridge", id="built-in"),
    ],
)
def test_two_owners_of_one_format_name_are_refused(
    monkeypatch: pytest.MonkeyPatch, named: dict[str, str], message: str
) -> None:
    _install(monkeypatch, **named)
    with pytest.raises(ConfigError, match=message):
        formats.serialiser_for("fake-text")


def test_a_broken_adapter_makes_the_cli_say_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bridge.cli import main

    _install(monkeypatch, broken="DOES_NOT_EXIST")
    result = CliRunner().invoke(main, ["idoc", "show", "x.xml"])
    assert result.exit_code == 2
    assert result.stderr.startswith("bridge: error: adapter broken")
    assert len(result.stderr.strip().splitlines()) == 1


def test_adapter_commands_join_the_bridge_command_line() -> None:
    from click.testing import CliRunner

    from bridge.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "idoc" in result.stdout
    assert "translate" in result.stdout
