"""The callbacks' API: the shop's website books a callback; tasks and voicemails listed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.callbacks.book import Refusal
from ivr.http.site import Site, json_body, staffed
from ivr.recordings.voicemail import list_voicemails


def add_callback_routes(app: web.Application, site: Site | None) -> None:
    """GET and POST /api/callbacks, GET /api/voicemails."""

    async def callbacks(request: web.Request) -> web.Response:
        book = staffed(site).switchboard.callback_book
        tasks = sorted(book.tasks.values(), key=lambda t: t.requested_at)
        return web.json_response([task.to_json() for task in tasks])

    async def request_callback(request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='the body must be a JSON object: {"number": ...}')
        status, answer = book_callback(staffed(site), body)
        return web.json_response(answer, status=status)

    async def voicemails(request: web.Request) -> web.Response:
        return web.json_response(list_voicemails(staffed(site).voicemail_folder))

    app.router.add_get("/api/callbacks", callbacks)
    app.router.add_post("/api/callbacks", request_callback)
    app.router.add_get("/api/voicemails", voicemails)


def book_callback(site: Site, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A callback the shop's website asks for: (HTTP status, the task or the error)."""
    try:
        window = (_moment(body.get("not_before")), _moment(body.get("not_after")))
    except ValueError as exc:
        return 400, {"error": "invalid-window", "message": str(exc)}
    number, queue = body.get("number"), body.get("queue")
    topic = body.get("topic", "")
    if not isinstance(number, str) or not isinstance(queue, str) or not isinstance(topic, str):
        message = 'give "number" and "queue" as text (and "topic" if any)'
        return 400, {"error": "invalid-request", "message": message}
    task, commands = site.switchboard.request_callback(number, queue, topic[:40], window)
    site.driver.run(commands)
    if isinstance(task, Refusal):
        status = 429 if task.reason == "limit" else 400
        return status, {"error": task.reason, "message": task.message}
    return 201, task.to_json()


def _moment(value: object) -> float | None:
    """A window bound from the API: epoch seconds, or an ISO 8601 time with its offset."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset; write e.g. 2026-11-24T10:00:00+03:00")
        return moment.timestamp()
    raise ValueError("a time must be epoch seconds or ISO 8601 text")
