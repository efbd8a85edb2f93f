"""pytest plugin (entry point ``pytest11``): the ``openai_emulator`` and ``openai_client`` fixtures.

pytest imports this module for everyone who installs the package, so importing it must never
fail or warn: it imports nothing heavy at module level, and the emulator only when a fixture
is used.

The fixtures are async (the emulator serves on the test's event loop), so they are defined with
pytest-asyncio when it is installed. Without pytest-asyncio they still exist but fail the test
with a message saying so, rather than vanishing into a confusing "fixture not found".

Configure the emulator per test, module or class with the ``openai_emulator`` marker, whose
keyword arguments go to `Emulator`::

    @pytest.mark.openai_emulator(clock=ManualClock(), api_keys=["sk-test"])
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from openai_batches import Client
    from openai_batches.emulator import Emulator

#: Whether pytest-asyncio is installed (checked without importing it).
HAVE_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None

_MARKER = "openai_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``openai_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**kwargs): keyword arguments for the Emulator of the openai_emulator "
        "fixture (clock=, speed=, api_keys=, timing=, storage_dir=, seed=, latency=, "
        "webhook_url=, webhook_secret=, webhook_retry_delays=, enqueued_token_limit=)",
    )


def _emulator_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    # Closest marker last, so a test's marker overrides its class's and module's.
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        kwargs.update(marker.kwargs)
    return kwargs


if HAVE_PYTEST_ASYNCIO:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def openai_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
        """A running emulator of the Batches, Files and Uploads API (one per test)."""
        from openai_batches.emulator import Emulator

        async with Emulator(**_emulator_kwargs(request)) as emulator:
            yield emulator

    @pytest_asyncio.fixture
    async def openai_client(openai_emulator: Emulator) -> AsyncIterator[Client]:
        """An `openai_batches.Client` bound to ``openai_emulator``, closed after the test."""
        client = openai_emulator.client()
        try:
            yield client
        finally:
            await client.close()

else:  # pragma: no cover - exercised only without pytest-asyncio
    _NEEDS = "the openai_emulator and openai_client fixtures need pytest-asyncio installed"

    @pytest.fixture
    def openai_emulator() -> None:
        """Unavailable: needs pytest-asyncio."""
        pytest.fail(_NEEDS, pytrace=False)

    @pytest.fixture
    def openai_client() -> None:
        """Unavailable: needs pytest-asyncio."""
        pytest.fail(_NEEDS, pytrace=False)
