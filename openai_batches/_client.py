"""The client: configuration, the session's lifetime, and the resources."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable
from types import TracebackType
from typing import TYPE_CHECKING

import aiohttp

from ._errors import OpenAIError
from ._retry import RetryPolicy
from ._transport import Transport, default_headers
from ._types import Timeout, TimeoutTypes

if TYPE_CHECKING:
    from ._batches import Batches
    from ._files import Files
    from ._uploads import Uploads

__all__ = ["DEFAULT_BASE_URL", "Client"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = Timeout()


def _env(name: str) -> str | None:
    # An empty variable counts as unset, as in openai-python.
    return os.environ.get(name) or None


class Client:
    """An asyncio client for the OpenAI Batch and Files APIs.

    Use it as an async context manager, or call :meth:`close` when done::

        async with Client() as client:
            batch = await client.batches.retrieve("batch_abc")

    The aiohttp session is created on the first request, inside the running loop, so a
    client may be built anywhere (at import time, in a FastAPI lifespan, in a fixture).

    Args:
        api_key: The secret key; defaults to ``OPENAI_API_KEY``.
        base_url: The API's base URL, path included; defaults to ``OPENAI_BASE_URL``,
            then ``https://api.openai.com/v1``.
        organization: Sent as ``OpenAI-Organization``; defaults to ``OPENAI_ORG_ID``.
        project: Sent as ``OpenAI-Project``; defaults to ``OPENAI_PROJECT_ID``.
        timeout: Seconds, a :class:`Timeout`, or ``None`` for no limit; each call may
            override it.
        max_retries: Retries after a failed attempt (connection errors, timeouts, 408,
            409, 429, 5xx); 0 disables them.
        session: An aiohttp session to borrow, with its connector and default headers;
            this client's headers and timeout are sent with each request. It is never
            closed here.
        retry_policy: Full control over retries and backoff; overrides ``max_retries``.

    Raises:
        OpenAIError: No API key was given and ``OPENAI_API_KEY`` is not set.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        session: aiohttp.ClientSession | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        api_key = api_key or _env("OPENAI_API_KEY")
        if not api_key:
            raise OpenAIError(
                "No API key: pass api_key=... to Client() or set the OPENAI_API_KEY "
                "environment variable."
            )
        self.base_url = base_url or _env("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.organization = organization or _env("OPENAI_ORG_ID")
        self.project = project or _env("OPENAI_PROJECT_ID")
        self.timeout = Timeout.of(timeout)
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._transport = Transport(
            base_url=self.base_url,
            headers=default_headers(api_key, self.organization, self.project),
            timeout=self.timeout,
            retry=self.retry_policy,
            session=session,
        )
        self.base_url = self._transport.base_url
        self._uploads: Uploads | None = None
        self._files: Files | None = None
        self._batches: Batches | None = None

    # The resources, and the modules behind them, load on first use: `import
    # openai_batches` then costs little more than importing aiohttp.

    @property
    def batches(self) -> Batches:
        """The Batch API: create, retrieve, cancel, list, wait for and read batches."""
        if self._batches is None:
            from ._batches import Batches

            self._batches = Batches(self._transport, files=_Contents(self))
        return self._batches

    @property
    def files(self) -> Files:
        """The Files API: upload, list, retrieve, delete and download files."""
        if self._files is None:
            from ._files import Files

            self._files = Files(self._transport, uploads=self.uploads)
        return self._files

    @property
    def uploads(self) -> Uploads:
        """The Uploads API: large files sent in parts."""
        if self._uploads is None:
            from ._uploads import Uploads

            self._uploads = Uploads(self._transport)
        return self._uploads

    def __repr__(self) -> str:
        # Never the key.
        return (
            f"Client(base_url={self.base_url!r}, organization={self.organization!r}, "
            f"project={self.project!r})"
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    async def close(self) -> None:
        """Close the session this client created (a borrowed one stays open).

        Safe to call more than once; any request after it raises ClientClosedError.
        """
        await self._transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _Contents:
    """``client.files.content`` for reading batch results; the files resource loads on use.

    So that a first ``client.batches`` does not load the files and uploads modules too.
    """

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def content(self, file_id: str) -> AsyncIterable[bytes]:
        return self._client.files.content(file_id)
