"""The ARI client as the adapter uses it: connecting without aioari's leak, and errors told
without the credentials aioari puts in URLs."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable
from typing import Any

import aioari
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient

from ivr.config import AriSettings


async def ignore_missing(request: Awaitable[Any]) -> None:
    # The channel or bridge may be gone already (hung up, destroyed): nothing left to do.
    try:
        await request
    except Exception as exc:
        if getattr(exc, "status", None) != 404 and getattr(exc, "status_code", None) != 404:
            raise


async def connect(settings: AriSettings) -> Any:
    """aioari.connect(), minus its leak: when loading the API docs fails it never closes its
    HTTP session, and a PBX that restarts would leave one behind per attempt."""
    host = urllib.parse.urlparse(settings.url).netloc.split(":")[0]
    token = f"{settings.user}:{settings.password.get_secret_value()}"
    http = AsynchronousHttpClient(auth=ApiKeyAuthenticator(host, token))
    client = aioari.Client(settings.url, http)
    try:
        await client.init()
    except BaseException:
        await http.close()
        raise
    return client


def describe(exc: BaseException) -> str:
    # aiohttp errors carry the request URL, and aioari puts the api_key in it: keep it out.
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    text = getattr(exc, "text", None) or getattr(exc, "reason", None) or ""
    if status:
        return f"HTTP {status} {str(text)[:200]}".strip()
    return type(exc).__name__ + (f": {str(exc)[:200]}" if "api_key" not in str(exc) else "")
