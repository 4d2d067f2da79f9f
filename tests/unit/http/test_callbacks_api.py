"""The callbacks API as the shop's website uses it: bookings checked like a bank form (every
refusal a 4xx with a reason), read back by reference, and the lists of customers' numbers for
supervisors only. Random bodies never get a 500 and never break the book."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.callbacks.numbers import dialable
from ivr.http.app import make_app
from ivr.http.callbacks import book_callback
from ivr.http.recordings import RecordingAccess
from ivr.http.site import Site
from ivr.journal.metrics import Metrics
from ivr.journal.screen_pop import ScreenPops
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from ivr.schedule.load import load_schedules
from tests.unit.conftest import World, book, make_world

AGENT = "website-token-0001"
OPS = "ops-supervisor-token-0001"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp()
PLAN = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
queues:
  returns: {skills: {returns: 5}}
  sales: {skills: {sales: 5}}
nodes:
  start: {type: queue, queue: returns}
  buy: {type: queue, queue: sales}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7, sales: 7}}
"""


def world(rules: CallbackRules) -> World:
    plans = book(PLAN)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    return make_world(plans, start=START, desk=desk, callback_book=CallbackBook(rules))


def office_hours(**limits: Any) -> CallbackRules:
    """Callbacks only 09:00-18:00 on weekdays: the hours the year-10000 window broke."""
    hours = load_schedules(
        {"day": {"timezone": "Europe/Moscow", "weekly": {"mon-fri": "09:00-18:00"}}}
    )
    return CallbackRules(hours=hours["day"], **limits)


def iso(seconds_from_start: float) -> str:
    return datetime.fromtimestamp(START + seconds_from_start, UTC).isoformat()


@dataclass
class Api:
    client: TestClient[Any, Any]
    world: World

    async def post(self, body: object, token: str = AGENT) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        response = await self.client.post("/api/callbacks", data=data, headers=headers)
        return response.status, await _json(response)

    async def get(self, path: str, token: str = AGENT) -> tuple[int, Any]:
        response = await self.client.get(path, headers={"Authorization": f"Bearer {token}"})
        return response.status, await _json(response)


async def _json(response: Any) -> Any:
    text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


async def api_of(rules: CallbackRules, tmp_path: Path) -> Api:
    core = world(rules)
    site = Site(core.switchboard, core.driver, ScreenPops(), tmp_path / "voicemail")
    access = RecordingAccess(tmp_path / "recordings", {"ops": OPS})
    app = make_app(lambda: {"ok": True}, Metrics(), site, [AGENT], recordings=access)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return Api(client, core)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    made = await api_of(office_hours(max_open_per_queue=3), tmp_path)
    yield made
    await made.client.close()


async def test_a_booking_is_read_back_by_its_reference_and_only_supervisors_list_them(
    api: Api,
) -> None:
    body = {
        "number": "8 (900) 123-45-67",
        "queue": "returns",
        "topic": "заказ 42",
        "not_before": iso(3600),
        "not_after": START + 7200,
    }
    status, task = await api.post(body)
    assert status == 201
    assert (task["number"], task["status"], task["topic"]) == (
        "+79001234567",
        "pending",
        "заказ 42",
    )
    assert len(task["reference"]) >= 24
    assert await api.get(f"/api/callbacks/{task['reference']}") == (200, task)
    status, missing = await api.get("/api/callbacks/" + "x" * 24)
    assert (status, missing["error"]) == (404, "not-found")
    # The list of every customer's number: a supervisor's token, never the website's.
    assert (await api.get("/api/callbacks"))[0] == 403
    assert (await api.get("/api/voicemails"))[0] == 403
    status, listed = await api.get("/api/callbacks", token=OPS)
    assert status == 200 and [t["id"] for t in listed] == [task["id"]]
    assert "reference" not in listed[0]  # the website's key stays the website's
    assert (await api.post(body, token=OPS))[0] == 403  # supervisors do not book


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"number": "+0000000", "queue": "returns"}, 400, "invalid-number"),
        ({"number": "12;DROP TABLE", "queue": "returns"}, 400, "invalid-number"),
        ({"number": "+7 809 123-45-67", "queue": "returns"}, 400, "invalid-number"),
        ({"number": "+79001234567", "queue": "nope"}, 400, "unknown-queue"),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": math.nan},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_after": math.inf},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": "10000-01-01T00:00"},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": 10**400},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": START + 15 * 86400},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": START - 3600},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "not_before": "2026-11-03T12:00"},
            400,
            "invalid-window",
        ),
        (
            {"number": "+79001234567", "queue": "returns", "topic": "order\r\nVia: x"},
            400,
            "invalid-topic",
        ),
        ({"number": "+79001234567", "queue": "returns", "topic": "x" * 41}, 400, "invalid-topic"),
        ({"number": "+79001234567", "queue": "returns", "notBefore": 1}, 400, "invalid-request"),
        ({"number": 79001234567, "queue": "returns"}, 400, "invalid-request"),
        (["+79001234567"], 400, "invalid-request"),
        (b"[" * 10_000, 400, "invalid-request"),  # nested too deep for json
        (b"\xff\xfe{", 400, "invalid-request"),
        (b'{"number": "' + b"9" * 20_000 + b'"}', 413, "too-large"),
    ],
)
async def test_every_bad_request_is_a_4xx_with_a_reason_the_website_can_show(
    api: Api, body: object, status: int, error: str
) -> None:
    answer = await api.post(body)
    assert (answer[0], answer[1]["error"]) == (status, error)
    assert answer[1]["message"]
    assert api.world.switchboard.callback_book.tasks == {}


async def test_one_open_callback_per_number_whatever_the_spelling_and_a_cap_per_queue(
    api: Api,
) -> None:
    status, first = await api.post({"number": "+79001234567", "queue": "returns"})
    assert status == 201
    for spelling in ("79001234567", "89001234567", "8 900 123 45 67"):
        status, answer = await api.post({"number": spelling, "queue": "returns"})
        assert (status, answer["error"]) == (409, "duplicate"), spelling
        assert first["reference"] not in json.dumps(answer)
    for number in ("+79001110002", "+79001110003"):
        assert (await api.post({"number": number, "queue": "returns"}))[0] == 201
    status, full = await api.post({"number": "+79001110004", "queue": "returns"})
    assert (status, full["error"]) == (429, "queue-full")
    assert (await api.post({"number": "+79001110004", "queue": "sales"}))[0] == 201
    assert len(api.world.switchboard.callback_book.pending()) == 4


async def test_a_number_asking_too_often_is_told_to_wait(api: Api) -> None:
    callbacks = api.world.switchboard.callback_book
    for queue in ("returns", "sales"):
        assert (await api.post({"number": "+79001234567", "queue": queue}))[0] == 201
    for task in callbacks.tasks.values():
        task.status = "done"
    assert (await api.post({"number": "89001234567", "queue": "returns"}))[0] == 201
    status, answer = await api.post({"number": "9001234567", "queue": "sales"})
    assert (status, answer["error"]) == (429, "limit")


# --- fuzz: no input breaks the book ---

NOW_ISH = st.floats(min_value=START - 86400 * 30, max_value=START + 86400 * 30)
ODD_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        10**400,
        10**20,
        1e308,
        math.nan,
        math.inf,
        -math.inf,
        True,
        None,
        253402300800,
    ]
)
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**500), 10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
MOMENTS = (
    NOW_ISH
    | ODD_NUMBERS
    | JSON
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | st.text(max_size=40)
)
NUMBERS = (
    st.sampled_from(
        [
            "+79001110001",
            "79001110001",
            "89001110001",
            "+0000000",
            "+7 809 1234567",
            "+442071838750",
            "",
            "+",
            "8-800-FLOWERS",
            "+79001110001\r\n",
        ]
    )
    | st.from_regex(r"\+?[0-9 ()-]{0,20}", fullmatch=True)
    | JSON
)
TOPICS = st.text(max_size=60) | st.just("a\r\nb\x00c\x85") | JSON
WILD = st.fixed_dictionaries(
    {},
    optional={
        "number": NUMBERS,
        "queue": st.sampled_from(["returns", "sales", "nope", ""]) | JSON,
        "topic": TOPICS,
        "not_before": MOMENTS,
        "not_after": MOMENTS,
        "extra": JSON,
    },
)
# Bodies a website might send, some fields odd: these reach the book's own checks.
LIKELY = st.fixed_dictionaries(
    {
        "number": st.sampled_from(
            ["+7900111", "8900111", "900111", "+7 900 111 ", "+7809111"]
        ).flatmap(lambda prefix: st.from_regex(rf"\A{re.escape(prefix)}[0-9]{{4}}\Z")),
        "queue": st.sampled_from(["returns", "sales"]),
    },
    optional={"topic": TOPICS, "not_before": MOMENTS, "not_after": MOMENTS},
)
BODIES = LIKELY | WILD


def test_random_bodies_never_break_the_book_and_a_good_request_still_works() -> None:
    core = world(office_hours(max_open_per_queue=10_000, per_number_per_day=100))
    site = Site(core.switchboard, core.driver, ScreenPops(), Path("/nonexistent"))
    callbacks = core.switchboard.callback_book
    seen: dict[int, int] = {}

    @settings(
        max_examples=600,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(body=BODIES, wait=st.floats(0, 3600))
    def post(body: dict[str, Any], wait: float) -> None:
        status, answer = book_callback(site, body)
        seen[status] = seen.get(status, 0) + 1
        assert status in (201, 400, 409, 429), (status, body, answer)
        if status == 201:
            assert dialable(answer["number"], "RU") == answer["number"]
            now = core.clock.now()
            for moment in (answer["not_before"], answer["not_after"]):
                assert moment is None or now - 300 <= moment <= now + 14 * 86400
        else:
            assert answer["error"] and answer["message"]
        callbacks.next_due(core.clock.now())  # what every call event asks: never raises
        core.wait(wait)  # due tasks are put in line; expired ones expire

    post()
    assert seen.get(201, 0) > 50 and seen.get(400, 0) > 100, seen
    status, task = book_callback(site, {"number": "+79161112233", "queue": "sales"})
    assert status == 201 and callbacks.by_reference(task["reference"]) is not None


async def test_random_bytes_over_http_get_a_4xx_never_a_500(tmp_path: Path) -> None:
    api = await api_of(office_hours(max_open_per_queue=10_000, per_number_per_day=100), tmp_path)
    try:
        rng = random.Random(13)
        pieces = [
            b"{",
            b"}",
            b"[",
            b"]",
            b'"number"',
            b'"queue"',
            b'"not_before"',
            b":",
            b",",
            b"NaN",
            b"Infinity",
            b"-Infinity",
            b"1e400",
            b"9" * 5000,
            b'"returns"',
            b'"+79001110001"',
            b"\x00",
            b"\xff",
            b'"\\ud800"',
            b"null",
            b"true",
            b" ",
        ]
        statuses: dict[int, int] = {}
        for _ in range(600):
            body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            status, answer = await api.post(body)
            statuses[status] = statuses.get(status, 0) + 1
            assert status < 500 and answer["error"], (body, status, answer)
        status, task = await api.post({"number": "+79161112233", "queue": "returns"})
        assert status == 201, task
        assert set(statuses) <= {400, 409, 413, 429}, statuses
    finally:
        await api.client.close()
