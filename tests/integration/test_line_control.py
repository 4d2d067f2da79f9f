"""Ops close the line and open it again on the lab, through the CLI and the API.

Plan: tests/dialplans/line/line.yaml (number 800). Closed, a SIPp caller hears the chosen
message (the journal's call.prompt notes and ARI's playbacks say what was played) and then the
plan's emergency node; the closure survives a SIGKILL of the daemon and a start; opened, the
next caller hears the menu.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import AriWatch, DaemonProcess, hang_up_leftovers, sip_call

PLANS = REPO / "tests" / "dialplans" / "line"
NUMBER = "800"
CALLERS = ("7100000801", "7100000802", "7100000803")


@pytest.fixture(autouse=True)
def no_leftovers(credentials: dict[str, str]) -> Iterator[None]:
    yield
    hang_up_leftovers(credentials, ("71000008",))


def ivr_line(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`ivr line ...` as ops type it, against the daemon's config."""
    return subprocess.run(
        [sys.executable, "-m", "ivr", "line", *args, "--config", str(daemon.config)],
        cwd=REPO, env=daemon.env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def started(credentials: dict[str, str], workdir: Path) -> DaemonProcess:
    daemon = DaemonProcess(credentials, workdir, PLANS).start()
    daemon.wait_health(200, timeout=30)
    return daemon


async def call(paths: LabPaths, watch: AriWatch, caller: str, keys: str = "") -> str:
    """A SIPp caller on 800 to the end of the call; its channel id."""
    script = CallScript(NUMBER, caller, keys=keys, first_key_after=3.0, wait_for_bye=40)
    sip = asyncio.create_task(sip_call(paths, script, timeout=60))
    channel = await watch.channel_of(caller)
    assert await sip == 0
    return channel


def media(daemon: DaemonProcess, channel: str) -> list[str]:
    return [n["media"] for n in daemon.notes("prompt") if n.get("call") == channel]


async def test_close_restart_open(
    credentials: dict[str, str], lab_paths: LabPaths, watch: AriWatch, tmp_path: Path
) -> None:
    daemon = started(credentials, tmp_path)
    try:
        closed = ivr_line(daemon, "close", "--message", "storm", "--reason", "lab flood")
        assert closed.returncode == 0, closed.stderr
        assert "linelab: CLOSED" in closed.stdout
        refused = ivr_line(daemon, "close", "--message", "nosuch", "--reason", "x")
        assert refused.returncode == 1 and "not declared" in refused.stderr

        first = await call(lab_paths, watch, CALLERS[0])
        notes = daemon.wait_notes("ended", [first], timeout=30)
        assert daemon.notes("emergency")[-1]["message"] == "storm"
        assert media(daemon, first) == ["sound:tt-allbusy", "sound:vm-goodbye"]
        assert "hello" not in watch.sounds(first)
        assert "tt-allbusy" in watch.sounds(first)
        assert notes[first]["node"] == "after_message"
        assert 'ivr_line_closed{plan="linelab"} 1.0' in daemon.metrics()
        assert daemon.health()[1]["line"] == "closed"

        # A crash and a start: the line is still closed, from the store.
        daemon.kill()
        daemon = started(credentials, tmp_path)
        daemon.wait_log(r"event=line\.still_closed .*message=storm", timeout=10)
        second = await call(lab_paths, watch, CALLERS[1])
        daemon.wait_notes("ended", [second], timeout=30)
        assert media(daemon, second)[0] == "sound:tt-allbusy"

        opened = ivr_line(daemon, "open", "--reason", "water gone")
        assert opened.returncode == 0, opened.stderr
        assert "linelab: open" in opened.stdout
        third = await call(lab_paths, watch, CALLERS[2], keys="1")
        daemon.wait_notes("ended", [third], timeout=30)
        assert media(daemon, third)[0] == "sound:hello"
        assert daemon.notes("menu_choice")[-1]["call"] == third
        assert 'ivr_line_closed{plan="linelab"} 0.0' in daemon.metrics()
        status = ivr_line(daemon, "status")
        assert status.returncode == 0 and "linelab: open" in status.stdout

        desk = [(kind, f) for call_id, kind, f in daemon.journal() if kind.startswith("line_")]
        assert [kind for kind, _ in desk] == ["line_closed", "line_opened"]
        assert desk[0][1]["reason"] == "lab flood" and "@" in desk[0][1]["by"]
        assert desk[1][1]["reason"] == "water gone"
    finally:
        daemon.stop()
