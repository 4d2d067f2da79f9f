"""`ivr simulate` gives the daemon's routing answers: a dozen callers with fixed arrival times
and keys, four SIPp agents with skills, and two overflow steps (`waited` -> `add_team` the
partner's agent, `waited` -> `skills` any in-house agent), played through the daemon on the
real Asterisk and through `ivr simulate --calls`. Who answered each call, after how long, and
which steps overflowed it (and when) must agree; times within a SIP round and a key press."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import KEY_MS, CallScript
from ivr.lab.softphones.agent import LabAgent
from ivr.simulate.arrivals import Outline, outlines
from ivr.simulate.floor import THINK
from ivr.simulate.prompt_times import PromptTimes
from ivr.store.port import Entry
from tests.integration.lab import DaemonProcess, sip_call

PLAN = """
name: simlab
numbers: ["460"]
language: en
timezone: UTC
queues:
  returns:
    skills: {returns: 5}
    strategy: most-skilled
    ring_timeout: 10
    wrapup: 5
    overflow:
      - {name: partner, waited: 5, add_team: callpoint}
  sales:
    skills: {sales: 5}
    strategy: most-skilled
    ring_timeout: 10
    wrapup: 5
    overflow:
      - {name: anyone, waited: 4, skills: {}}
nodes:
  start:
    type: menu
    prompt: [sound:hello-world]
    timeout: 10
    options: {"1": returns, "2": sales}
  returns: {type: queue, queue: returns}
  sales: {type: queue, queue: sales}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
  callpoint: {kind: outsourced}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 9}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {sales: 9}}
  - {id: agent3, name: Clara, endpoint: PJSIP/agent3, team: shop, skills: {returns: 6, sales: 6}}
  - {id: agent4, name: Dmitry, endpoint: PJSIP/agent4, team: callpoint,
     skills: {returns: 5, sales: 5}}
"""
AGENTS = ("agent1", "agent2", "agent3", "agent4")
TALK, RING = 10.0, 1.0  # every softphone rings 1 s and talks 10 s, as the simulated agents
MENU = "sound:hello-world"
SOUNDS = "/usr/share/asterisk/sounds/en_US_f_Allison"  # the lab's `en` (a link to it)
TOLERANCE = 1.0  # seconds: SIP set-up, a key's RFC 4733 end, ARI round trips (2026-11-30: 0.2)


@dataclass(frozen=True)
class Planned:
    """A caller of the list: seconds after the start, their number, their key, and how long
    they wait in the queue before hanging up (None: until answered)."""

    at: float
    caller: str
    key: str
    patience: float | None = None


# Spaced so that nothing hangs on a fraction of a second: replayed 1,000 times with every
# arrival, talk and patience moved by up to 0.8 s and the ring by 0.4 s, the simulator gave
# these answers every time. Ring, talk and wrap-up make each answer keep an agent 16 s.
CALLS = (
    Planned(0.0, "71000000501", "1"),  # returns: Anna (9)
    Planned(3.5, "71000000502", "1"),  # returns: Anna busy, Clara (6)
    Planned(5.5, "71000000503", "2"),  # sales: Boris (9)
    Planned(8.0, "71000000504", "1"),  # returns: both busy; 5 s on, the partner's Dmitry
    Planned(10.0, "71000000505", "2"),  # sales: busy; 4 s on any in-house agent: Anna, freed
    Planned(20.0, "71000000506", "1"),  # returns: Clara, back from wrap-up
    Planned(24.0, "71000000507", "1", patience=2.5),  # returns: nobody free; gives up
    Planned(42.0, "71000000508", "2"),  # everyone free again: sales, Boris
    Planned(45.5, "71000000509", "2"),  # sales: Clara
    Planned(47.0, "71000000510", "1"),  # returns: Anna
    Planned(49.5, "71000000511", "1"),  # returns: busy; 5 s on, Dmitry
    Planned(52.0, "71000000512", "2"),  # sales: busy; 4 s on, Boris is the first one free
)


@contextlib.contextmanager
def softphones(lab_paths: LabPaths) -> Iterator[list[LabAgent]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                LabAgent.named(lab_paths, name, ring_seconds=RING, talk_seconds=TALK)
            )
            for name in AGENTS
        ]


def write_site(folder: Path) -> tuple[Path, Path]:
    """The plan and the roster, in their folders."""
    plans, roster = folder / "plans", folder / "agents"
    plans.mkdir()
    roster.mkdir()
    (plans / "simlab.yaml").write_text(PLAN)
    (roster / "roster.yaml").write_text(ROSTER)
    return plans, roster


def write_inputs(folder: Path, lab_paths: LabPaths, start: float) -> tuple[Path, Path]:
    """The traffic file (agents' ring time, the lab's prompt lengths) and the calls file,
    whose `at` counts from midnight UTC of the start's day."""
    traffic = folder / "traffic.yaml"
    traffic.write_text(
        'timezone: UTC\nnumbers: {"460": {calls_per_month: 0}}\n'
        f"agents: {{ring: {RING}}}\nprompts: {{folders: [{lab_paths.inside(SOUNDS)}]}}\n"
    )
    midnight = datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    offset = start - midnight.timestamp()
    calls = folder / "calls.yaml"
    calls.write_text(
        "".join(
            f'- {{at: {offset + c.at:.3f}, number: "460", caller: "{c.caller}", '
            f'keys: ["{c.key}"], talk: {TALK}'
            + (f", patience: {c.patience}" if c.patience is not None else "")
            + "}\n"
            for c in CALLS
        )
    )
    return traffic, calls


async def dial(lab_paths: LabPaths, call: Planned, start: float, first_key: float) -> int:
    """The caller dials at their time, presses their key once the menu's prompt is over (as
    a simulated caller does), and hangs up when their patience runs out, if it does."""
    await asyncio.sleep(max(0.0, start + call.at - time.time()))
    # The key reaches the daemon at the end of its RFC 4733 event; the BYE follows the
    # press's own pause: patience counts from the key, as the queue's wait does.
    hang_up = None if call.patience is None else max(0.5, call.patience - KEY_MS / 1000)
    script = CallScript("460", call.caller, keys=call.key, first_key_after=first_key,
                        hang_up_after=hang_up)  # fmt: skip
    return await sip_call(lab_paths, script)


def journal(store: Path) -> list[Entry]:
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT at, call_id, kind, fields FROM journal ORDER BY at, id")
        return [Entry(at, call, kind, json.loads(fields)) for at, call, kind, fields in rows]


def simulated(config: Path, traffic: Path, calls: Path, start: float) -> list[dict[str, Any]]:
    day = datetime.fromtimestamp(start, UTC).date().isoformat()
    run = subprocess.run(
        [sys.executable, "-m", "ivr", "simulate", "--config", str(config), "--traffic",
         str(traffic), "--calls", str(calls), "--from", day, "--format", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows: list[dict[str, Any]] = json.loads(run.stdout)
    return rows


def _summary(call: Outline) -> tuple[str, tuple[str, ...], str]:
    return call.agent, tuple(step for step, _ in call.overflows), call.outcome


async def test_the_simulator_and_the_daemon_answer_the_same_calls_the_same_way(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    first_key = PromptTimes([lab_paths.inside(SOUNDS)]).seconds([MENU]) + THINK
    assert first_key > THINK + 1  # the lab's own recording of the menu prompt was found
    plans, roster = write_site(tmp_path)
    daemon = DaemonProcess(credentials, tmp_path, plans, roster).start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        for name in AGENTS:
            status, body = daemon.api("POST", f"/api/agents/{name}/sign-in")
            assert status == 200 and body["state"] == "available", body
        with softphones(lab_paths):
            start = time.time() + 0.5
            traffic, calls = write_inputs(tmp_path, lab_paths, start)
            codes = await asyncio.gather(*(dial(lab_paths, c, start, first_key) for c in CALLS))
            assert codes == [0] * len(CALLS)
            arrived = [n["call"] for n in daemon.notes("arrived")]
            assert len(arrived) == len(CALLS)
            await asyncio.to_thread(daemon.wait_notes, "ended", arrived, 30)
    finally:
        assert daemon.stop() == 0  # the journal is flushed on the way out
    lab = outlines(journal(daemon.store))
    assert sorted(lab) == sorted(c.caller for c in CALLS)

    rows = simulated(daemon.config, traffic, calls, start)
    sim = {row["caller"]: row for row in rows}
    assert sorted(sim) == sorted(lab)
    differences = []
    for caller, real in sorted(lab.items()):
        row = sim[caller]
        steps = tuple(o["step"] for o in row["overflows"])
        if _summary(real) != (row["agent"], steps, row["outcome"]):
            differences.append(f"{caller}: lab {_summary(real)}, simulated "
                               f"{(row['agent'], steps, row['outcome'])}")  # fmt: skip
            continue
        if real.answered is not None and abs(real.answered - row["answered_after"]) > TOLERANCE:
            differences.append(f"{caller}: answered after {real.answered:.1f} s in the lab, "
                               f"{row['answered_after']} s simulated")  # fmt: skip
        if abs(real.ended - row["ended_after"]) > TOLERANCE:
            differences.append(f"{caller}: ended after {real.ended:.1f} s in the lab, "
                               f"{row['ended_after']} s simulated")  # fmt: skip
        for (step, at), simulated_step in zip(real.overflows, row["overflows"], strict=True):
            if abs(at - simulated_step["after"]) > TOLERANCE:
                differences.append(f"{caller}: {step} after {at:.1f} s in the lab, "
                                   f"{simulated_step['after']} s simulated")  # fmt: skip
    assert differences == [], "\n".join(differences)
    # The list exercised what it is meant to: both steps, the partner, an abandon.
    answered_by = [lab[c.caller].agent for c in CALLS]
    assert set(answered_by) == {"agent1", "agent2", "agent3", "agent4", ""}
    fired = {step for call in lab.values() for step, _ in call.overflows}
    assert fired == {"partner", "anyone"}
    assert [lab[c.caller].outcome for c in CALLS].count("abandoned") == 1
