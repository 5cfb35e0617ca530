"""EVM tests run against a real anvil (started here on a free port); a missing anvil fails under CI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.chains.evm import Anvil, find_anvil
from tests.conftest import IN_CI


def require_anvil() -> None:
    if find_anvil() is None:
        message = "anvil is not installed (`make node` installs it into ./node_modules)"
        if IN_CI:
            pytest.fail(message + " — required under CI")
        pytest.skip(message)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    require_anvil()
    with Anvil() as node:
        yield node
