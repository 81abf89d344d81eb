"""Shared pytest setup: paths to the project's own test data (never ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
MAPPINGS = ROOT / "mappings"


@pytest.fixture
def data_dir() -> Path:
    """tests/data."""
    return DATA


@pytest.fixture
def mappings_dir() -> Path:
    """The shipped mappings folder."""
    return MAPPINGS
