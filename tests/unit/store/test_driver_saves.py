"""A store that refuses a save never costs the rest of the commands it came with: the driver
carries them out, logs the refusal, and saves again before the next commands."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.calls.commands import Command, HangUp, Note, PbxCommand, SaveCallback, SaveState
from ivr.clock import VirtualClock
from ivr.plan.load import load_book
from ivr.store.memory import MemoryLive
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard
from tests.unit.conftest import ROOT, Notes


class Pbx:
    def __init__(self) -> None:
        self.sent: list[PbxCommand] = []

    def send(self, command: PbxCommand) -> None:
        self.sent.append(command)


class Flaky:
    """A callback store that refuses the next `refusals` saves (a locked file, say)."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.tasks: dict[str, dict[str, Any]] = {}

    def save(self, task: dict[str, Any]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise OSError("database is locked")
        self.tasks[task["id"]] = dict(task)

    def load(self, since: float) -> list[dict[str, Any]]:
        return list(self.tasks.values())

    def delete(self, task_ids: Any) -> int:
        return 0

    def close(self) -> None:
        pass


class FlakyLive(MemoryLive):
    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise OSError("database is locked")
        super().put(kind, key, record)


def driver(callbacks: Flaky, live: MemoryLive) -> tuple[CallDriver, Pbx, Notes]:
    clock = VirtualClock(start=1_790_000_000.0)
    pbx, notes = Pbx(), Notes()
    plans, _ = load_book([ROOT / "tests" / "dialplans" / "skeleton.yaml"])
    switchboard = Switchboard(plans, clock)
    return CallDriver(switchboard, pbx, clock, notes, callbacks=callbacks, live=live), pbx, notes


def task(status: str) -> dict[str, Any]:
    return {"id": "t1", "status": status, "requested_at": 1.0}


def test_a_refused_callback_save_does_not_drop_the_rest_of_the_batch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    callbacks = Flaky(refusals=1)
    run, pbx, notes = driver(callbacks, MemoryLive())
    batch: list[Command] = [
        SaveCallback(task("pending")),
        Note("c1", "callback_requested", {}),
        SaveState("call", "c1", {"v": 1}),
        HangUp("c1"),
    ]
    run.run(batch)
    assert pbx.sent == [HangUp("c1")]
    assert notes.kinds("c1") == ["callback_requested"]
    assert run.live is not None and run.live.load("call") == {"c1": {"v": 1}}
    assert callbacks.tasks == {}
    assert [r.getMessage() for r in caplog.records] == ["store.save_failed"]
    run.run([])  # the next commands, whatever they are: the save goes first
    assert callbacks.tasks == {"t1": task("pending")}


def test_a_save_tried_again_is_the_latest_of_its_task_or_record() -> None:
    callbacks, live = Flaky(refusals=1), FlakyLive(refusals=2)
    run, _, _ = driver(callbacks, live)
    run.run([SaveCallback(task("pending")), SaveState("agent", "a1", {"v": 1, "paused": True})])
    assert (callbacks.tasks, live.load("agent")) == ({}, {})
    # The task lands first; the old record is refused again, then a newer one replaces it.
    run.run([SaveState("agent", "a1", {"v": 1, "paused": False})])
    assert callbacks.tasks == {"t1": task("pending")}
    assert live.load("agent") == {"a1": {"v": 1, "paused": False}}
    run.run([])  # the older record, superseded, is never written over the newer
    assert live.load("agent") == {"a1": {"v": 1, "paused": False}}
