"""A thin ARI client on aiohttp: the REST operations the adapter uses and the event WebSocket.

Why not aioari: it loads Asterisk's swagger docs (a dozen documents) at every connect and
builds a Python class for every request (`aioari/model.py`), freed only by the cycle
collector: about a third of the daemon's CPU per call in issue 14's profile, for a dozen
operations whose paths and parameters never change. And it sends the credentials as an
`api_key` in every URL, where aiohttp's errors, tracebacks and proxies' logs show them.
Here: REST requests over our own keep-alive connections (`http.HttpConnections`: why, in
its module) and the event WebSocket over aiohttp; HTTP basic auth; plain JSON in and out;
errors (`AriError`) carry the status and Asterisk's message, never the credentials.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from ivr.config import AriSettings
from ivr.pbx.ari.http import HttpConnections

# A request Asterisk does not answer within this long has failed (the call's next commands
# wait behind it); the event socket has no such limit.
REQUEST_SECONDS = 10.0


class AriError(Exception):
    """ARI refused a request: its HTTP status and Asterisk's own message."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {message}".strip())
        self.status = status
        self.message = message


class AriClient:
    """The ARI operations of the adapter over one keep-alive HTTP session."""

    def __init__(self, settings: AriSettings) -> None:
        self._base = URL(settings.url.rstrip("/")) / "ari"
        token = f"{settings.user}:{settings.password.get_secret_value()}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(token).decode("ascii")}
        self._session = aiohttp.ClientSession(
            headers=auth, timeout=aiohttp.ClientTimeout(total=None)
        )
        self._http = HttpConnections(
            self._base.host or "127.0.0.1",
            self._base.port or 80,
            auth,
            tls=self._base.scheme == "https",
        )
        self._path = self._base.raw_path.rstrip("/") + "/"

    async def close(self) -> None:
        self._http.close()
        await self._session.close()

    async def events(self, app: str) -> aiohttp.ClientWebSocketResponse:
        """The app's event WebSocket (this registers the Stasis app with Asterisk)."""
        url = self._base.with_scheme("wss" if self._base.scheme == "https" else "ws")
        try:
            return await self._session.ws_connect(url / "events", params={"app": app})
        except aiohttp.WSServerHandshakeError as exc:
            raise AriError("GET", "/ari/events", exc.status, exc.message) from None

    async def request(
        self,
        method: str,
        segments: Sequence[str],
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """One REST request to /ari/SEGMENTS; Asterisk's JSON answer, or None without one."""
        path = self._path + "/".join(quote(segment, safe="") for segment in segments)
        target = f"{path}?{urlencode(params, quote_via=quote)}" if params else path
        data = None if body is None else json.dumps(body).encode()
        answer = await self._http.request(method, target, data, REQUEST_SECONDS)
        if answer.status >= 400:
            raise AriError(method, path, answer.status, _message(answer.body))
        if answer.body and answer.content_type == "application/json":
            return json.loads(answer.body)
        return None

    # Channels.

    async def channels(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.request("GET", ["channels"])
        return found

    def answer(self, channel: str) -> Awaitable[Any]:
        return self.request("POST", ["channels", channel, "answer"])

    def hang_up(self, channel: str) -> Awaitable[Any]:
        return self.request("DELETE", ["channels", channel])

    def play(
        self, channel: str, playback: str, media: Iterable[str], language: str
    ) -> Awaitable[Any]:
        """One playback of several media, one after the other (one PlaybackFinished)."""
        params = {"media": ",".join(media), "lang": language}
        return self.request("POST", ["channels", channel, "play", playback], params)

    def stop_playback(self, playback: str) -> Awaitable[Any]:
        return self.request("DELETE", ["playbacks", playback])

    def start_music(self, channel: str, music_class: str) -> Awaitable[Any]:
        return self.request("POST", ["channels", channel, "moh"], {"mohClass": music_class})

    def stop_music(self, channel: str) -> Awaitable[Any]:
        return self.request("DELETE", ["channels", channel, "moh"])

    def originate(
        self, channel: str, endpoint: str, app: str, app_args: str, caller_id: str | None,
        timeout: int,
    ) -> Awaitable[Any]:  # fmt: skip
        """A new channel `channel` to `endpoint`, into Stasis(app, app_args) once answered."""
        params = {"endpoint": endpoint, "app": app, "appArgs": app_args, "timeout": str(timeout)}
        if caller_id:
            params["callerId"] = caller_id
        return self.request("POST", ["channels", channel], params)

    def continue_in_dialplan(self, channel: str, label: str = "") -> Awaitable[Any]:
        params = {"label": label} if label else None
        return self.request("POST", ["channels", channel, "continue"], params)

    def record(self, channel: str, name: str, **options: str) -> Awaitable[Any]:
        """Record the channel's caller to the stored recording `name` (ARI's parameters)."""
        return self.request("POST", ["channels", channel, "record"], {"name": name, **options})

    def snoop(
        self, channel: str, snoop_id: str, spy: str, whisper: str, app: str, app_args: str
    ) -> Awaitable[Any]:
        """A snoop channel `snoop_id` on `channel`, into Stasis(app, app_args): it hears the
        channel's audio in the `spy` direction(s) and speaks into the `whisper` one(s)
        (`in`: from the channel, `out`: to it, `both`, `none`)."""
        params = {"spy": spy, "whisper": whisper, "app": app, "appArgs": app_args}
        return self.request("POST", ["channels", channel, "snoop", snoop_id], params)

    # Bridges and recordings.

    def create_bridge(self, bridge: str) -> Awaitable[Any]:
        return self.request("POST", ["bridges", bridge], {"type": "mixing"})

    def add_to_bridge(self, bridge: str, channels: Iterable[str]) -> Awaitable[Any]:
        params = {"channel": ",".join(channels)}
        return self.request("POST", ["bridges", bridge, "addChannel"], params)

    def remove_from_bridge(self, bridge: str, channel: str) -> Awaitable[Any]:
        return self.request("POST", ["bridges", bridge, "removeChannel"], {"channel": channel})

    def destroy_bridge(self, bridge: str) -> Awaitable[Any]:
        return self.request("DELETE", ["bridges", bridge])

    def record_bridge(self, bridge: str, name: str) -> Awaitable[Any]:
        params = {"name": name, "format": "wav", "ifExists": "overwrite"}
        return self.request("POST", ["bridges", bridge, "record"], params)

    def mute_recording(self, name: str, mute: bool) -> Awaitable[Any]:
        return self.request("POST" if mute else "DELETE", ["recordings", "live", name, "mute"])

    # The application.

    def allow_events(self, app: str, types: Iterable[str]) -> Awaitable[Any]:
        """Asterisk sends the app only events of these types (ARI's event filter)."""
        body = {"allowed": [{"type": kind} for kind in types]}
        return self.request("PUT", ["applications", app, "eventFilter"], body=body)


async def ignore_missing(request: Awaitable[Any]) -> None:
    # The channel or bridge may be gone already (hung up, destroyed): nothing left to do.
    try:
        await request
    except AriError as exc:
        if exc.status != 404:
            raise


def describe(exc: BaseException) -> str:
    """What failed, for the log: the status and Asterisk's message, or the error's kind."""
    if isinstance(exc, AriError):
        return f"HTTP {exc.status} {exc.message}".strip()
    text = str(exc)[:200]
    return type(exc).__name__ + (f": {text}" if text else "")


def _message(data: bytes) -> str:
    """Asterisk's `{"message": ...}` (or the start of whatever else it said)."""
    try:
        found = json.loads(data)
    except ValueError:
        return data[:200].decode("utf-8", "replace").strip()
    message = found.get("message") if isinstance(found, dict) else None
    return message[:200] if isinstance(message, str) else ""
