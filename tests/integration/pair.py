"""Lab helpers for an active/standby pair: a redis-server of the test's own, two `ivr run`
daemons sharing it with `failover.enabled`, and a tap in front of each daemon's ARI and AMI
links that notes every request or action that daemon sent, and when.

The taps are how a test knows *which* daemon sent a command: Asterisk cannot tell two clients
with the same credentials apart, and a daemon logs no successful command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import redis

from ivr.store.redis import LIVE, STREAM
from tests.integration.lab import DaemonProcess, free_tcp_port, log_fields, log_time

ARI_PORT = 8088
AMI_PORT = 5038
# An HTTP request line. The query string is left out: aioari puts the api_key there.
REQUEST = re.compile(rb"(GET|POST|PUT|DELETE|PATCH) (/[^ ?\r\n]*)[^ \r\n]* HTTP/1\.[01]\r\n")
ACTION = re.compile(rb"(?im)^Action: *([A-Za-z]+)\r\n")
# WebSocket opcodes, for frames a daemon sends on its event socket after the upgrade.
OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}
KEEP = 4096  # bytes of an unparsed tail kept for a request line split across reads
Noter = Callable[[str, float], None]


@dataclass(frozen=True)
class Sent:
    """One thing a daemon sent to Asterisk: `POST /ari/channels/ID/moh`, `Action: Ping`,
    `websocket close`; `at` is the Unix time the tap read it."""

    at: float
    what: str


class Tap:
    """A TCP relay between one daemon and Asterisk's ARI (HTTP) or AMI port that notes what
    the daemon sent. It runs its own event loop in a thread, so that a test blocked in a
    synchronous wait never delays a daemon's traffic."""

    def __init__(self, kind: Literal["ari", "ami"]) -> None:
        self.kind = kind
        self.upstream = ARI_PORT if kind == "ari" else AMI_PORT
        self.port = 0
        self._sent: list[Sent] = []
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    def start(self) -> Tap:
        self._thread.start()
        serving = asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(serving, self._loop).result(5)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def close(self) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for relay in list(self._relays):
                relay.cancel()
            await asyncio.gather(*self._relays, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def sent(self, after: float = 0.0) -> list[Sent]:
        """Everything the daemon sent later than `after` (Unix time), in order."""
        with self._changed:
            return [s for s in self._sent if s.at > after]

    def wait_for(self, pattern: str, timeout: float, after: float = 0.0) -> Sent:
        """The first thing sent later than `after` whose text matches `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self._sent:
                    if item.at > after and regex.search(item.what):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    last = [s.what for s in self._sent[-10:]]
                    raise AssertionError(f"{self.kind} tap: nothing like {pattern!r}; last {last}")
                self._changed.wait(left)

    def _note(self, what: str, at: float) -> None:
        with self._changed:
            self._sent.append(Sent(at, what))
            self._changed.notify_all()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.ensure_future(self._relay(reader, writer))
        self._relays.add(relay)
        relay.add_done_callback(self._relays.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, self._outbound())),
            asyncio.ensure_future(self._pump(up_reader, writer, None)),
        ]
        try:
            # Either side closing ends the relay, as a direct connection would end.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for each in (writer, up_writer):
                each.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    noting: _Parser | None) -> None:  # fmt: skip
        while data := await reader.read(65536):
            if noting is not None:
                try:
                    noting.feed(data, time.time())
                except Exception as exc:
                    # The tap must never change the link it watches: note it, go on relaying.
                    self._note(f"tap: not parsed ({exc!r})", time.time())
                    noting = None
            writer.write(data)
            await writer.drain()

    def _outbound(self) -> _Parser:
        return _HttpParser(self._note) if self.kind == "ari" else _AmiParser(self._note)


class _Parser:
    """Notes what one connection carries from the daemon to Asterisk."""

    def __init__(self, note: Noter) -> None:
        self.note = note
        self.buffer = bytearray()

    def feed(self, data: bytes, at: float) -> None:
        raise NotImplementedError


class _HttpParser(_Parser):
    def __init__(self, note: Noter) -> None:
        super().__init__(note)
        self.upgrading = False  # the event socket's request is out; its headers may not be
        self.websocket = False

    def feed(self, data: bytes, at: float) -> None:
        self.buffer += data
        if not self.upgrading and not self.websocket:
            # Matched on a copy: a match holds the buffer, which then cannot be resized.
            text = bytes(self.buffer)
            end = 0
            for match in REQUEST.finditer(text):
                method, path = match.group(1).decode(), match.group(2).decode(errors="replace")
                self.note(f"{method} {path}", at)
                end = match.end()
                if path == "/ari/events":
                    self.upgrading = True
                    break
            del self.buffer[:end]
            if not self.upgrading:
                del self.buffer[:-KEEP]
                return
        if self.upgrading:
            # What follows the request's headers are WebSocket frames, never request lines.
            headers_end = self.buffer.find(b"\r\n\r\n")
            if headers_end < 0:
                return
            del self.buffer[: headers_end + 4]
            self.upgrading, self.websocket = False, True
        self._frames(at)

    def _frames(self, at: float) -> None:
        """Note each whole frame the daemon sent (an ARI client normally sends none but a
        close; a text frame would be a command over the socket)."""
        while len(self.buffer) >= 2:
            opcode, size = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
            head = 2
            if size == 126:
                head, size = 4, int.from_bytes(self.buffer[2:4], "big")
            elif size == 127:
                head, size = 10, int.from_bytes(self.buffer[2:10], "big")
            head += 4 if self.buffer[1] & 0x80 else 0
            if len(self.buffer) < head + size:
                return
            self.note(f"websocket {OPCODES.get(opcode, hex(opcode))}", at)
            del self.buffer[: head + size]


class _AmiParser(_Parser):
    def feed(self, data: bytes, at: float) -> None:
        self.buffer += data
        end = 0
        for match in ACTION.finditer(bytes(self.buffer)):
            self.note(f"Action: {match.group(1).decode()}", at)
            end = match.end()
        del self.buffer[:end]
        del self.buffer[:-KEEP]


class RedisServer:
    """A redis-server of the test's own on a free port, so that a test may stop, pause or
    restart it without touching anybody else's. No persistence, like the lab's, unless
    `persistent`: then an append-only file in `folder`, which a `restart` reads back."""

    def __init__(self, folder: Path, persistent: bool = False) -> None:
        self.folder = folder
        self.persistent = persistent
        self.port = free_tcp_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.folder), "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)

    def ping(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def get(self, key: str) -> str | None:
        with self.client() as client:
            value = client.get(key)
            return None if value is None else str(value)

    def pause(self) -> None:
        """SIGSTOP: connections stay open and requests go unanswered, as on a hung host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, timeout: float = 10.0) -> float:
        """SIGTERM, wait for the exit, start again on the same port (and, when persistent,
        the same append-only file); returns the seconds Redis did not answer."""
        assert self.process is not None and self.process.poll() is None, "redis-server: gone"
        began = time.monotonic()
        self.process.terminate()
        code = self.process.wait(timeout)
        assert code == 0, f"redis-server exited with {code} on SIGTERM"
        self.start(timeout)
        return time.monotonic() - began

    def journal(self, stream: str = STREAM) -> list[tuple[str, str, dict[str, Any]]]:
        """The daemon's journal as Redis holds it (XRANGE of its stream): (call id, kind,
        fields), in stream order."""
        with self.client() as client:
            entries = cast(list[tuple[str, dict[str, str]]], client.xrange(stream))
        return [(e["call"], e["kind"], json.loads(e["fields"])) for _id, e in entries]

    def live(self, kind: str) -> dict[str, dict[str, Any]]:
        """The live-state records of `kind` (call, agent) in their hash, by key."""
        with self.client() as client:
            values = cast(dict[str, str], client.hgetall(LIVE + kind))
        return {key: json.loads(value) for key, value in values.items()}


class HealthWatch:
    """Polls a daemon's /healthz in a thread of its own (every `every` s, a 2 s timeout per
    request) from `start` to `stop`, and keeps every answer that was not 200, with its Unix
    time: a stalled event loop shows as a timeout here."""

    def __init__(self, daemon: DaemonProcess, every: float = 0.1) -> None:
        self.daemon = daemon
        self.every = every
        self.polls = 0
        self.bad: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _poll(self) -> None:
        while not self._stop.is_set():
            at = time.time()
            try:
                code, body = self.daemon.health()
                if code != 200:
                    self.bad.append((at, f"{code} {body}"))
            except OSError as exc:
                self.bad.append((at, f"no answer in {time.time() - at:.2f} s ({exc!r})"))
            self.polls += 1
            self._stop.wait(self.every)


def redis_daemon(credentials: dict[str, str], workdir: Path, plans: Path, roster: Path,
                 redis_url: str) -> DaemonProcess:  # fmt: skip
    """`ivr run` alone (no failover) whose journal, live state and callbacks are in Redis
    (`store.redis_url`, given as IVR_REDIS_URL); not started."""
    workdir.mkdir(parents=True, exist_ok=True)
    daemon = DaemonProcess(credentials, workdir, plans, roster)
    daemon.env["IVR_REDIS_URL"] = redis_url
    return daemon


class PairDaemon(DaemonProcess):
    """`ivr run` with `failover.enabled` and the shared Redis, its ARI and AMI links through
    taps of its own."""

    def __init__(self, name: str, credentials: dict[str, str], workdir: Path, plans: Path,
                 roster: Path, redis_url: str) -> None:  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(credentials, workdir, plans, roster)
        self.name = name
        self.ari_tap = Tap("ari").start()
        self.ami_tap = Tap("ami").start()
        with self.config.open("a") as config:
            config.write("failover: {enabled: true}\n")
        self.env.update(
            IVR_REDIS_URL=redis_url,
            IVR_ARI_URL=f"http://127.0.0.1:{self.ari_tap.port}",
            IVR_AMI_HOST="127.0.0.1",
            IVR_AMI_PORT=str(self.ami_tap.port),
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: signal.Signals) -> float:
        """Send `signum`; returns the Unix time just before it went (an upper bound for any
        delay measured from it)."""
        assert self.process is not None and self.process.poll() is None, f"{self.name}: gone"
        at = time.time()
        self.process.send_signal(signum)
        return at

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            tail = "\n".join(self.lines[-20:])
            raise AssertionError(f"{self.name} still runs after {timeout} s:\n{tail}") from None

    def logged_at(self, pattern: str, timeout: float, after: int = 0) -> float:
        """The Unix time (`ts=`) of the first log line from index `after` matching `pattern`."""
        return log_time(log_fields(self.wait_log(pattern, timeout, after)))

    def wait_role(self, role: str, timeout: float) -> None:
        """Poll /healthz until it answers 200 with `role` (active, standby)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                code, body = self.health()
                if code == 200 and body.get("role") == role:
                    return
            if time.monotonic() > deadline:
                tail = "\n".join(self.lines[-20:])
                raise AssertionError(f"{self.name}: /healthz never said {role}:\n{tail}")
            time.sleep(0.1)

    def since(self, after: int) -> list[str]:
        """The log lines from index `after` on."""
        return list(self.lines[after:])

    def close(self) -> None:
        """Stop the daemon whatever state the test left it in (paused too), then the taps."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            with contextlib.suppress(AssertionError):
                self.stop()
        self.ari_tap.close()
        self.ami_tap.close()


class Pair:
    """Two daemons for the lab's Asterisk and one Redis: `first` takes the lease and drives,
    `second` is the standby."""

    def __init__(self, credentials: dict[str, str], folder: Path, plans: Path, roster: Path,
                 redis_url: str) -> None:  # fmt: skip
        self.first = PairDaemon("first", credentials, folder / "first", plans, roster, redis_url)
        self.second = PairDaemon("second", credentials, folder / "second", plans, roster,
                                 redis_url)  # fmt: skip

    def start(self, timeout: float = 20.0) -> Pair:
        # One after the other, so which one is active is known, not raced for.
        self.first.start()
        self.first.wait_log(r"event=failover\.active ", timeout)
        self.second.start()
        self.second.wait_log(r"event=failover\.standby ", timeout)
        self.first.wait_health(200, timeout, ari=True, ami=True)
        self.first.wait_role("active", 1)
        self.second.wait_role("standby", timeout)
        return self

    def close(self) -> None:
        self.first.close()
        self.second.close()


@dataclass(frozen=True)
class Music:
    """A MusicOnHoldStart or MusicOnHoldStop event of one channel, and when it came."""

    at: float
    channel: str  # the Uniqueid: ARI's channel id
    on: bool


class MusicLog:
    """Every channel's music on hold as AMI reports it, with the time each event came (AMI
    events carry none unless manager.conf says `timestampevents`), to measure how long a
    caller heard no music."""

    def __init__(self, credentials: dict[str, str]) -> None:
        self.credentials = credentials
        self.events: list[Music] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> MusicLog:
        reader, self._writer = await asyncio.open_connection("127.0.0.1", AMI_PORT)
        await reader.readline()  # the banner
        self._writer.write(
            (
                "Action: Login\r\n"
                f"Username: {self.credentials['IVR_AMI_USER']}\r\n"
                f"Secret: {self.credentials['IVR_AMI_SECRET']}\r\n"
                "Events: call\r\n\r\n"
            ).encode()
        )
        logged_in = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._read(reader, logged_in))
        await asyncio.wait_for(logged_in, 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._writer is not None:
            self._writer.close()

    async def _read(self, reader: asyncio.StreamReader, logged_in: asyncio.Future[None]) -> None:
        headers: dict[str, str] = {}
        while line := await reader.readline():
            text = line.decode(errors="replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                headers.setdefault(key, value)
                continue
            kind = headers.get("Event", "")
            if headers.get("Response") == "Success" and not logged_in.done():
                logged_in.set_result(None)
            elif kind in ("MusicOnHoldStart", "MusicOnHoldStop"):
                on = kind == "MusicOnHoldStart"
                async with self._changed:
                    self.events.append(Music(time.time(), headers.get("Uniqueid", ""), on))
                    self._changed.notify_all()
            headers = {}

    def playing(self, channel: str) -> bool:
        """Whether `channel` hears music now, by its last MusicOnHoldStart/Stop."""
        last = [m.on for m in self.events if m.channel == channel]
        return bool(last) and last[-1]

    async def wait_playing(self, channels: list[str], timeout: float) -> None:
        """Until every one of `channels` hears music at once."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while not all(self.playing(c) for c in channels):
                        await self._changed.wait()
            except TimeoutError:
                silent = [c for c in channels if not self.playing(c)]
                raise AssertionError(f"no music on hold for {silent} in {timeout} s") from None

    def silences(self, channel: str, start: float, end: float) -> list[tuple[float, float]]:
        """The stretches between `start` and `end` (Unix times) when `channel` heard no music,
        as (from, seconds); the state at `start` is the last event before it."""
        playing = False
        since = start
        found: list[tuple[float, float]] = []
        for music in (m for m in self.events if m.channel == channel):
            if music.at <= start:
                playing = music.on
                continue
            if music.at >= end:
                break
            if playing and not music.on:
                since = music.at
            elif not playing and music.on:
                found.append((since, music.at - since))
            playing = music.on
        if not playing:
            found.append((since, end - since))
        return found
