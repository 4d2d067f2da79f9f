"""Fixtures for the fast layer: the core on virtual time behind the simulated PBX."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from ivr.callbacks.book import CallbackBook
from ivr.calls.commands import Note
from ivr.calls.events import Caller
from ivr.clock import VirtualClock
from ivr.lookups.sim import SimBackend
from ivr.pbx.sim.pbx import SimCall, SimPbx
from ivr.plan.load import load_book, parse_plan
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

ROOT = Path(__file__).resolve().parents[2]

# Property tests judge behaviour, not speed: on a busy 2-core CI machine hypothesis's
# 200 ms deadline per example fails tests that are right.
settings.register_profile("ivr", deadline=None, print_blob=True)
settings.load_profile("ivr")


@dataclass
class Notes:
    """Journal notes kept in memory, in order."""

    items: list[tuple[float, Note]] = field(default_factory=list)

    def record(self, note: Note, at: float) -> None:
        self.items.append((at, note))

    def kinds(self, call_id: str) -> list[str]:
        return [n.kind for _, n in self.items if n.call_id == call_id]

    def of(self, call_id: str, kind: str) -> list[Note]:
        return [n for _, n in self.items if n.call_id == call_id and n.kind == kind]


@dataclass
class World:
    """The core, a simulated PBX and virtual time, wired as the daemon wires them."""

    clock: VirtualClock
    pbx: SimPbx
    switchboard: Switchboard
    driver: CallDriver
    notes: Notes
    backend: SimBackend

    def call(self, number: str = "100", caller: Caller | None = None) -> SimCall:
        call_id = self.pbx.dial(number, caller)
        self.clock.advance(0)
        return self.pbx.calls[call_id]

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)


def make_world(
    plans: PlanBook,
    prompt_seconds: float = 2.0,
    start: float = 1_790_000_000.0,
    desk: Desk | None = None,
    callback_book: CallbackBook | None = None,
) -> World:
    """The core, the simulated PBX and backend on virtual time; a desk when given."""
    clock = VirtualClock(start=start)
    pbx = SimPbx(clock, prompt_seconds)
    switchboard = Switchboard(plans, clock, desk, callback_book)
    notes = Notes()
    backend = SimBackend(clock)
    driver = CallDriver(switchboard, pbx, clock, notes, backend)
    pbx.on_event = driver.feed
    backend.on_event = driver.feed
    return World(clock, pbx, switchboard, driver, notes, backend)


def book(*texts: str) -> PlanBook:
    """A book of plans given as YAML text, checked together as `ivr check` would."""
    if len(texts) == 1:
        plan, _ = parse_plan(texts[0], "test.yaml")
        return PlanBook((plan,))
    return load_texts(texts)


def load_texts(texts: tuple[str, ...]) -> PlanBook:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, text in enumerate(texts):
            path = Path(folder) / f"plan{index}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        plans, _ = load_book(paths)
    return plans


@pytest.fixture
def shop() -> World:
    """The walking-skeleton greeting menu the lab tests call (number 100)."""
    plans, _ = load_book([ROOT / "tests" / "dialplans" / "skeleton.yaml"])
    return make_world(plans)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (no persistence) for the session; never port 6379."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: apt-get install redis-server")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
