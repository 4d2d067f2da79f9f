"""Voicemail on the lab: a caller who hangs up during the greeting, before the beep, has left
no message: nothing is kept, no callback is booked, and the call ends as a hang-up in the
plan. (A message left: tests/integration/test_coverage.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.lab.paths import LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import AriWatch, DaemonProcess, sip_call
from tests.integration.test_coverage import OPS, start


@pytest.fixture
def closed_shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    process = start(credentials, tmp_path)
    yield process
    process.stop()


async def test_a_caller_who_hangs_up_at_the_greeting_leaves_no_message_and_no_callback(
    lab_paths: LabPaths, closed_shop: DaemonProcess, watch: AriWatch
) -> None:
    # 403 is after hours: the next opening (about 6 s), then the greeting (vm-intro, 5.7 s)
    # and the beep. Olga hangs up 8.5 s in, in the middle of the greeting. Asterisk ends the
    # greeting as she goes, a moment before her hang-up arrives: the daemon asks for the
    # recording (refused, or nothing on it); neither is a message nor a failure.
    script = CallScript("403", "79005550404", "Olga", hang_up_after=8.5)
    assert await sip_call(lab_paths, script) == 0
    channel = await watch.channel_of("79005550404")
    closed_shop.wait_log(rf"event=call.ended call={channel} outcome=hungup_in_menu")
    closed_shop.wait_log(rf"event=call.prompt call={channel} node=message .*sound:vm-intro")
    for kind in ("voicemail", "voicemail_failed", "callback_requested"):
        assert [n for n in closed_shop.notes(kind) if n["call"] == channel] == [], kind
    status, tasks = closed_shop.api("GET", "/api/callbacks", token=OPS)
    assert status == 200 and tasks == []
    status, messages = closed_shop.api("GET", "/api/voicemails", token=OPS)
    assert status == 200 and messages == []
