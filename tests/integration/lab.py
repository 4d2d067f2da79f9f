"""Test helpers for the lab: the daemon as a real process, an ARI watcher, an AMI listener."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp

from ivr.lab import asterisk, sipp
from ivr.lab.paths import REPO, LabPaths

ARI = "http://127.0.0.1:8088"
Event = dict[str, Any]
T = TypeVar("T")
# One `key=value` of a log line; values with spaces or quotes are quoted and escaped.
LOG_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line: str) -> dict[str, str]:
    """A key=value log line as its fields (`ts`, `event`, `call`...), quoted values unquoted."""
    fields: dict[str, str] = {}
    for key, value in LOG_PAIR.findall(line):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        fields.setdefault(key, value)
    return fields


def log_time(fields: dict[str, str]) -> float:
    """The Unix time of a log line's `ts=` (UTC, milliseconds)."""
    return datetime.strptime(fields["ts"] + "+0000", "%Y-%m-%dT%H:%M:%S.%fZ%z").timestamp()


def ari_time(event: Event) -> float:
    """The Unix time of an ARI event's `timestamp`."""
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaemonProcess:
    """`ivr run` as a child process with its own config; its log lines are kept for asserts."""

    def __init__(
        self,
        credentials: dict[str, str],
        workdir: Path,
        dialplans: Path,
        agents: Path | None = None,
        callbacks: str = "",
        recordings: str = "",
        principals: str = "",
    ) -> None:
        self.port = free_tcp_port()
        self.token = "lab-token-" + os.urandom(8).hex()  # a legacy api.tokens token
        # A supervisor principal every lab daemon has; tests add theirs with `principals`.
        self.supervisor_token = "lab-supervisor-" + os.urandom(8).hex()
        self.config = workdir / "ivr.yaml"
        self.store = workdir / "journal.sqlite3"
        self.config.write_text(
            f"http: {{listen: 127.0.0.1:{self.port}}}\n"
            f"dialplans: {dialplans}\n"
            f"agents: {agents or workdir / 'no-roster'}\n"
            f"api: {{tokens: [{self.token}]}}\n"
            f"principals: [{{name: lab-supervisor, role: supervisor, token: "
            f"{self.supervisor_token}}}{', ' + principals if principals else ''}]\n"
            f"store: {{sqlite: {self.store}}}\n"
            "reconnect: {initial: 0.2, maximum: 2}\n"
            "drain_seconds: 3\n"
            # Lab callbacks reach the SIPp "customer" phone; tests may add their own settings.
            f"callbacks: {{voicemail_folder: {workdir / 'voicemail'}, "
            f"dial: 'PJSIP/{{number}}@customer'{', ' + callbacks if callbacks else ''}}}\n"
            f"recordings: {{folder: {workdir / 'recordings'}"
            f"{', ' + recordings if recordings else ''}}}\n"
        )
        self.env = {**os.environ, **credentials}
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> DaemonProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "run", "--config", str(self.config)],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_log(self, pattern: str, timeout: float = 20.0, after: int = 0) -> str:
        """The first log line (from index `after`) matching `pattern`; fails after `timeout`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"no log line matched {pattern!r}; last lines:\n{tail}")
                self._changed.wait(left)

    def notes(self, kind: str, after: int = 0) -> list[dict[str, str]]:
        """Every `call.KIND` journal note logged so far (from line `after`), in order."""
        with self._changed:
            lines = self.lines[after:]
        marker = f" event=call.{kind} "
        return [log_fields(line) for line in lines if marker in line]

    def wait_notes(
        self, kind: str, calls: Collection[str], timeout: float = 20.0, after: int = 0
    ) -> dict[str, dict[str, str]]:
        """The first `call.KIND` note of each of `calls` (from line `after`), in log order;
        fails after `timeout` unless every call has one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found: dict[str, dict[str, str]] = {}
                for note in self.notes(kind, after):
                    if note.get("call") in calls:
                        found.setdefault(note["call"], note)
                if len(found) == len(set(calls)):
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(set(calls) - set(found))
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(
                        f"no call.{kind} note for {missing} in {timeout} s; last lines:\n{tail}"
                    )
                self._changed.wait(left)

    def journal(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The journal the daemon kept in its store: (call id, kind, fields), oldest first."""
        with contextlib.closing(sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT call_id, kind, fields FROM journal ORDER BY at, id")
            return [(call, kind, json.loads(fields)) for call, kind, fields in rows]

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait_health(self, status: int, timeout: float, **links: bool) -> float:
        """Poll /healthz until it answers `status` (and `links` as given); returns the seconds."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                code, body = self.health()
                if code == status and all(body.get(k) == v for k, v in links.items()):
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.1)
        tail = "\n".join(self.lines[-20:])
        raise AssertionError(f"/healthz did not answer {status} within {timeout} s; log:\n{tail}")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None,
            token: str | None = None) -> tuple[int, Any]:  # fmt: skip
        """Call the daemon's HTTP API (with the lab token unless `token` is given)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.token if token is None else token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def agent(self, agent_id: str) -> dict[str, Any]:
        status, agents = self.api("GET", "/api/agents")
        assert status == 200, agents
        return next(a for a in agents if a["id"] == agent_id)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed, no call is handed back."""
        assert self.process is not None and self.process.poll() is None, "not running"
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 15.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("the daemon did not exit after SIGTERM") from None


class Seen(Generic[T]):
    """Things seen so far, in order, and a wait for the first one that matches."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._changed = asyncio.Condition()

    async def add(self, item: T) -> None:
        async with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[T], bool], timeout: float, what: str) -> T:
        """The first item (seen or to come) for which `predicate` holds; fails after timeout."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        for item in self.items:
                            if predicate(item):
                                return item
                        await self._changed.wait()
            except TimeoutError:
                raise AssertionError(f"no matching {what} in {timeout} s") from None

    async def wait_until(
        self, predicate: Callable[[list[T]], bool], timeout: float, what: str
    ) -> None:
        """Until `predicate` holds for everything seen so far; fails after timeout."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while not predicate(self.items):
                        await self._changed.wait()
            except TimeoutError:
                raise AssertionError(f"{what}: not within {timeout} s") from None


class AriWatch:
    """A second ARI app with subscribeAll: sees every channel's events, as a test's eyes."""

    def __init__(self, credentials: dict[str, str]) -> None:
        self.key = f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}"
        self._seen: Seen[Event] = Seen()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def events(self) -> list[Event]:
        return self._seen.items

    async def __aenter__(self) -> AriWatch:
        self._session = aiohttp.ClientSession()
        ws = await self._session.ws_connect(
            f"{ARI}/ari/events",
            params={"app": "labwatch", "subscribeAll": "true", "api_key": self.key},
        )
        self._task = asyncio.create_task(self._read(ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        if self._session:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self._seen.add(json.loads(message.data))

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        """The first event (seen so far or to come) for which `predicate` holds."""
        try:
            return await self._seen.wait_for(predicate, timeout, "ARI event")
        except AssertionError as exc:
            last = [e.get("type") for e in self.events[-20:]]
            raise AssertionError(f"{exc}; last: {last}") from None

    async def channel_of(self, caller_number: str, timeout: float = 20.0) -> str:
        """The channel id of the call from `caller_number`."""
        created = await self.wait_for(
            lambda e: (
                e.get("type") == "ChannelCreated"
                and e["channel"]["caller"]["number"] == caller_number
            ),
            timeout,
        )
        return str(created["channel"]["id"])

    async def played(self, channel: str, sound: str, timeout: float = 20.0) -> Event:
        """Wait until `sound` starts playing to `channel` through ARI."""
        return await self.wait_for(
            lambda e: (
                e.get("type") == "PlaybackStarted"
                and e["playback"]["target_uri"] == f"channel:{channel}"
                and e["playback"]["media_uri"] == f"sound:{sound}"
            ),
            timeout,
        )

    def sounds(self, channel: str) -> list[str]:
        """Every sound ARI started on `channel`, in order."""
        return [
            e["playback"]["media_uri"].removeprefix("sound:")
            for e in self.events
            if e.get("type") == "PlaybackStarted"
            and e["playback"]["target_uri"] == f"channel:{channel}"
        ]

    async def ended(self, channel: str, timeout: float = 60.0) -> Event:
        return await self.wait_for(
            lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == channel,
            timeout,
        )

    async def request(self, method: str, path: str, **params: str) -> Any:
        assert self._session is not None
        async with self._session.request(
            method, f"{ARI}/ari{path}", params={**params, "api_key": self.key}
        ) as response:
            response.raise_for_status()
            return await response.json() if response.content_length else None


def hang_up_leftovers(credentials: dict[str, str], prefixes: tuple[str, ...]) -> list[str]:
    """Hang up the lab's channels whose caller number starts with one of `prefixes`: callers a
    failed test left behind (a killed SIPp sends no BYE) and agent legs carrying their number.
    Left alone, they would come back into the next test's daemon from the dialplan's retries.
    Returns the channel ids hung up."""
    key = urllib.parse.quote(f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}")

    def ari(method: str, path: str) -> Any:
        request = urllib.request.Request(f"{ARI}/ari{path}?api_key={key}", method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return json.loads(body) if body else None

    def leftovers() -> list[str]:
        return [
            str(channel["id"])
            for channel in ari("GET", "/channels")
            if str(channel["caller"]["number"]).startswith(prefixes)
        ]

    found = leftovers()
    for channel in found:
        try:
            ari("DELETE", f"/channels/{channel}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
    deadline = time.monotonic() + 5
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def rtp_sent(paths: LabPaths) -> dict[str, int]:
    """RTP packets Asterisk has sent so far on each PJSIP channel, by channel name
    (`PJSIP/trunk-0000002a`), from `pjsip show channelstats`."""
    sent: dict[str, int] = {}
    for line in asterisk.cli(paths, "pjsip show channelstats").splitlines():
        cells = line.split()
        # [BridgeId] ChannelId UpTime Codec, then Receive (count, lost, pct, jitter), Transmit.
        at = next(
            (i for i, cell in enumerate(cells) if re.fullmatch(r"\d\d:\d\d:\d\d", cell)), None
        )
        if at is not None and at >= 1 and len(cells) > at + 6:
            sent["PJSIP/" + cells[at - 1]] = int(cells[at + 6])
    return sent


async def sip_call(paths: LabPaths, script: sipp.CallScript, timeout: float = 120.0) -> int:
    """Run a SIPp caller to its end without blocking the event loop; returns SIPp's exit code.

    It polls rather than waiting in a thread: the loop's few worker threads (CPUs + 4) would
    otherwise cap how many callers a test can run at once."""
    process = await asyncio.to_thread(sipp.popen_call, paths, script)
    try:
        async with asyncio.timeout(timeout):
            while (code := process.poll()) is None:
                await asyncio.sleep(0.05)
            return code
    finally:
        if process.poll() is None:
            process.kill()


class AmiListen:
    """A raw AMI session for tests: every event as the list of header lines Asterisk sent.
    It logs in as manager.conf's read-only `wallboard` user: the daemon's own user reads
    only the classes the daemon needs (no `user`, so no call summaries)."""

    USER = "wallboard"

    def __init__(self, credentials: dict[str, str], events: str = "user") -> None:
        self.credentials = credentials
        self.classes = events  # the AMI event classes to receive: "user", "call,user"...
        self._seen: Seen[list[tuple[str, str]]] = Seen()
        self._task: asyncio.Task[None] | None = None

    @property
    def events(self) -> list[list[tuple[str, str]]]:
        return self._seen.items

    async def __aenter__(self) -> AmiListen:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", 5038)
        await self._reader.readline()  # banner
        login = (
            "Action: Login\r\n"
            f"Username: {self.USER}\r\n"
            f"Secret: {self.credentials['IVR_AMI_SECRET']}\r\n"
            f"Events: {self.classes}\r\n\r\n"
        )
        self._writer.write(login.encode())
        self._task = asyncio.create_task(self._read())
        await self.wait_for(lambda m: ("Response", "Success") in m, 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        self._writer.close()

    async def _read(self) -> None:
        message: list[tuple[str, str]] = []
        while line := await self._reader.readline():
            text = line.decode(errors="replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                message.append((key, value))
                continue
            await self._seen.add(message)
            message = []

    async def wait_for(
        self, predicate: Callable[[list[tuple[str, str]]], bool], timeout: float = 20.0
    ) -> list[tuple[str, str]]:
        """The first AMI message (seen or to come) for which `predicate` holds."""
        return await self._seen.wait_for(predicate, timeout, "AMI message")

    def music_on(self, channel: str) -> bool:
        """Whether `channel` (its Uniqueid, ARI's channel id) hears music on hold now, by the
        last MusicOnHoldStart/Stop event (needs the `call` event class)."""
        state = False
        for message in self.events:
            if ("Uniqueid", channel) in message:
                if ("Event", "MusicOnHoldStart") in message:
                    state = True
                elif ("Event", "MusicOnHoldStop") in message:
                    state = False
        return state

    async def wait_music(self, channels: Collection[str], timeout: float = 10.0) -> None:
        """Until every one of `channels` hears music on hold (at once)."""
        await self._seen.wait_until(
            lambda _: all(self.music_on(c) for c in channels), timeout, "music on hold"
        )
