"""The callback API on the lab, as the shop's website uses it: every bad request refused with a
4xx and a reason (and the daemon none the worse), a booking read back by its reference, the
list of customers' numbers for supervisors only, and a booked callback that rings the agent,
then the customer, with its topic shown clean on the agent's phone (SIPp agent and customer)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.callbacks.task import CallbackTask
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript
from ivr.store.sqlite import SqliteCallbacks
from tests.integration.lab import DaemonProcess

PLAN = REPO / "tests" / "dialplans" / "coverage" / "coverage.yaml.in"
ROSTER = REPO / "tests" / "agents" / "coverage"
OPS = "lab-ops-supervisor-" + os.urandom(8).hex()
CUSTOMER = "+79005550999"  # the lab's SIPp "customer" phone answers whatever number is dialled


def plans(folder: Path) -> Path:
    """The coverage plan (queue `back`), its one open day some weeks ahead."""
    folder.mkdir(exist_ok=True)
    open_day = (date.today() + timedelta(days=40)).isoformat()
    (folder / "coverage.yaml").write_text(PLAN.read_text().replace("OPEN_DAY", open_day))
    return folder


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(
        credentials,
        tmp_path,
        plans(tmp_path / "plans"),
        ROSTER,
        callbacks="max_open_per_queue: 3, retry_minutes: 0.1",
        recordings=f"supervisors: {{ops: {OPS}}}",
    ).start()
    process.wait_health(200, timeout=20)
    yield process
    process.stop()


def always_open_roster(folder: Path) -> Path:
    """The coverage roster with a schedule that is always open, for `callbacks.hours`."""
    folder.mkdir(exist_ok=True)
    always = 'schedules:\n  always: {timezone: UTC, weekly: {mon-sun: "00:00-24:00"}}\n'
    (folder / "roster.yaml").write_text(always + (ROSTER / "roster.yaml").read_text())
    return folder


def refused(shop: DaemonProcess, body: dict[str, Any]) -> tuple[int, str, str]:
    """POST a booking that must fail: (status, error code, message)."""
    status, text = shop.api("POST", "/api/callbacks", body)
    assert isinstance(text, str), f"{body} was booked: {text}"
    answer = json.loads(text)
    return status, answer["error"], answer["message"]


def iso_in(days: float) -> str:
    return (datetime.now().astimezone() + timedelta(days=days)).isoformat(timespec="seconds")


def test_bad_bookings_get_a_4xx_and_a_reason_and_a_good_one_is_read_back(
    shop: DaemonProcess,
) -> None:
    back = {"queue": "back"}
    for body, status, error in (
        ({"number": "+0000000", **back}, 400, "invalid-number"),
        ({"number": "12;DROP TABLE", **back}, 400, "invalid-number"),
        ({"number": CUSTOMER, **back, "not_before": iso_in(15)}, 400, "invalid-window"),
        ({"number": CUSTOMER, **back, "not_before": math.nan}, 400, "invalid-window"),
        ({"number": CUSTOMER, **back, "not_after": math.inf}, 400, "invalid-window"),
        # The request that broke the book: beyond the year 9999.
        ({"number": CUSTOMER, **back, "not_before": 1e12}, 400, "invalid-window"),
        ({"number": CUSTOMER, **back, "topic": "order\r\nVia: evil"}, 400, "invalid-topic"),
        ({"number": CUSTOMER, **back, "topic": "order\x00"}, 400, "invalid-topic"),
        ({"number": CUSTOMER, "queue": "nope"}, 400, "unknown-queue"),
    ):
        answer = refused(shop, body)
        assert answer[:2] == (status, error), (body, answer)
        assert answer[2]  # a message the website can show
    assert shop.api("POST", "/api/callbacks", {"number": CUSTOMER, **back}, token="x")[0] == 401

    booking = {"number": "8 (900) 555-09-99", **back, "topic": "order 42",
               "not_before": iso_in(0), "not_after": iso_in(2)}  # fmt: skip
    status, task = shop.api("POST", "/api/callbacks", booking)
    assert status == 201 and (task["number"], task["status"]) == (CUSTOMER, "pending")
    assert shop.api("GET", f"/api/callbacks/{task['reference']}") == (200, task)
    shop.wait_log(rf"event=desk.callback_requested task={task['id']} .*source=web")
    # The same number in other spellings: one open callback per number and queue.
    for spelling in ("79005550999", "89005550999", "+7 900 555 09 99"):
        assert refused(shop, {"number": spelling, **back})[:2] == (409, "duplicate")
    # The queue takes three open callbacks (max_open_per_queue: 3 on this lab).
    for number in ("+79005550998", "+79005550997"):
        assert shop.api("POST", "/api/callbacks", {"number": number, **back})[0] == 201
    assert refused(shop, {"number": "+79005550996", **back})[:2] == (429, "queue-full")

    # Every customer's number: supervisors only, and the website's keys are not in it.
    assert shop.api("GET", "/api/callbacks")[0] == 403
    assert shop.api("GET", "/api/voicemails")[0] == 403
    status, listed = shop.api("GET", "/api/callbacks", token=OPS)
    assert status == 200 and len(listed) == 3 and all("reference" not in t for t in listed)
    shop.wait_log(r"event=callbacks.listed supervisor=ops tasks=3")
    # Nothing refused reached the log, and nothing raised: the book works on.
    log = "\n".join(shop.lines)
    assert "Via: evil" not in log and "Traceback" not in log
    assert shop.health()[0] == 200


async def test_a_booked_callback_rings_the_agent_with_a_clean_topic_then_the_customer(
    lab_paths: LabPaths, shop: DaemonProcess
) -> None:
    booking = {"number": "89005550999", "queue": "back", "topic": 'Order "42" <VIP> \\ today'}
    status, task = shop.api("POST", "/api/callbacks", booking)
    assert status == 201 and task["number"] == CUSTOMER
    agent = AgentScript.of("agent1", talk_seconds=4, record_from_to=True)
    customer = AgentScript.of("customer", talk_seconds=8, record_from_to=True)
    with LabAgent(lab_paths, agent) as anna, LabAgent(lab_paths, customer) as phone:
        assert shop.api("POST", "/api/agents/agent1/sign-in")[0] == 200
        [ring] = await asyncio.to_thread(anna.wait_invites, 1, 20)
        await asyncio.to_thread(anna.wait_for, "answered", 1, 20)
        [dialled] = await asyncio.to_thread(phone.wait_invites, 1, 20)
        await asyncio.to_thread(phone.wait_for, "answered", 1, 20)
        shop.wait_log(rf"event=call.callback_connected .*task={task['id']}")
        shop.wait_log(rf"event=call.callback_ended .*task={task['id']}", timeout=30)
    # What the agent's phone showed: it is a callback, its topic, with nothing that breaks SIP.
    assert ring["from_name"] == "Callback Order 42 VIP today"
    assert ring["from_number"] == CUSTOMER
    assert dialled["to_number"] == CUSTOMER
    deadline = time.monotonic() + 10
    while (read := shop.api("GET", f"/api/callbacks/{task['reference']}"))[1]["status"] != "done":
        assert time.monotonic() < deadline, read
        await asyncio.sleep(0.2)
    assert read[1]["outcomes"] == ["connected"] and read[1]["attempts"] == 1


def test_tasks_the_store_kept_that_the_book_cannot_work_out_are_set_aside_at_start(
    credentials: dict[str, str], tmp_path: Path
) -> None:
    # What the old daemon saved for `not_before` beyond the year 9999, and a NaN window.
    now = time.time()
    store = SqliteCallbacks(tmp_path / "journal.callbacks.sqlite3")
    for task_id, fields in (
        ("beyond", {"not_before": 1e13}),
        ("nan", {"next_attempt_at": math.nan}),
    ):
        task = CallbackTask(id=task_id, number=CUSTOMER, queue="back", source="web",
                            requested_at=now, place=now, next_attempt_at=now)  # fmt: skip
        store.save({**task.to_json(), **fields})
    store.close()
    shop = DaemonProcess(
        credentials,
        tmp_path,
        plans(tmp_path / "plans"),
        always_open_roster(tmp_path / "agents"),
        callbacks="hours: always",  # the calendar the year-10000 window broke
        recordings=f"supervisors: {{ops: {OPS}}}",
    ).start()
    try:
        shop.wait_health(200, timeout=20)
        for task_id, why in (("beyond", "invalid-time"), ("nan", "invalid-time")):
            shop.wait_log(rf"event=callbacks.set_aside task={task_id} why={why} ")
        shop.wait_log(r"event=callbacks.loaded pending=0")
        # The book works: the number they blocked is booked, and calls' events go on.
        status, task = shop.api("POST", "/api/callbacks", {"number": CUSTOMER, "queue": "back"})
        assert status == 201, task
        assert shop.api("POST", "/api/agents/agent1/sign-in")[0] == 200
        assert shop.api("GET", f"/api/callbacks/{task['reference']}")[0] == 200
        assert "Traceback" not in "\n".join(shop.lines)
    finally:
        assert shop.stop() == 0
    # Saved as failed: not loaded (nor logged) again at the next start.
    store = SqliteCallbacks(shop.store.with_suffix(".callbacks.sqlite3"))
    kept = {task["id"]: task["status"] for task in store.load(0)}
    store.close()
    assert kept["beyond"] == kept["nan"] == "failed"
