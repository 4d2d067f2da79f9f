"""Copy a stored recording out of Asterisk (ARI) into our folder, then delete Asterisk's copy."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
from yarl import URL

from ivr.logs import event
from ivr.recordings.files import private_temp

log = logging.getLogger("ivr.recordings")

# Asterisk keeps `name` as /var/spool/asterisk/recording/<name>.wav; `/` makes subfolders.
_PART = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}"  # no part starts with a dot: no `..`
STORED_NAME = re.compile(rf"^{_PART}(/{_PART})*$")
CHUNK = 64 * 1024


class FetchError(Exception):
    """A stored recording could not be copied; the message names it and the HTTP status."""

    def __init__(self, name: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"stored recording {name!r}: {reason}")
        self.name = name
        self.status = status


def stored_url(ari_url: str, name: str) -> URL:
    """`{ari_url}/ari/recordings/stored/{name}`, the name one URL-quoted path segment."""
    if not STORED_NAME.fullmatch(name) or len(name) > 255:
        raise FetchError(name, "not a stored recording name")
    quoted = urllib.parse.quote(name, safe="")  # a `/` in a name travels as %2F
    return URL(f"{ari_url.rstrip('/')}/ari/recordings/stored/{quoted}", encoded=True)


async def fetch_stored(
    session: aiohttp.ClientSession,
    ari_url: str,
    user: str,
    password: str,
    name: str,
    dest: Path,
) -> int:
    """Download stored recording `name` to `dest` (0o600, atomically), delete it from Asterisk.

    Returns the bytes written. FetchError when the download fails; a failed delete is only
    logged, since our copy is safe by then.
    """
    url = stored_url(ari_url, name)
    auth = {"Authorization": _basic(user, password)}
    size = 0
    fd, temp = private_temp(dest)
    try:
        with os.fdopen(fd, "wb") as out:
            async with session.get(url / "file", headers=auth, allow_redirects=False) as reply:
                if reply.status != 200:
                    raise FetchError(name, _refusal(reply.status), reply.status)
                async for chunk in reply.content.iter_chunked(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
        os.replace(temp, dest)
    except (aiohttp.ClientError, TimeoutError) as exc:
        temp.unlink(missing_ok=True)
        # The exception's text may carry the URL; its type is enough and never holds secrets.
        raise FetchError(name, f"download failed ({type(exc).__name__})") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    await _delete(session, url, auth, name)
    return size


async def _delete(session: aiohttp.ClientSession, url: URL, auth: dict[str, str],
                  name: str) -> None:  # fmt: skip
    try:
        async with session.delete(url, headers=auth, allow_redirects=False) as reply:
            if reply.status not in (200, 204, 404):
                event(log, "recording.spool_delete_failed", logging.WARNING, name=name,
                      status=reply.status)  # fmt: skip
    except (aiohttp.ClientError, TimeoutError) as exc:
        event(log, "recording.spool_delete_failed", logging.WARNING, name=name,
              error=type(exc).__name__)  # fmt: skip


def _basic(user: str, password: str) -> str:
    # Built by hand: aiohttp 3.14 deprecates BasicAuth, and its successor is not in 3.9.
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _refusal(status: int) -> str:
    if status == 401:
        return "ARI refused the user and password (401)"
    if status == 404:
        return "Asterisk has no such recording (404)"
    return f"ARI answered HTTP {status}"


async def fetch_patiently(
    fetch: Callable[[str, Path], Awaitable[int]], name: str, dest: Path, delays: Sequence[float]
) -> tuple[int | None, str]:
    """Try `fetch` at once, then after each delay (Asterisk may still be closing the file):
    the bytes copied, or None and the last error."""
    error = ""
    for delay in (0.0, *delays):
        if delay:
            await asyncio.sleep(delay)
        try:
            return await fetch(name, dest), ""
        except Exception as exc:  # the fetch is injected; any failure is worth another try
            error = str(exc)[:200]
    return None, error
