"""What every adapter's query must do, as tests each adapter's query tests inherit.

A subclass provides :meth:`QueryContract.make_query` (a query over a target it can fill),
:meth:`post` (make the target hold one record of ``kind`` for business key ``key``, through the
adapter's own sink or the target directly) and :attr:`window_kinds` / :attr:`key_kinds`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bridge.errors import ConfigError


class QueryContract:
    key_kinds: tuple[str, ...] = ()
    window_kinds: tuple[str, ...] = ()

    def make_query(self) -> Any:
        raise NotImplementedError

    def post(self, kind: str, key: str, mark: str) -> None:
        raise NotImplementedError

    def keys(self) -> tuple[str, str]:
        """Two business keys the target knows (e.g. two production orders)."""
        raise NotImplementedError

    @pytest.fixture
    def query(self) -> Any:
        made = self.make_query()
        yield made
        made.close()

    def test_an_unknown_kind_is_refused_naming_the_known_ones(self, query: Any) -> None:
        with pytest.raises(ConfigError, match="kinds: "):
            query.records("no-such-kind", keys=self.keys())

    def test_records_of_a_key_set_are_those_of_the_keys_only(self, query: Any) -> None:
        first, second = self.keys()
        for kind in self.key_kinds:
            self.post(kind, first, f"{kind}-A")
            self.post(kind, second, f"{kind}-B")
            found = query.records(kind, keys=[first])
            assert found, kind
            assert {r.key for r in found} == {first}, kind
            assert all(r.kind == kind and r.number for r in found)

    def test_records_of_a_window_are_those_posted_in_it(self, query: Any) -> None:
        first, _ = self.keys()
        today = date.today()
        for kind in self.window_kinds:
            self.post(kind, first, f"{kind}-W")
            assert any(r.mark.startswith(f"{kind}-W") for r in query.records(kind, since=today, until=today)), kind
            assert query.records(kind, since=today - timedelta(days=400), until=today - timedelta(days=399)) == []
