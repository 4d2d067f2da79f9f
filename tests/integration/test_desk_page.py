"""The desk page in a real browser (Debian's chromium, headless, driven by Selenium through
chromium-driver) against the daemon on the lab: an agent signs in, goes available, sees the
screen pop of a SIPp caller and transfers the call; a supervisor's wallboard shows a waiting
caller within a second of their joining the queue (timed from the journal's queue_join)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import AriWatch, DaemonProcess, sip_call

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORDS = {"IVR_ANNA_PASSWORD": "anna-lab-password", "IVR_BORIS_PASSWORD": "boris-lab-pw-1",
             "IVR_SUSAN_PASSWORD": "susan-lab-password"}  # fmt: skip
PRINCIPALS = """principals:
  - {name: anna, role: agent, agent: agent1, password_env: IVR_ANNA_PASSWORD}
  - {name: boris, role: agent, agent: agent2, password_env: IVR_BORIS_PASSWORD}
  - {name: susan, role: supervisor, password_env: IVR_SUSAN_PASSWORD}
"""


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    plans, roster = REPO / "tests" / "dialplans" / "queues", REPO / "tests" / "agents"
    process = DaemonProcess(credentials, tmp_path, plans, roster)
    process.config.write_text(process.config.read_text() + PRINCIPALS)
    process.env.update(PASSWORDS)
    process.start()
    process.wait_health(200, timeout=20)
    yield process
    process.stop()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Root in CI: Chromium's sandbox needs an unprivileged user.
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--lang=en-US"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser: WebDriver, shop: DaemonProcess, name: str, password: str) -> None:
    browser.get(f"http://127.0.0.1:{shop.port}/desk/")
    wait = WebDriverWait(browser, 10)
    wait.until(lambda b: b.find_element(By.ID, "signin").is_displayed())
    browser.find_element(By.ID, "signin-name").send_keys(name)
    browser.find_element(By.ID, "signin-password").send_keys(password)
    browser.find_element(By.ID, "signin-submit").click()
    # Live: the first server-sent snapshot has arrived.
    wait.until(lambda b: b.find_element(By.ID, "live").get_attribute("class") == "live")


def text_of(browser: WebDriver, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def until(
    browser: WebDriver, what: str, predicate: Callable[[WebDriver], object], timeout: float = 20
) -> None:
    WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        predicate, message=f"the page never showed {what}"
    )


async def test_an_agent_goes_available_sees_the_screen_pop_and_transfers_the_call(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch, browser: WebDriver
) -> None:
    await asyncio.to_thread(sign_in, browser, shop, "anna", PASSWORDS["IVR_ANNA_PASSWORD"])
    assert text_of(browser, "my-state") == "signed out"
    browser.find_element(By.ID, "go-available").click()
    await asyncio.to_thread(
        until, browser, "available", lambda b: text_of(b, "my-state") == "available"
    )
    assert shop.agent("agent1")["state"] == "available"
    status, _ = shop.api("POST", "/api/agents/agent2/sign-in")
    assert status == 200
    with (
        LabAgent.named(lab_paths, "agent1", talk_seconds=60) as anna,
        LabAgent.named(lab_paths, "agent2", talk_seconds=4) as boris,
    ):
        # An order number typed in the menu, then the returns queue: Anna (returns 9) answers.
        caller = asyncio.create_task(
            sip_call(lab_paths, CallScript("200", "71000000160", "Ivan", keys="3,w3,12345#"))
        )
        channel = await watch.channel_of("71000000160")
        await asyncio.to_thread(anna.wait_for, "answered", 1, 30)
        await asyncio.to_thread(
            until, browser, "the answered call", lambda b: text_of(b, "my-state") == "on a call"
        )
        assert text_of(browser, "pop-topic") == "order_status"
        assert text_of(browser, "pop-number") == "71000000160"
        assert "12345" in text_of(browser, "pop-vars")
        # Blind to the sales queue: Boris (sales 9) answers the same caller.
        kind = browser.find_element(By.ID, "transfer-kind")
        kind.find_element(By.CSS_SELECTOR, "option[value=queue]").click()
        browser.find_element(By.ID, "transfer-to").send_keys("sales")
        browser.find_element(By.ID, "transfer-blind").click()
        await asyncio.to_thread(boris.wait_for, "answered", 1, 30)
        await asyncio.to_thread(
            until, browser, "the call gone", lambda b: text_of(b, "no-call") != "", 20
        )
        assert text_of(browser, "error") == ""
        shop.wait_log(rf"event=call.answered call={channel} queue=sales agent=agent2")
        assert await caller == 0


async def test_the_wallboard_shows_a_waiting_caller_within_a_second(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch, browser: WebDriver
) -> None:
    await asyncio.to_thread(sign_in, browser, shop, "susan", PASSWORDS["IVR_SUSAN_PASSWORD"])
    # The moment the waiting caller's row appears, on the page's own clock (this machine's).
    browser.execute_script(
        """
        const rows = document.querySelector('#calls tbody');
        new MutationObserver(() => {
          if (!window.seenWaiting && rows.querySelector('.call-waiting')) {
            window.seenWaiting = Date.now();
          }
        }).observe(rows, {childList: true, subtree: true});
        """
    )
    # Nobody is signed in: the caller waits in the returns queue until they hang up.
    caller = asyncio.create_task(
        sip_call(lab_paths, CallScript("200", "71000000161", keys="1", hang_up_after=8))
    )
    channel = await watch.channel_of("71000000161")
    await asyncio.to_thread(
        until, browser, "the waiting caller",
        lambda b: b.execute_script("return window.seenWaiting || 0") > 0, 20,
    )  # fmt: skip
    seen = browser.execute_script("return window.seenWaiting") / 1000
    joined = _noted_at(shop, channel, "queue_join")
    delay = seen - joined
    print(f"wallboard: waiting caller shown {delay * 1000:.0f} ms after queue_join")
    assert 0 <= delay < 1.0
    row = browser.find_element(By.CSS_SELECTOR, f'#calls tr[data-key="{channel}"]')
    assert "returns" in row.text and "waiting" in row.text
    assert "71000000161" not in row.text and "0161" in row.text  # masked but its last digits
    queue_row = browser.find_element(By.CSS_SELECTOR, '#queues tr[data-key="returns"]')
    assert queue_row.find_element(By.CSS_SELECTOR, "td.waiting").text == "1"
    assert await caller == 0
    await asyncio.to_thread(
        until, browser, "the caller gone",
        lambda b: not b.find_elements(By.CSS_SELECTOR, f'#calls tr[data-key="{channel}"]'),
    )  # fmt: skip
    # In Russian too, and on a phone's screen.
    browser.find_element(By.CSS_SELECTOR, "#lang option[value=ru]").click()
    assert browser.find_element(By.CSS_SELECTOR, "#board h2").text == "Очереди"
    browser.set_window_size(390, 844)
    wide = browser.execute_script("return document.documentElement.scrollWidth")
    assert wide <= 390  # nothing runs off a phone's screen


def _noted_at(shop: DaemonProcess, call: str, kind: str, timeout: float = 10) -> float:
    """When the journal in the store noted `kind` for `call` (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.closing(sqlite3.connect(f"file:{shop.store}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT at FROM journal WHERE call_id = ? AND kind = ? ORDER BY at LIMIT 1",
                (call, kind),
            ).fetchone()
        if row is not None:
            return float(row[0])
        assert time.monotonic() < deadline, f"no {kind} for {call} in the journal"
        time.sleep(0.1)


def test_chromium_is_where_the_tests_expect_it() -> None:
    # scripts/install puts them there (Debian's chromium and chromium-driver).
    assert os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
