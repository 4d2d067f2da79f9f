"""Principals on the lab: an agent signs in on the web (cookie and CSRF token) and goes
available, a SIPp caller is rung to their SIPp phone and answered, and while the call is up
only that agent (or a supervisor) may act on it; the website's token can change nobody; the
lab's old api.tokens token still works, with its warning at start."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import AriWatch, DaemonProcess, hang_up_leftovers, sip_call

PASSWORD = "boris's lab password"
WEBSITE = "lab-website-token-0001"
OPS = "lab-ops-token-000000001"
ANNA = "lab-anna-agent-token-01"
CALLER = "71000001600"


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    plans, roster = REPO / "tests" / "dialplans" / "queues", REPO / "tests" / "agents"
    principals = (
        "{name: boris, role: agent, agent: agent2, password_env: IVR_BORIS_PASSWORD}, "
        f"{{name: anna, role: agent, agent: agent1, token: {ANNA}}}, "
        f"{{name: website, role: website, token: {WEBSITE}}}, "
        f"{{name: ops, role: ops, token: {OPS}}}"
    )
    process = DaemonProcess(credentials, tmp_path, plans, roster, principals=principals)
    process.env["IVR_BORIS_PASSWORD"] = PASSWORD
    process.start()
    process.wait_health(200, timeout=20)
    yield process
    process.stop()
    hang_up_leftovers(credentials, ("710000016",))


async def _sign_in_boris(
    page: aiohttp.ClientSession, base: str
) -> tuple[aiohttp.ClientResponse, str]:
    """Boris signs in on the web page: the answer (with its cookie) and his CSRF token."""
    signed = await page.post(f"{base}/api/session", json={"name": "boris", "password": PASSWORD})
    assert signed.status == 200, await signed.text()
    return signed, str((await signed.json())["csrf"])


async def test_an_agent_signed_in_on_the_web_takes_a_call_only_they_may_act_on(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    shop.wait_log(r"event=config.deprecated message=\"?api.tokens is deprecated")
    base = f"http://127.0.0.1:{shop.port}"
    # unsafe=True: keep cookies of an IP address, as a browser does (aiohttp would not).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as page:
        signed, csrf = await _sign_in_boris(page, base)
        assert "HttpOnly" in signed.headers["Set-Cookie"]
        forged = await page.post(f"{base}/api/agents/agent2/sign-in")
        assert forged.status == 403 and shop.agent("agent2")["state"] == "signed_out"
        went = await page.post(f"{base}/api/agents/agent2/sign-in", headers={"X-CSRF-Token": csrf})
        assert went.status == 200 and (await went.json())["state"] == "available"

        # The website's token changes no agent, and says who could.
        status, body = shop.api("POST", "/api/agents/agent2/sign-out", token=WEBSITE)
        assert status == 403 and "needs supervisor, or the agent agent2 themself" in body
        assert shop.agent("agent2")["state"] == "available"

        # A sales caller reaches Boris's SIPp phone, the only agent signed in.
        phone = LabAgent.named(lab_paths, "agent2", talk_seconds=8)
        with phone:
            call = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", CALLER, keys="2", wait_for_bye=40))
            )
            channel = await watch.channel_of(CALLER)
            await asyncio.to_thread(phone.wait_for, "answered", 1, 30)
            shop.wait_log(rf"event=call.answered call={channel} queue=sales agent=agent2")
            # Boris acts on his call (not recorded here: the handler's 404, past the door);
            # Anna, another agent, is refused at the door, and so is the website.
            mine = await page.post(f"{base}/api/calls/{channel}/recording/pause",
                                   headers={"X-CSRF-Token": csrf})  # fmt: skip
            assert mine.status == 404, await mine.text()
            status, body = shop.api("POST", f"/api/calls/{channel}/recording/pause", token=ANNA)
            assert status == 403 and "the agent on this call" in body
            status, _ = shop.api("POST", f"/api/calls/{channel}/recording/pause", token=WEBSITE)
            assert status == 403
            assert await call == 0

        out = await page.delete(f"{base}/api/session", headers={"X-CSRF-Token": csrf})
        assert out.status == 200
        assert (await page.get(f"{base}/api/agents")).status == 401
    # Ops' CLI uses the ops principal's token.
    status_line = subprocess.run(
        [sys.executable, "-m", "ivr", "line", "status", "--config", str(shop.config)],
        cwd=REPO, env=shop.env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert status_line.returncode == 0, status_line.stderr
    shop.wait_log(r"event=session.opened principal=boris role=agent")


def _kept_web_sessions(store: Path) -> int:
    """Web sessions in the daemon's store as it stands on disk now (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM live WHERE kind = 'web_session'").fetchone()[0])


async def test_a_web_sign_in_survives_a_crash_and_a_sign_out_survives_a_restart(
    shop: DaemonProcess,
) -> None:
    base = f"http://127.0.0.1:{shop.port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as page:
        signed, csrf = await _sign_in_boris(page, base)
        went = await page.post(f"{base}/api/agents/agent2/sign-in", headers={"X-CSRF-Token": csrf})
        assert went.status == 200
        # Written moments later, off the event loop: wait until it is on disk, then crash.
        await asyncio.to_thread(_wait_until, lambda: _kept_web_sessions(shop.store) == 1, 10)
        shop.kill()
        mark = len(shop.lines)
        shop.start()
        await asyncio.to_thread(shop.wait_health, 200, 20)
        shop.wait_log(r"event=state.loaded .*web_sessions=1", after=mark)

        # The same cookie, the same CSRF token: Boris's page goes on as if nothing happened.
        who = await page.get(f"{base}/api/session")
        assert who.status == 200 and (await who.json()) == {
            "name": "boris", "role": "agent", "agent": "agent2", "csrf": csrf}  # fmt: skip
        paused = await page.post(f"{base}/api/agents/agent2/pause", json={"reason": "lunch"},
                                 headers={"X-CSRF-Token": csrf})  # fmt: skip
        assert paused.status == 200 and (await paused.json())["state"] == "paused"
        forged = await page.post(f"{base}/api/agents/agent2/sign-out")
        assert forged.status == 403  # the CSRF check came back with the session

        # Signed out, then a restart: the cookie stays dead.
        out = await page.delete(f"{base}/api/session", headers={"X-CSRF-Token": csrf})
        assert out.status == 200
        await asyncio.to_thread(_wait_until, lambda: _kept_web_sessions(shop.store) == 0, 10)
        shop.stop()
        shop.start()
        await asyncio.to_thread(shop.wait_health, 200, 20)
        stale = {"ivr_session": signed.cookies["ivr_session"].value}
        page.cookie_jar.update_cookies(stale, response_url=URL(base))
        assert (await page.get(f"{base}/api/session")).status == 401


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.05)
