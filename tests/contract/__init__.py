"""The adapter contract suite: every adapter's tests subclass :class:`AdapterContract`."""

from tests.contract.adapter import AdapterContract

__all__ = ["AdapterContract"]
