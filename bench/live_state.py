"""What live state costs: writing each call's and agent's record through the store, and
rebuilding 1,000 stored calls after a restart.

Calls go menu -> key 1 -> queue -> an agent answers -> talk -> hang-up on virtual time, once
with no store and once with each store (SQLite file; Redis when REDIS_URL is set). Prints
CPU per call spent writing records, writes and bytes per call, and recovery time. Figures,
no asserts.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ivr.calls.commands import Note
from ivr.calls.events import AgentRequest
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.calls.notes import NoteKind
from ivr.calls.ports import LiveStore
from ivr.clock import VirtualClock
from ivr.pbx.sim.pbx import SimCall, SimPbx
from ivr.plan.load import parse_plan
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from ivr.store.sqlite import SqliteLive
from ivr.switchboard import checkpoints
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

CALLS = 2_000
RECOVER = 1_000
PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {wrapup: 0}
nodes:
  start: {type: menu, prompt: sound:press-1, options: {"1": line}, timeout: 5, retries: 2}
  line: {type: queue, queue: returns}
"""
ROSTER = "teams: {shop: {kind: in-house}}\nagents:\n" + "".join(
    f"  - {{id: a{i}, name: A{i}, endpoint: PJSIP/a{i}, team: shop}}\n" for i in range(40)
)


class Measured:
    """A store that counts writes and the bytes of the records written."""

    def __init__(self, store: LiveStore) -> None:
        self.store = store
        self.writes = 0
        self.bytes = 0

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        self.writes += 1
        self.bytes += len(json.dumps(record, ensure_ascii=False).encode())
        self.store.put(kind, key, record)

    def drop(self, kind: str, key: str) -> None:
        self.writes += 1
        self.store.drop(kind, key)

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.store.load(kind)

    def close(self) -> None:
        self.store.close()


class Notes:
    """The journal, kept in memory (the store's cost is what is measured)."""

    def __init__(self) -> None:
        self.items: list[Note] = []

    def record(self, note: Note, at: float) -> None:
        self.items.append(note)


class World:
    """The core behind the simulated PBX on virtual time, wired as the daemon wires it."""

    def __init__(self, plans: PlanBook, live: LiveStore | None, sign_in: bool = True) -> None:
        self.clock = VirtualClock(start=1_790_000_000.0)
        self.pbx = SimPbx(self.clock, prompt_seconds=1.0)
        self.desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
        self.switchboard = Switchboard(plans, self.clock, self.desk)
        self.notes = Notes()
        self.driver = CallDriver(self.switchboard, self.pbx, self.clock, self.notes, live=live)
        self.pbx.on_event = self.driver.feed
        for index in range(40 if sign_in else 0):
            self.driver.feed(AgentRequest(f"a{index}", "sign-in"))

    def call(self) -> SimCall:
        call_id = self.pbx.dial("100")
        self.clock.advance(0)
        return self.pbx.calls[call_id]

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)


def world(plans: PlanBook, live: LiveStore | None) -> World:
    return World(plans, live)


def calls(plans: PlanBook, live: LiveStore | None) -> float:
    """CPU seconds for CALLS calls through the core (and the store, when given)."""
    made = world(plans, live)
    started = time.process_time()
    for _ in range(CALLS):
        call = made.call()
        made.pbx.press(call.call_id, "1")
        made.wait(0.1)
        ring = next(c for c in reversed(made.pbx.sent) if isinstance(c, RingAgent))
        made.driver.feed(AgentAnswered(ring.call_id, ring.leg_id))
        made.wait(0.1)
        made.pbx.hang_up(call.call_id)
        made.wait(0.1)
    return time.process_time() - started


def recovery(plans: PlanBook, path: Path) -> tuple[float, float, int]:
    """Seconds to load RECOVER stored waiting callers and serve them all again; how many."""
    made = world(plans, SqliteLive(path))
    for _ in range(RECOVER):
        made.pbx.press(made.call().call_id, "1")
    made.wait(1)
    assert made.driver.live is not None
    made.driver.live.close()
    wall, cpu = time.perf_counter(), time.process_time()
    store = SqliteLive(path)
    after = World(plans, store, sign_in=False)
    after.desk.restore_agents(store.load(checkpoints.AGENT), after.clock.now())
    after.switchboard.recover(store.load(checkpoints.CALL))
    for call_id, call in made.pbx.calls.items():
        after.pbx.adopt(SimCall(call_id, call.number, answered=True))
    after.pbx.synced()
    after.clock.advance(0)
    served = sum(1 for n in after.notes.items if n.kind == NoteKind.RECOVERED)
    return time.perf_counter() - wall, time.process_time() - cpu, served


def main() -> None:
    plan, _ = parse_plan(PLAN, "bench.yaml")
    plans = PlanBook((plan,))
    base = calls(plans, None)
    print(f"{CALLS} calls, menu -> queue -> answered -> hang-up, 40 agents")
    print(f"core alone: {base / CALLS * 1e6:.0f} us CPU per call")
    stores: dict[str, LiveStore] = {}
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    stores["sqlite"] = SqliteLive(folder / "live.sqlite3")
    if os.environ.get("REDIS_URL"):
        from ivr.store.redis import RedisLive

        stores["redis"] = RedisLive.from_url(os.environ["REDIS_URL"])
    for name, store in stores.items():
        measured = Measured(store)
        cpu = calls(plans, measured)
        extra = (cpu - base) / CALLS * 1e6
        print(
            f"with {name}: {cpu / CALLS * 1e6:.0f} us CPU per call, of which live state "
            f"{extra:.0f} us; {measured.writes / CALLS:.1f} writes and "
            f"{measured.bytes / CALLS:.0f} bytes of records per call"
        )
        measured.close()
    wall, cpu, served = recovery(plans, folder / "recover.sqlite3")
    print(
        f"recovery of {RECOVER} stored waiting callers (SQLite): {wall * 1e3:.0f} ms wall, "
        f"{cpu * 1e3:.0f} ms CPU, {served} served again"
    )


if __name__ == "__main__":
    main()
