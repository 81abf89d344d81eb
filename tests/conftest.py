"""Shared pytest setup: paths to the project's own test data (never ../shared)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def all_at_once(*actions: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run the actions in threads released together; their results and what they raised."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results.append(action())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
