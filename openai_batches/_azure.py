"""Azure OpenAI: where requests go, the ``api-version`` they carry, and how they sign in.

Pure configuration, read from arguments and the ``AZURE_OPENAI_*`` variables as
openai-python's ``AzureOpenAI`` reads them; :meth:`Client.azure` hands the result to the
transport. The Batch and Files APIs are not per deployment on Azure, so every path sits
under ``{endpoint}/openai`` (with ``api-version``) or, on the v1 API, ``{endpoint}/openai/v1``
(where ``api-version`` is optional).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping

import attrs
from yarl import URL

from ._client import _header_value
from ._errors import OpenAIError

__all__ = ["AzureADTokenProvider", "AzureSettings", "azure_settings"]

#: Returns an Entra ID (Azure AD) access token; called before every attempt.
AzureADTokenProvider = Callable[[], str | Awaitable[str]]

AuthHeaders = Callable[[], Awaitable[Mapping[str, str]]]


@attrs.frozen
class AzureSettings:
    """What the transport needs to talk to one Azure OpenAI resource."""

    base_url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    auth: AuthHeaders | None
    api_version: str | None


def _env(name: str) -> str | None:
    # An empty variable counts as unset, as in openai-python.
    return os.environ.get(name) or None


def _base_url(endpoint: str) -> tuple[str, bool]:
    """The base URL under an endpoint, and whether it is the v1 API.

    Raises:
        ValueError: The endpoint names a deployment (Batch and Files are per resource).
    """
    url = URL(endpoint)
    path = url.path.rstrip("/")
    if "/deployments/" in f"{path}/":
        raise ValueError(
            f"azure_endpoint {endpoint!r} names a deployment, but the Batch and Files APIs "
            "belong to the resource: give https://RESOURCE.openai.azure.com and put the "
            'deployment name in each batch line\'s body as "model"'
        )
    root = endpoint.rstrip("/")
    if path.endswith("/openai/v1"):
        return root, True
    if path.endswith("/openai"):
        return root, False
    return f"{root}/openai", False


def token_headers(provider: AzureADTokenProvider) -> AuthHeaders:
    """Wrap a token provider into a coroutine that gives each attempt's auth header.

    Raises (from the coroutine):
        TypeError: The provider returned something other than a non-empty string.
        ValueError: The token has a line break or another control character.
    """

    async def headers() -> Mapping[str, str]:
        token = provider()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise TypeError(
                "azure_ad_token_provider must return a non-empty string (an access "
                f"token), got {type(token).__name__}"
            )
        return {"Authorization": f"Bearer {_header_value('azure_ad_token', token)}"}

    return headers


def azure_settings(
    *,
    azure_endpoint: str | None,
    api_version: str | None,
    api_key: str | None,
    azure_ad_token: str | None,
    azure_ad_token_provider: AzureADTokenProvider | None,
) -> AzureSettings:
    """Resolve arguments and environment variables into :class:`AzureSettings`.

    With no credential argument, ``AZURE_OPENAI_AD_TOKEN`` is used, then
    ``AZURE_OPENAI_API_KEY`` (the order openai-python follows).

    Raises:
        OpenAIError: No endpoint, no api-version (outside the v1 API), no credential, or
            more than one credential argument.
        ValueError: The endpoint names a deployment, or a header value has a line break.
    """
    given = [
        name
        for name, value in (
            ("api_key", api_key),
            ("azure_ad_token", azure_ad_token),
            ("azure_ad_token_provider", azure_ad_token_provider),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise OpenAIError(
            f"Client.azure() takes one credential, got {' and '.join(given)}: pass only one "
            "of api_key, azure_ad_token and azure_ad_token_provider"
        )
    if not given:
        azure_ad_token = _env("AZURE_OPENAI_AD_TOKEN")
        if azure_ad_token is None:
            api_key = _env("AZURE_OPENAI_API_KEY")
    if api_key is None and azure_ad_token is None and azure_ad_token_provider is None:
        raise OpenAIError(
            "No Azure credential: pass api_key=, azure_ad_token= or azure_ad_token_provider= "
            "to Client.azure(), or set the AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN "
            "environment variable."
        )
    endpoint = azure_endpoint or _env("AZURE_OPENAI_ENDPOINT")
    if endpoint is None:
        raise OpenAIError(
            "No Azure endpoint: pass azure_endpoint='https://RESOURCE.openai.azure.com' to "
            "Client.azure() or set the AZURE_OPENAI_ENDPOINT environment variable."
        )
    base_url, v1 = _base_url(endpoint)
    api_version = api_version or _env("OPENAI_API_VERSION")
    if api_version is None and not v1:
        raise OpenAIError(
            "No Azure api-version: pass api_version='2024-10-21' (or another version your "
            "resource serves) to Client.azure(), set the OPENAI_API_VERSION environment "
            "variable, or use the v1 API with azure_endpoint='https://RESOURCE.openai.azure.com"
            "/openai/v1', which needs none."
        )
    headers: dict[str, str] = {}
    if api_key is not None:
        headers["api-key"] = _header_value("api_key", api_key)
    elif azure_ad_token is not None:
        headers["Authorization"] = f"Bearer {_header_value('azure_ad_token', azure_ad_token)}"
    auth = None if azure_ad_token_provider is None else token_headers(azure_ad_token_provider)
    query = {} if api_version is None else {"api-version": api_version}
    return AzureSettings(base_url, query, headers, auth, api_version)
