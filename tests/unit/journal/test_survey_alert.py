"""Survey alerts: a low score goes to the webhook at once, with who answered the call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.calls.commands import Note
from ivr.journal.survey_alert import SurveyAlerts

AT = 1_790_000_000.0
THRESHOLDS = {"csat": 2, "nps": 6}
ANSWERED = {"queue": "sales", "agent": "agent1", "topic": "returns",
            "caller_number": "79001234567", "language": "ru", "wait": "12.5"}  # fmt: skip


@dataclass
class Hook:
    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    found = Hook()

    async def receive(request: web.Request) -> web.Response:
        found.posts.append(await request.json())
        return web.Response(status=found.status)

    app = web.Application()
    app.router.add_post("/alerts", receive)
    server = TestServer(app)
    await server.start_server()
    found.url = str(server.make_url("/alerts"))
    yield found
    await server.close()


def answer(kind: str, score: str, call: str = "c1") -> Note:
    return Note(call, "survey_answer", {"kind": kind, "score": score})


async def test_a_low_score_is_posted_with_the_calls_context(hook: Hook) -> None:
    alerts = SurveyAlerts(hook.url, THRESHOLDS)
    alerts.record(Note("c1", "answered", ANSWERED), AT)
    alerts.record(answer("csat", "2"), AT + 300)
    await alerts.close()

    assert hook.posts == [
        {
            "call_id": "c1",
            "kind": "csat",
            "score": 2,
            "queue": "sales",
            "agent": "agent1",
            "topic": "returns",
            "caller_number": "79001234567",
            "at": "2026-09-21T14:18:20+00:00",
        }
    ]


@pytest.mark.parametrize(
    ("kind", "score", "alerted"),
    [
        ("csat", "1", True),
        ("csat", "2", True),
        ("csat", "3", False),
        ("nps", "6", True),
        ("nps", "7", False),
        ("nps", "0", True),
        ("ces", "1", False),
        ("csat", "", False),
        ("csat", "bad", False),
    ],
)
async def test_only_scores_at_or_under_their_kinds_threshold_alert(
    hook: Hook, kind: str, score: str, alerted: bool
) -> None:
    alerts = SurveyAlerts(hook.url, THRESHOLDS)
    alerts.record(Note("c1", "answered", ANSWERED), AT)
    alerts.record(answer(kind, score), AT + 1)
    await alerts.close()
    assert len(hook.posts) == int(alerted)


async def test_the_context_is_forgotten_when_the_call_ends(hook: Hook) -> None:
    alerts = SurveyAlerts(hook.url, THRESHOLDS)
    alerts.record(Note("c1", "answered", ANSWERED), AT)
    alerts.record(Note("c1", "ended", {"outcome": "answered"}), AT + 60)
    alerts.record(answer("nps", "1"), AT + 3600)  # a survey answered later, elsewhere
    await alerts.close()
    assert hook.posts[0]["agent"] == "" and hook.posts[0]["score"] == 1


async def test_a_refusing_or_missing_webhook_is_logged_and_calls_go_on(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.status = 500
    refused = SurveyAlerts(hook.url, THRESHOLDS)
    refused.record(answer("csat", "1"), AT)
    gone = SurveyAlerts("http://127.0.0.1:9/alerts", THRESHOLDS, timeout=1.0)
    gone.record(answer("csat", "1"), AT)
    await asyncio.gather(refused.close(), gone.close())

    events = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
    assert events == {"survey_alert.refused", "survey_alert.failed"}
