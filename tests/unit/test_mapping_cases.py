"""pytest runs the mapping test cases written as data next to each shipped mapping."""

from __future__ import annotations

import pytest

from bridge.mapping import MappingCatalog
from bridge.mapping.testing import discover_cases, run_case

from ..conftest import MAPPINGS

CATALOG = MappingCatalog.load(MAPPINGS)
CASES = discover_cases(CATALOG)


def test_every_shipped_mapping_has_test_cases():
    with_cases = {case.mapping for case in CASES}
    assert with_cases == set(CATALOG.mappings)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_mapping_case(case):
    result = run_case(case, CATALOG)
    assert result.passed, result.detail
