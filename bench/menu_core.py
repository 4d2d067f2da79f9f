"""How much the core costs per call: 10,000 simulated callers through the greeting menu.

Prints core CPU time per call and per event, and memory per live call. Figures, no asserts.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from pathlib import Path

from ivr.calls.commands import Note
from ivr.clock import VirtualClock
from ivr.pbx.sim.pbx import SimPbx
from ivr.plan.load import load_book
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

ROOT = Path(__file__).resolve().parents[1]
CALLS = 10_000


class CountingJournal:
    def __init__(self) -> None:
        self.notes = 0

    def record(self, note: Note, at: float) -> None:
        self.notes += 1


def main() -> None:
    plans, _ = load_book([ROOT / "tests" / "dialplans" / "skeleton.yaml"])
    clock = VirtualClock()
    pbx = SimPbx(clock, prompt_seconds=1.0)
    switchboard = Switchboard(plans, clock)
    journal = CountingJournal()
    driver = CallDriver(switchboard, pbx, clock, journal)
    events = 0

    def feed(event: object) -> None:
        nonlocal events
        events += 1
        driver.feed(event)  # type: ignore[arg-type]

    pbx.on_event = feed
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ids = [pbx.dial("100") for _ in range(CALLS)]
    clock.advance(0.5)
    live_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    live = len(switchboard.calls)

    started = time.process_time()
    for index, call_id in enumerate(ids):
        pbx.press(call_id, "7" if index % 3 == 0 else str(1 + index % 2))
    clock.advance(20)
    for call_id in ids:
        pbx.press(call_id, "1")
    clock.run_until_idle()
    cpu = time.process_time() - started

    print(f"calls: {CALLS}, events: {events}, journal notes: {journal.notes}")
    print(f"core CPU per call: {cpu / CALLS * 1e6:.1f} us; per event: {cpu / events * 1e6:.2f} us")
    print(f"memory per live call in the menu: {live_bytes / live:.0f} bytes ({live} live)")
    print(f"calls left in the switchboard: {len(switchboard.calls)}")
    heard = statistics.median(len(c.heard) for c in pbx.calls.values())
    print(f"median prompts heard per call: {heard}")


if __name__ == "__main__":
    main()
