"""Live reload on the lab: edits and SIGHUP take effect for new calls; a broken plan is refused."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import AriWatch, DaemonProcess, sip_call


async def test_an_edit_goes_live_and_a_broken_plan_is_refused(
    lab_paths: LabPaths, credentials: dict[str, str], watch: AriWatch, tmp_path: Path
) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(REPO / "tests" / "dialplans" / "skeleton.yaml", plans / "shop.yaml")
    daemon = DaemonProcess(credentials, tmp_path, plans)
    daemon.config.write_text(daemon.config.read_text() + "reload_poll_seconds: 0.5\n")
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        plan = plans / "shop.yaml"
        # A saved edit: option 2 now plays another prompt.
        mark = len(daemon.lines)
        plan.write_text(
            plan.read_text().replace("sound:pls-hold-while-try", "sound:queue-thankyou")
        )
        daemon.wait_log(r"event=plan.reloaded plans=shop@", after=mark)
        call = asyncio.create_task(sip_call(lab_paths, CallScript("100", "71000000040", keys="2")))
        channel = await watch.channel_of("71000000040")
        await watch.played(channel, "queue-thankyou")
        assert await call == 0

        # A broken save is refused with check's own message; calls keep the last good plan.
        mark = len(daemon.lines)
        plan.write_text(plan.read_text().replace('"2": returns', '"2": retuns'))
        refused = daemon.wait_log(r"event=plan.reload_refused", after=mark)
        assert "shop.yaml:" in refused and "option '2' goes to 'retuns': no such node" in refused
        assert "did you mean 'returns'?" in refused
        assert 'ivr_plan_reloads_total{result="failed"} 1.0' in daemon.metrics()
        call = asyncio.create_task(sip_call(lab_paths, CallScript("100", "71000000041", keys="2")))
        channel = await watch.channel_of("71000000041")
        await watch.played(channel, "queue-thankyou")
        assert await call == 0

        # SIGHUP reloads too (nothing changed on disk: same version, reloaded again).
        mark = len(daemon.lines)
        plan.write_text(plan.read_text().replace('"2": retuns', '"2": returns'))
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_log(r"event=plan.reloaded", after=mark)
        assert daemon.health()[0] == 200
    finally:
        daemon.stop()


async def test_a_call_goes_on_while_a_broken_plan_and_then_a_good_one_are_saved(
    lab_paths: LabPaths, credentials: dict[str, str], watch: AriWatch, tmp_path: Path
) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    plan = plans / "shop.yaml"
    good = (REPO / "tests" / "dialplans" / "skeleton.yaml").read_text()
    plan.write_text(good)
    daemon = DaemonProcess(credentials, tmp_path, plans)
    daemon.config.write_text(daemon.config.read_text() + "reload_poll_seconds: 0.5\n")
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        # The caller listens to the menu for a while before pressing 2.
        script = CallScript("100", "71000000050", keys="2", first_key_after=14)
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of("71000000050")
        await watch.played(channel, "hello")

        # Saved meanwhile: a date that does not exist, which once crashed the checker and
        # ended the watcher silently. Refused, with where it is; the watcher goes on.
        mark = len(daemon.lines)
        plan.write_text(good + "schedules:\n  hours: {timezone: UTC, closed: [2026-02-30]}\n")
        refused = await asyncio.to_thread(daemon.wait_log, r"event=plan.reload_refused", 10, mark)
        assert "shop.yaml:41:" in refused and "'2026-02-30' is not a date" in refused
        assert 'ivr_plan_reloads_total{result="failed"} 1.0' in daemon.metrics()

        # Then a good edit: it goes live.
        mark = len(daemon.lines)
        plan.write_text(good.replace("sound:pls-hold-while-try", "sound:queue-thankyou"))
        await asyncio.to_thread(daemon.wait_log, r"event=plan.reloaded plans=shop@", 10, mark)

        # The call in progress went on throughout, on the plan it started with.
        await watch.played(channel, "pls-hold-while-try")
        assert await call == 0
        assert "queue-thankyou" not in watch.sounds(channel)

        # A new call gets the good edit.
        script = CallScript("100", "71000000051", keys="2")
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of("71000000051")
        await watch.played(channel, "queue-thankyou")
        assert await call == 0
        assert daemon.health()[0] == 200
    finally:
        daemon.stop()
