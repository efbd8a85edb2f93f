"""The client: configuration, the session's lifetime, and the resources."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from ._api import API
from ._errors import OpenAIError
from ._events import OnEvent, emitter
from ._retry import RetryPolicy
from ._transport import Transport
from ._types import Timeout, TimeoutTypes

if TYPE_CHECKING:
    import aiohttp

    from ._azure import AzureADTokenProvider
    from ._batches import Batches
    from ._files import Files
    from ._jobs import Jobs
    from ._uploads import Uploads
    from ._webhooks import Webhooks

__all__ = ["DEFAULT_BASE_URL", "Client"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = Timeout()


# Control characters, tab aside: a line break in a header value would start a new header.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header_value(name: str, value: str) -> str:
    """Refuse a value that cannot be sent as an HTTP header value; never echo it."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"{name} contains a line break or another control character (at position "
            f"{found.start()}), which cannot be sent in an HTTP header; check how it was read"
        )
    return value


def identity_headers(api_key: str, organization: str | None, project: str | None) -> dict[str, str]:
    """The headers that say who is calling, sent with every request.

    Raises:
        ValueError: A value has a line break or another control character.
    """
    headers = {"Authorization": f"Bearer {_header_value('api_key', api_key)}"}
    if organization:
        headers["OpenAI-Organization"] = _header_value("organization", organization)
    if project:
        headers["OpenAI-Project"] = _header_value("project", project)
    return headers


def _env(name: str) -> str | None:
    # An empty variable counts as unset, as in openai-python.
    return os.environ.get(name) or None


def _retry_policy(max_retries: int | None, retry_policy: RetryPolicy | None) -> RetryPolicy:
    # `None` is "not given" for both, so that an explicit max_retries=2 beside a policy is
    # refused too rather than silently losing to it.
    if retry_policy is None:
        return RetryPolicy() if max_retries is None else RetryPolicy(max_retries=max_retries)
    if not isinstance(retry_policy, RetryPolicy):
        raise TypeError(f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}")
    if max_retries is not None:
        raise TypeError(
            "Client() takes max_retries or retry_policy, not both; "
            f"use RetryPolicy(max_retries={max_retries!r}, ...) alone"
        )
    return retry_policy


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
            409, 429, 5xx); 0 disables them. Unset, 2 (``RetryPolicy``'s default).
        session: An aiohttp session to borrow, with its connector and default headers;
            this client's headers and timeout are sent with each request. It is never
            closed here.
        retry_policy: Full control over retries and backoff, instead of ``max_retries``.
        webhook_secret: The ``whsec_...`` secret that :attr:`webhooks` verifies
            signatures with; defaults to ``OPENAI_WEBHOOK_SECRET``.
        allow_insecure_http: Accept a plain ``http://`` base URL to another machine,
            which sends the key unencrypted. Without it only ``https://`` and this
            machine (``localhost``, ``127.0.0.0/8``, ``::1``) are accepted.
        on_event: Called with a typed event for each HTTP attempt, retry, page of a
            walk and poll of a wait, to feed metrics or traces (see
            :class:`RequestEvent`); a function or a coroutine function. What it raises
            is logged and the call goes on.

    Raises:
        OpenAIError: No API key was given and ``OPENAI_API_KEY`` is not set.
        TypeError: Both ``max_retries`` and ``retry_policy`` were given, or
            ``retry_policy`` is not a :class:`RetryPolicy`.
        ValueError: ``max_retries`` is not a whole number >= 0; ``base_url`` is not an
            http(s) URL, or plain http to another machine without ``allow_insecure_http``;
            or a header value (the key, the organization, the project) has a line break or
            another control character.
        TypeError: ``on_event`` is not callable.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        session: aiohttp.ClientSession | None = None,
        retry_policy: RetryPolicy | None = None,
        webhook_secret: str | None = None,
        allow_insecure_http: bool = False,
        on_event: OnEvent | None = None,
    ) -> None:
        api_key = api_key or _env("OPENAI_API_KEY")
        if not api_key:
            raise OpenAIError(
                "No API key: pass api_key=... to Client() or set the OPENAI_API_KEY "
                "environment variable."
            )
        self.organization = organization or _env("OPENAI_ORG_ID")
        self.project = project or _env("OPENAI_PROJECT_ID")
        self.api_version: str | None = None
        self._setup(
            base_url=base_url or _env("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
            headers=identity_headers(api_key, self.organization, self.project),
            timeout=timeout,
            max_retries=max_retries,
            session=session,
            retry_policy=retry_policy,
            webhook_secret=webhook_secret,
            allow_insecure_http=allow_insecure_http,
            on_event=on_event,
        )

    @classmethod
    def azure(
        cls,
        azure_endpoint: str | None = None,
        *,
        api_version: str | None = None,
        api_key: str | None = None,
        azure_ad_token: str | None = None,
        azure_ad_token_provider: AzureADTokenProvider | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        session: aiohttp.ClientSession | None = None,
        retry_policy: RetryPolicy | None = None,
        webhook_secret: str | None = None,
        allow_insecure_http: bool = False,
        on_event: OnEvent | None = None,
    ) -> Client:
        """Return a client for an Azure OpenAI resource.

        Requests go to ``{azure_endpoint}/openai/...`` with ``?api-version=...``, or to
        ``{azure_endpoint}/openai/v1/...`` when the endpoint ends with ``/openai/v1``
        (Azure's v1 API, where ``api-version`` may be left out). In batch input lines,
        ``"model"`` is the name of a deployment.

        Give at most one credential. With none, ``AZURE_OPENAI_AD_TOKEN`` is used, then
        ``AZURE_OPENAI_API_KEY``, as openai-python's ``AzureOpenAI`` does. An exception
        raised by the token provider comes out of the call that needed the token, not
        retried.

        Args:
            azure_endpoint: ``https://RESOURCE.openai.azure.com``; defaults to
                ``AZURE_OPENAI_ENDPOINT``.
            api_version: Sent as the ``api-version`` query parameter of every request;
                defaults to ``OPENAI_API_VERSION``.
            api_key: Sent as the ``api-key`` header.
            azure_ad_token: A Microsoft Entra ID access token, sent as a bearer token.
            azure_ad_token_provider: A function or coroutine function returning an Entra
                ID token, called before every attempt (retries included), so a token
                cache such as ``azure.identity``'s is asked each time.
            timeout: As for :class:`Client`.
            max_retries: As for :class:`Client`.
            session: As for :class:`Client`.
            retry_policy: As for :class:`Client`.
            webhook_secret: As for :class:`Client`.
            allow_insecure_http: As for :class:`Client`.
            on_event: As for :class:`Client`.

        Raises:
            OpenAIError: No endpoint, api-version or credential was given or found in the
                environment (the message names the variables), or more than one credential.
            ValueError: The endpoint names a deployment or is not an http(s) URL, or a
                header value has a line break or another control character.
        """
        from ._azure import azure_settings

        settings = azure_settings(
            azure_endpoint=azure_endpoint,
            api_version=api_version,
            api_key=api_key,
            azure_ad_token=azure_ad_token,
            azure_ad_token_provider=azure_ad_token_provider,
        )
        self = cls.__new__(cls)
        self.organization = None
        self.project = None
        self.api_version = settings.api_version
        self._setup(
            base_url=settings.base_url,
            headers=settings.headers,
            timeout=timeout,
            max_retries=max_retries,
            session=session,
            retry_policy=retry_policy,
            webhook_secret=webhook_secret,
            allow_insecure_http=allow_insecure_http,
            query=settings.query,
            auth=settings.auth,
            on_event=on_event,
        )
        return self

    def _setup(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: TimeoutTypes,
        max_retries: int | None,
        session: aiohttp.ClientSession | None,
        retry_policy: RetryPolicy | None,
        webhook_secret: str | None,
        allow_insecure_http: bool,
        query: Mapping[str, str] | None = None,
        auth: Callable[[], Awaitable[Mapping[str, str]]] | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = Timeout.of(timeout)
        self.retry_policy = _retry_policy(max_retries, retry_policy)
        self.webhook_secret = webhook_secret or _env("OPENAI_WEBHOOK_SECRET")
        self._transport = Transport(
            base_url=self.base_url,
            headers=headers,
            timeout=self.timeout,
            session=session,
            allow_insecure_http=allow_insecure_http,
            query=query,
            auth=auth,
        )
        self._api = API(self._transport, self.retry_policy, emitter(on_event))
        self.base_url = self._transport.base_url
        self._uploads: Uploads | None = None
        self._files: Files | None = None
        self._batches: Batches | None = None
        self._webhooks: Webhooks | None = None
        self._jobs: Jobs | None = None

    # The resources, and the modules behind them, load on first use: `import
    # openai_batches` then costs little more than importing aiohttp.

    @property
    def batches(self) -> Batches:
        """The Batch API: create, retrieve, cancel, list, wait for and read batches."""
        if self._batches is None:
            from ._batches import Batches

            self._batches = Batches(self._api, files=_Contents(self))
        return self._batches

    @property
    def files(self) -> Files:
        """The Files API: upload, list, retrieve, delete and download files."""
        if self._files is None:
            from ._files import Files

            self._files = Files(self._api, uploads=self.uploads)
        return self._files

    @property
    def jobs(self) -> Jobs:
        """Batch jobs of any size, kept in a state file (see :class:`Jobs`)."""
        if self._jobs is None:
            from ._jobs import Jobs

            self._jobs = Jobs(self)
        return self._jobs

    @property
    def uploads(self) -> Uploads:
        """The Uploads API: large files sent in parts."""
        if self._uploads is None:
            from ._uploads import Uploads

            self._uploads = Uploads(self._api)
        return self._uploads

    @property
    def webhooks(self) -> Webhooks:
        """Verify and decode the webhooks OpenAI sends (no request is made)."""
        if self._webhooks is None:
            from ._webhooks import Webhooks

            self._webhooks = Webhooks(self)
        return self._webhooks

    def __repr__(self) -> str:
        # Never the key.
        if self.api_version is not None:
            return f"Client(base_url={self.base_url!r}, api_version={self.api_version!r})"
        return (
            f"Client(base_url={self.base_url!r}, organization={self.organization!r}, "
            f"project={self.project!r})"
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    async def close(self) -> None:
        """Abort the calls in flight and close the session this client created.

        Calls in flight (requests, walks, content readers, downloads, waits) end at once
        with ClientClosedError, on a borrowed session too, which stays open. Safe to call
        more than once; any request after it raises ClientClosedError.
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
