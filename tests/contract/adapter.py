"""What every adapter must do, as tests each adapter's own test module inherits.

A subclass sets :attr:`AdapterContract.adapter` and :attr:`AdapterContract.samples` (files its
codec must read); pytest then runs every test below against that adapter. Delivery (twice ->
one effect) joins when adapters bring sinks.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from bridge.adapter import Adapter, ErrorFacts, ErrorKind, adapter_for
from bridge.errors import ConfigError


class AdapterContract:
    """Subclass with ``adapter`` and ``samples`` set (class attributes)."""

    adapter: ClassVar[Adapter]
    samples: ClassVar[tuple[Path, ...]] = ()
    #: what the adapter's system answers when it is down, as its client sees it
    outages: ClassVar[tuple[ErrorFacts, ...]] = (
        ErrorFacts(status=503),
        ErrorFacts(exception=ConnectionRefusedError(111, "Connection refused")),
        ErrorFacts(exception=TimeoutError("timed out")),
    )

    def test_it_is_installed_under_its_name(self) -> None:
        assert adapter_for(self.adapter.name) is self.adapter

    def test_its_codec_reads_every_sample_as_its_own_documents(self) -> None:
        if self.adapter.codec is None:
            pytest.skip("this adapter has no codec")
        assert self.samples, "an adapter with a codec names samples its codec must read"
        codec = self.adapter.codec()
        for sample in self.samples:
            data = sample.read_bytes()
            assert codec.sniff(data), sample.name
            documents = codec.decode(data, origin=sample.name)
            assert documents, sample.name
            for document in documents:
                assert document.system == self.adapter.name
                assert document.document_type, sample.name
                assert "\n" not in document.label

    def test_its_codec_refuses_an_unknown_option_before_any_document(self) -> None:
        if self.adapter.codec is None:
            pytest.skip("this adapter has no codec")
        with pytest.raises(ConfigError, match="no_such_option"):
            self.adapter.codec().check_options(no_such_option=1)

    def test_every_error_row_classifies_the_example_it_carries(self) -> None:
        table = self.adapter.errors
        assert table is not None, "every adapter has an error table"
        assert table.rules
        for rule in table.rules:
            assert rule.example is not None, f"row {rule.reason!r} carries no example"
            assert table.classify(rule.example) is rule, rule.reason
            assert table.kind(rule.example) is rule.kind

    def test_an_outage_of_its_system_is_transient(self) -> None:
        table = self.adapter.errors
        assert table is not None
        for facts in self.outages:
            assert table.kind(facts) is ErrorKind.TRANSIENT, facts
            assert type(table.error(facts, "call failed")).__name__ == "TransientError"

    def test_an_integrators_row_comes_before_the_adapters_own(self) -> None:
        table = self.adapter.errors
        assert table is not None
        overridden = table.with_overrides(
            [{"http_status": 503, "kind": "permanent", "reason": "this site's gateway never recovers"}],
            setting=f"targets.{self.adapter.name}.errors",
        )
        assert overridden.kind(ErrorFacts(status=503)) is ErrorKind.PERMANENT
        assert table.kind(ErrorFacts(status=503)) is ErrorKind.TRANSIENT
