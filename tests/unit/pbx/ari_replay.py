"""Recorded ARI traffic played back over real HTTP and a real WebSocket, as Asterisk sent it.

A cassette (`cassettes/NAME.json`, written by `record_ari.py`) is a timeline of what crossed
the wire between the ARI client and Asterisk 22:

- `{"exchange": N, "request": {...}, "response": {...}}` where the request arrived,
- `{"responded": N}` where its response went back,
- `{"event": {...}, "connection": C}` where Asterisk pushed an event on event socket C,
- `{"ws": "open" | "drop" | "closed", "connection": C}`: the client's event socket C came up,
  was cut on the server's side (a network blip, Asterisk going away), or was closed by the
  client,
- `{"note": "..."}`: what the recorder did then (a caller hung up, ...), for readers.

`AriReplay` serves it from 127.0.0.1 on a free port. Requests are matched by method and path to
the first recorded exchange not yet used (commands of different calls may interleave
differently from the recording); a query or body that differs from the recording is a
problem. Events and socket drops are held back until every request recorded before them has
arrived, so an event never overtakes the request that caused it; a response waits until the
events recorded before it were pushed. API docs (`/ari/api-docs/...`) come from the shared
`cassettes/api-docs.json`, whatever the cassette.

`AdapterRun` runs `AriPbx` against a URL and hands its core events over as a queue.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from ivr.calls.events import CallEvent, PbxSynced
from ivr.calls.legs import LegEvent
from ivr.config import AriSettings, ReconnectSettings
from ivr.pbx.ari.pbx import AriPbx

CASSETTES = Path(__file__).parent / "cassettes"
API_DOCS = "api-docs.json"
# Stands for scheme://host:port of whatever served the docs: the swagger basePath is absolute.
ORIGIN = "{origin}"
DOCS_PREFIX = "/ari/api-docs/"
EVENTS_PATH = "/ari/events"
# Query parameters that carry credentials: never recorded, never compared.
SECRET_PARAMS = frozenset({"api_key"})

Json = Any
Entry = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One REST request as it crossed the wire (credentials left out)."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Json = None

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def of(cls, data: dict[str, Any]) -> Request:
        return cls(data["method"], data["path"], dict(data.get("query") or {}), data.get("body"))

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query, "body": self.body}


@dataclass(frozen=True)
class Cassette:
    """A recorded session: the Stasis app it used, the ids the recorder saw, the timeline."""

    name: str
    app: str
    ids: dict[str, str]
    timeline: list[Entry]
    description: str = ""

    @classmethod
    def load(cls, name: str, folder: Path = CASSETTES) -> Cassette:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        return cls(
            name=name,
            app=data["app"],
            ids=dict(data.get("ids") or {}),
            timeline=list(data["timeline"]),
            description=data.get("description", ""),
        )

    def exchanges(self) -> list[Entry]:
        return [entry for entry in self.timeline if "exchange" in entry]


def load_docs(folder: Path = CASSETTES) -> dict[str, Json]:
    """The shared swagger docs: file name (resources.json, channels.json, ...) -> document."""
    docs: dict[str, Json] = json.loads((folder / API_DOCS).read_text(encoding="utf-8"))
    return docs


def with_origin(document: Json, origin: str) -> Json:
    """`document` with the ORIGIN placeholder replaced (swagger's basePath is absolute)."""
    return json.loads(json.dumps(document).replace(ORIGIN, origin))


def dump_cassette(data: dict[str, Any]) -> str:
    """A cassette as JSON with one timeline entry per line: small, and diffs stay readable."""
    head = {key: value for key, value in data.items() if key != "timeline"}
    lines = [json.dumps(entry, ensure_ascii=False, sort_keys=True) for entry in data["timeline"]]
    text = json.dumps(head, ensure_ascii=False, indent=1)
    timeline = ",\n  ".join(lines)
    return text[:-2] + f',\n "timeline": [\n  {timeline}\n ]\n}}\n'


class _Signal:
    """Wakes whoever waits for the replay's state to change."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def poke(self) -> None:
        self._event.set()

    async def until(self, check: Callable[[], bool]) -> None:
        while not check():
            # No await between check() and clear(): a poke cannot slip in unseen.
            self._event.clear()
            await self._event.wait()


class AriReplay:
    """An ARI server on 127.0.0.1 that plays `cassette` to whichever client connects."""

    def __init__(
        self,
        cassette: Cassette,
        docs: dict[str, Json] | None = None,
        user: str = "ivr",
        password: str = "replay-secret",
        hold_seconds: float = 2.0,
    ) -> None:
        self.cassette = cassette
        self.docs = docs if docs is not None else load_docs()
        self.user = user
        self.password = password
        self.hold_seconds = hold_seconds
        # Every REST request the client made besides the API docs, in the order they came.
        self.requests: list[Request] = []
        # Answers that differ from the recording: a test passes only with none.
        self.problems: list[str] = []
        self.docs_fetched = 0
        self.connections = 0
        self._server: TestServer | None = None
        self._signal = _Signal()
        self._used: set[int] = set()
        self._sent: set[int] = set()
        self._released: dict[int, asyncio.Event] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._position = 0
        self._pump: asyncio.Task[None] | None = None
        self._before: list[frozenset[int]] = []
        seen: set[int] = set()
        for entry in cassette.timeline:
            self._before.append(frozenset(seen))
            if "exchange" in entry:
                seen.add(int(entry["exchange"]))
                self._released[int(entry["exchange"])] = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.port}"

    async def start(self) -> AriReplay:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self._pump = asyncio.create_task(self._play())
        return self

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for socket in self._sockets:
            await socket.close()
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> AriReplay:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # What a test asserts on.

    def calls(self) -> list[str]:
        """The REST requests made, as `METHOD /path` lines in the order they came."""
        return [request.line for request in self.requests]

    def unplayed(self) -> list[str]:
        """What the cassette still holds: requests never made, events never pushed."""
        left = [
            f"{entry['request']['method']} {entry['request']['path']}"
            for entry in self.cassette.exchanges()
            if int(entry["exchange"]) not in self._used
        ]
        rest = self.cassette.timeline[self._position :]
        left += [f"event {entry['event'].get('type')}" for entry in rest if "event" in entry]
        return left

    async def played(self, timeout: float = 5.0) -> None:
        """Wait until the whole cassette was played; fail at the first problem, or saying what
        is left after `timeout` seconds."""

        def over() -> bool:
            done = self._pump is not None and self._pump.done() and self._all_used()
            return done or bool(self.problems)

        try:
            await asyncio.wait_for(self._signal.until(over), timeout)
        except TimeoutError:
            entry = self.cassette.timeline[min(self._position, len(self.cassette.timeline) - 1)]
            raise AssertionError(
                f"cassette {self.cassette.name} not played within {timeout} s; stuck at "
                f"#{self._position} {json.dumps(entry)[:300]}; left: {self.unplayed()}; "
                f"problems: {self.problems}"
            ) from None
        assert not self.problems, self.problems

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `check()` holds for the requests and problems seen so far."""
        await asyncio.wait_for(self._signal.until(check), timeout)

    def _problem(self, text: str) -> None:
        self.problems.append(text)
        self._signal.poke()

    def _all_used(self) -> bool:
        return len(self._used) == len(self._released)

    # The timeline.

    async def _play(self) -> None:
        try:
            await self._play_timeline()
        except Exception as exc:
            # A test waiting on the replay hears of it rather than timing out.
            self._problem(f"the replay broke at #{self._position}: {exc!r}")

    async def _play_timeline(self) -> None:
        for index, entry in enumerate(self.cassette.timeline):
            self._position = index
            connection = int(entry.get("connection", 0))
            if "event" in entry:
                await self._signal.until(partial(self._ready, index, connection))
                await self._sockets[connection - 1].send_str(_compact(entry["event"]))
            elif "responded" in entry:
                number = int(entry["responded"])
                self._released[number].set()
                if number in self._used:
                    # Let that response reach the client before what the recording has after it.
                    await self._signal.until(partial(self._sent.__contains__, number))
            elif entry.get("ws") == "open":
                await self._signal.until(partial(self._ready, index, connection))
            elif entry.get("ws") == "drop":
                await self._signal.until(partial(self._ready, index, connection))
                await self._sockets[connection - 1].close()
            # "closed" (by the client) and notes need nothing from the server.
        self._position = len(self.cassette.timeline)
        self._signal.poke()

    def _ready(self, index: int, connection: int) -> bool:
        """Every request recorded before entry `index` came, and socket `connection` is up."""
        return self._before[index] <= self._used and len(self._sockets) >= connection

    # HTTP.

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            self._problem(f"unauthenticated {request.method} {request.path}")
            return web.json_response({"message": "Authentication required"}, status=401)
        if request.path.startswith(DOCS_PREFIX):
            return self._serve_docs(request)
        if request.path == EVENTS_PATH and request.headers.get("Upgrade", "").lower() == (
            "websocket"
        ):
            return await self._serve_events(request)
        return await self._serve_rest(request)

    def _authorized(self, request: web.Request) -> bool:
        wanted = f"{self.user}:{self.password}"
        if request.query.get("api_key") == wanted:
            return True
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            return base64.b64decode(header[6:]).decode() == wanted
        except (binascii.Error, UnicodeDecodeError):
            return False

    def _serve_docs(self, request: web.Request) -> web.Response:
        self.docs_fetched += 1
        document = self.docs.get(request.path.removeprefix(DOCS_PREFIX))
        if document is None:
            self._problem(f"API docs not recorded: {request.path}")
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response(with_origin(document, f"http://{request.host}"))

    async def _serve_rest(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen = Request(request.method, request.path, _query(request), body_of(raw))
        self.requests.append(seen)
        number = self._match(seen)
        if number is None:
            self._problem(f"not in the cassette: {seen.line} {seen.query or ''}")
            return web.json_response({"message": "not in the cassette"}, status=500)
        self._used.add(number)
        self._signal.poke()
        exchange = self._exchange(number)
        recorded = Request.of(exchange["request"])
        if (seen.query, seen.body) != (recorded.query, recorded.body):
            self._problem(
                f"{seen.line}: sent query {seen.query} body {seen.body!r}, "
                f"recorded query {recorded.query} body {recorded.body!r}"
            )
        try:
            await asyncio.wait_for(self._released[number].wait(), self.hold_seconds)
        except TimeoutError:
            self._problem(f"{seen.line}: events recorded before its answer never went")
        response = _response(exchange["response"])
        await response.prepare(request)
        await response.write_eof()
        self._sent.add(number)
        self._signal.poke()
        return response

    def _match(self, seen: Request) -> int | None:
        for entry in self.cassette.exchanges():
            number = int(entry["exchange"])
            if number in self._used:
                continue
            recorded = entry["request"]
            if (recorded["method"], recorded["path"]) == (seen.method, seen.path):
                return number
        return None

    def _exchange(self, number: int) -> Entry:
        return next(e for e in self.cassette.exchanges() if int(e["exchange"]) == number)

    # The event WebSocket.

    async def _serve_events(self, request: web.Request) -> web.WebSocketResponse:
        app = request.query.get("app", "")
        if app != self.cassette.app:
            self._problem(f"event socket for app {app!r}, recorded {self.cassette.app!r}")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        self._sockets.append(socket)
        self._signal.poke()
        async for message in socket:
            # ARI clients send nothing on this socket; anything but control frames is a surprise.
            if message.type == WSMsgType.TEXT:
                self._problem(f"client sent on the event socket: {message.data[:200]}")
        return socket


def _query(request: web.Request) -> dict[str, str]:
    return {key: value for key, value in request.query.items() if key not in SECRET_PARAMS}


def body_of(raw: bytes) -> Json:
    """A request's or response's body as JSON, or as text when it is none."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _response(recorded: dict[str, Any]) -> web.Response:
    status = int(recorded["status"])
    body = recorded.get("body")
    if body is None:
        return web.Response(status=status)
    if isinstance(body, str) and recorded.get("content_type", "").startswith("text/"):
        return web.Response(status=status, text=body, content_type=recorded["content_type"])
    return web.json_response(body, status=status, dumps=_compact)


def _compact(data: Json) -> str:
    # As Asterisk writes JSON (ari.conf pretty = no): clients may show the text as it came.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class AdapterRun:
    """`AriPbx` connected to `url`, its core events in a queue, its link states in a list."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        app: str = "ivr",
        reconnect: ReconnectSettings | None = None,
    ) -> None:
        settings = AriSettings(url=url, user=user, password=SecretStr(password), app=app)
        self.events: asyncio.Queue[CallEvent | LegEvent] = asyncio.Queue()
        # What each resync found (PbxSynced), kept apart from the calls' own events.
        self.synced: list[frozenset[str]] = []
        self.states: list[bool] = []
        self._state_changed = _Signal()
        self.pbx = AriPbx(
            settings,
            reconnect or ReconnectSettings(initial=0.01, maximum=0.05),
            self._event,
            self._status,
        )
        self._task: asyncio.Task[None] | None = None

    def _event(self, event: CallEvent | LegEvent) -> None:
        if isinstance(event, PbxSynced):
            self.synced.append(event.present)
        else:
            self.events.put_nowait(event)

    def _status(self, up: bool) -> None:
        self.states.append(up)
        self._state_changed.poke()

    async def start(self, timeout: float = 5.0) -> AdapterRun:
        """Run the adapter and return once its event socket is up."""
        self._task = asyncio.create_task(self.pbx.run())
        await self.wait_link(up=True, count=1, timeout=timeout)
        return self

    async def wait_link(self, up: bool, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until the link has gone `up` (or down) `count` times in all."""
        await asyncio.wait_for(
            self._state_changed.until(lambda: self.states.count(up) >= count), timeout
        )

    async def next_event(self, timeout: float = 5.0) -> CallEvent | LegEvent:
        """The next core event the adapter emitted; fails after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.events.get(), timeout)
        except TimeoutError:
            raise AssertionError(f"no core event within {timeout} s") from None

    async def next_events(self, count: int, timeout: float = 5.0) -> list[CallEvent | LegEvent]:
        return [await self.next_event(timeout) for _ in range(count)]

    def pending(self) -> list[CallEvent | LegEvent]:
        """Events emitted but not taken yet."""
        items = []
        while not self.events.empty():
            items.append(self.events.get_nowait())
        return items

    async def close(self) -> None:
        await self.pbx.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 5.0)
