"""The client: configuration, the session's lifetime, and the resources."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

import attrs

from ._api import API, Auth
from ._errors import OpenAIError
from ._events import OnEvent, emitter
from ._options import check_headers
from ._retry import RetryPolicy
from ._transport import Transport
from ._types import USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault

if TYPE_CHECKING:
    import aiohttp

    from ._azure import AzureADTokenProvider, AzureSettings
    from ._batches import Batches
    from ._files import Files
    from ._jobs import Jobs
    from ._uploads import Uploads
    from ._webhooks import Webhooks

__all__ = ["DEFAULT_BASE_URL", "ApiKey", "Client"]

#: An API key, or a function (plain or async) that returns one, called before each attempt.
ApiKey: TypeAlias = "str | Callable[[], str] | Callable[[], Awaitable[str]]"

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


class _Key:
    """Holds the key (or its function) for copies of the client; never shows it."""

    __slots__ = ("value",)

    def __init__(self, value: ApiKey) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<api_key>"


def _key_auth(key: Callable[[], str | Awaitable[str]]) -> Auth:
    """The ``Authorization`` header of each attempt, from a function returning the key."""

    async def auth() -> Mapping[str, str]:
        try:
            value = key()
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            raise OpenAIError(f"The api_key function failed: {exc!r}") from exc
        if not isinstance(value, str) or not value:
            raise OpenAIError(
                f"The api_key function must return a non-empty string, got {type(value).__name__}"
            )
        try:
            return {"Authorization": f"Bearer {_header_value('api_key', value)}"}
        except ValueError as exc:
            raise OpenAIError(
                f"The api_key function returned a key that cannot be sent: {exc}"
            ) from exc

    return auth


def _query(query: Mapping[str, str | int] | None) -> dict[str, str | int]:
    if query is None:
        return {}
    if not isinstance(query, Mapping):
        raise TypeError(f"default_query must be a mapping, got {type(query).__name__}")
    return dict(query)


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
        api_key: The secret key; defaults to ``OPENAI_API_KEY``. Or a function, plain or
            async, returning it: called before each attempt (retries included) and its
            answer kept for that attempt only, for keys that rotate. Its failures raise
            OpenAIError, with its exception chained.
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
        default_headers: Headers sent with every request, over the client's own
            (``Authorization`` from a key function aside); a call's ``extra_headers``
            go over them.
        default_query: Query parameters sent with every request; a call's own
            parameters and ``extra_query`` go over them.
        on_event: Called with a typed event for each HTTP attempt, retry, page of a
            walk and poll of a wait, to feed metrics or traces (see
            :class:`RequestEvent`); a function or a coroutine function. What it raises
            is logged and the call goes on.

    Raises:
        OpenAIError: No API key was given and ``OPENAI_API_KEY`` is not set.
        TypeError: Both ``max_retries`` and ``retry_policy`` were given, or
            ``retry_policy`` is not a :class:`RetryPolicy`; ``api_key`` is neither a
            string nor a function.
        ValueError: ``max_retries`` is not a whole number >= 0; ``base_url`` is not an
            http(s) URL, or plain http to another machine without ``allow_insecure_http``;
            or a header value (the key, the organization, the project, a default header)
            has a line break or another control character.
        TypeError: ``on_event`` is not callable.
    """

    def __init__(
        self,
        api_key: ApiKey | None = None,
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
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str | int] | None = None,
    ) -> None:
        api_key = api_key or _env("OPENAI_API_KEY")
        if not api_key:
            raise OpenAIError(
                "No API key: pass api_key=... to Client() or set the OPENAI_API_KEY "
                "environment variable."
            )
        self._api_key = _Key(api_key)
        self.base_url = base_url or _env("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.organization = organization or _env("OPENAI_ORG_ID")
        self.project = project or _env("OPENAI_PROJECT_ID")
        self.api_version: str | None = None
        self._azure: AzureSettings | None = None
        self._settle(
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            webhook_secret=webhook_secret,
            allow_insecure_http=allow_insecure_http,
            default_headers=default_headers,
            default_query=default_query,
            on_event=on_event,
        )
        self._connect(session=session, parent=None)

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
        self._api_key = _Key("-")  # unused: the credential is in the Azure settings
        self.base_url = settings.base_url
        self.organization = None
        self.project = None
        self.api_version = settings.api_version
        self._azure = settings
        self._settle(
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            webhook_secret=webhook_secret,
            allow_insecure_http=allow_insecure_http,
            default_headers=None,
            default_query=None,
            on_event=on_event,
        )
        self._connect(session=session, parent=None)
        return self

    def _settle(
        self,
        *,
        timeout: TimeoutTypes,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        webhook_secret: str | None,
        allow_insecure_http: bool,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, str | int] | None,
        on_event: OnEvent | None,
    ) -> None:
        """Check and keep the settings both constructors share."""
        self.timeout = Timeout.of(timeout)
        self.retry_policy = _retry_policy(max_retries, retry_policy)
        self.webhook_secret = webhook_secret or _env("OPENAI_WEBHOOK_SECRET")
        self.default_headers = check_headers("default_headers", default_headers or {})
        self.default_query = _query(default_query)
        self._allow_insecure_http = allow_insecure_http
        self._emit = emitter(on_event)

    def _connect(self, *, session: aiohttp.ClientSession | None, parent: Transport | None) -> None:
        """Build the transport and the requests from the settings; resources come later."""
        key = self._api_key.value
        auth: Auth | None = None
        query: Mapping[str, str | int] = self.default_query
        if self._azure is not None:
            headers = dict(self._azure.headers)
            auth = self._azure.auth
            query = {**self._azure.query, **self.default_query}
        elif isinstance(key, str):
            headers = identity_headers(key, self.organization, self.project)
        elif callable(key):
            # The key comes with each attempt; only the rest is checked now.
            headers = identity_headers("-", self.organization, self.project)
            del headers["Authorization"]
            auth = _key_auth(key)
        else:
            raise TypeError(f"api_key must be a string or a function, got {type(key).__name__}")
        self._transport = Transport(
            base_url=self.base_url,
            headers={**headers, **self.default_headers},
            timeout=self.timeout,
            session=session,
            allow_insecure_http=self._allow_insecure_http,
            query=query,
            parent=parent,
        )
        self._api = API(self._transport, self.retry_policy, emit=self._emit, auth=auth)
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

            self._files = Files(self._api, uploads=self._uploads)
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

    def with_options(
        self,
        *,
        api_key: ApiKey | UseClientDefault = USE_CLIENT_DEFAULT,
        base_url: str | UseClientDefault = USE_CLIENT_DEFAULT,
        organization: str | UseClientDefault | None = USE_CLIENT_DEFAULT,
        project: str | UseClientDefault | None = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str | int] | None = None,
    ) -> Client:
        """Return a copy of this client with other settings, sharing its connections.

        The copy uses this client's aiohttp session (created or borrowed), so it costs no
        new connection pool. Closing the copy ends its own calls in flight and leaves the
        session open; closing this client closes the session and every copy. Settings
        not given are this client's; ``default_headers`` and ``default_query`` are added
        to this client's. Environment variables are not read again.

        Example::

            patient = client.with_options(timeout=120, max_retries=5)

        Raises:
            TypeError: Both ``max_retries`` and ``retry_policy`` were given.
            ValueError: As for :class:`Client`.
        """
        if max_retries is not None and retry_policy is None:
            policy = attrs.evolve(self.retry_policy, max_retries=max_retries)
        elif max_retries is None and retry_policy is None:
            policy = self.retry_policy
        else:
            policy = _retry_policy(max_retries, retry_policy)
        copy = Client.__new__(Client)
        if api_key is USE_CLIENT_DEFAULT:
            copy._api_key = self._api_key
        elif not api_key:
            raise OpenAIError("with_options() was given an empty api_key")
        else:
            copy._api_key = _Key(api_key)
        copy.base_url = self.base_url if base_url is USE_CLIENT_DEFAULT else base_url
        copy.organization = (
            self.organization if organization is USE_CLIENT_DEFAULT else organization
        )
        copy.project = self.project if project is USE_CLIENT_DEFAULT else project
        copy.timeout = self.timeout if timeout is USE_CLIENT_DEFAULT else Timeout.of(timeout)
        copy.retry_policy = policy
        copy.webhook_secret = self.webhook_secret
        copy.default_headers = {
            **self.default_headers,
            **check_headers("default_headers", default_headers or {}),
        }
        copy.default_query = {**self.default_query, **_query(default_query)}
        copy._allow_insecure_http = self._allow_insecure_http
        copy._emit = self._emit
        copy.api_version = self.api_version
        copy._azure = self._azure
        if self._azure is not None and api_key is not USE_CLIENT_DEFAULT:
            raise TypeError("an Azure client's credential is set by Client.azure(), not api_key")
        copy._connect(session=None, parent=self._transport)
        copy._uploads = copy._files = copy._batches = copy._webhooks = copy._jobs = None
        return copy

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
