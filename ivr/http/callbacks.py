"""The callbacks' API: the shop's website books a callback and reads it back by the reference
it was given; the lists of every customer's number (tasks, voicemails) are for supervisors.

Every refusal is a 4xx with a JSON body `{"error": code, "message": text}` a website can show:
400 bad input, 409 a callback already booked for the number, 429 over a cap."""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.callbacks.book import Refusal, topic_problem
from ivr.callbacks.task import CallbackTask
from ivr.http.principals import PRINCIPAL
from ivr.http.site import Site, refusal, staffed
from ivr.logs import event
from ivr.recordings.voicemail import list_voicemails

log = logging.getLogger("ivr.http")

FIELDS = frozenset({"number", "queue", "topic", "not_before", "not_after"})
MAX_BODY = 16_384  # bytes: a booking is a few fields
MAX_TEXT = 64  # characters of a number, a queue's name or a time
STATUS = {"duplicate": 409, "limit": 429, "queue-full": 429}  # the others are bad input: 400


def add_callback_routes(app: web.Application, site: Site | None) -> None:
    """POST /api/callbacks and GET /api/callbacks/{reference} (the website); GET /api/callbacks
    and /api/voicemails (supervisors: ivr/http/access.py decides, before the handler runs)."""

    def supervisor(request: web.Request) -> str:
        return str(request[PRINCIPAL].name)

    async def callbacks(request: web.Request) -> web.Response:
        name = supervisor(request)
        book = staffed(site).switchboard.callback_book
        tasks = sorted(book.tasks.values(), key=lambda t: t.requested_at)
        event(log, "callbacks.listed", supervisor=name, tasks=len(tasks))
        return web.json_response([_for_supervisors(task) for task in tasks])

    async def request_callback(request: web.Request) -> web.Response:
        body = await _json_object(request)
        if isinstance(body, web.Response):
            return body
        status, answer = book_callback(staffed(site), body)
        return web.json_response(answer, status=status)

    async def read_back(request: web.Request) -> web.Response:
        book = staffed(site).switchboard.callback_book
        task = book.by_reference(request.match_info["reference"][:MAX_TEXT])
        if task is None:
            message = "no callback with this reference (finished ones are kept a day)"
            return web.json_response({"error": "not-found", "message": message}, status=404)
        return web.json_response(_for_the_website(task))

    async def voicemails(request: web.Request) -> web.Response:
        name = supervisor(request)
        found = list_voicemails(staffed(site).voicemail_folder)
        event(log, "voicemails.listed", supervisor=name, messages=len(found))
        return web.json_response(found)

    app.router.add_post("/api/callbacks", request_callback)
    app.router.add_get("/api/callbacks/{reference}", read_back)
    app.router.add_get("/api/callbacks", callbacks)
    app.router.add_get("/api/voicemails", voicemails)


def book_callback(site: Site, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A callback the shop's website asks for: (HTTP status, the task or the refusal)."""
    refusal = _refusal_of(body)
    if refusal is not None:
        return 400, refusal
    try:
        window = (_moment(body.get("not_before"), "not_before"),
                  _moment(body.get("not_after"), "not_after"))  # fmt: skip
    except ValueError as exc:
        return 400, _error("invalid-window", str(exc))
    number, queue, topic = body["number"], body["queue"], body.get("topic", "")
    # One open task per number and queue, whatever the spelling: asking again is a 409.
    booked = site.switchboard.callback_book.open_task(number, queue)
    task, commands = site.switchboard.request_callback(number, queue, topic, window)
    site.driver.run(commands)
    if isinstance(task, Refusal):
        return STATUS.get(task.reason, 400), _error(task.reason, task.message)
    if task is booked:
        return 409, _error("duplicate", "a callback for this number is already booked")
    return 201, _for_the_website(task)


def _refusal_of(body: dict[str, Any]) -> dict[str, str] | None:
    """What is wrong with the fields themselves, before the book looks at them."""
    unknown = sorted(str(key)[:MAX_TEXT] for key in body if key not in FIELDS)
    if unknown:
        named = ", ".join(json.dumps(key) for key in unknown[:3])
        return _error("invalid-request", f"unknown field {named}; use {', '.join(sorted(FIELDS))}")
    number, queue, topic = body.get("number"), body.get("queue"), body.get("topic", "")
    if not isinstance(number, str) or not isinstance(queue, str) or not isinstance(topic, str):
        return _error("invalid-request", 'give "number" and "queue" as text (and "topic" if any)')
    if len(number) > MAX_TEXT:
        return _error("invalid-number", "this is not a phone number")
    if len(queue) > MAX_TEXT:
        return _error("unknown-queue", "there is no such queue")
    problem = topic_problem(topic)
    return _error("invalid-topic", problem) if problem else None


def _moment(value: object, name: str) -> float | None:
    """A window bound: epoch seconds, or an ISO 8601 time with its offset; finite, or
    ValueError saying what to write."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = float(value)
        except OverflowError:
            raise ValueError(f"{name} is out of range") from None
        if not math.isfinite(moment):
            raise ValueError(f"{name} must be a time, not NaN or infinity")
        return moment
    example = "write epoch seconds or e.g. 2026-11-24T10:00:00+03:00"
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{name}: {example}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 time; {example}") from None
    if when.tzinfo is None:
        raise ValueError(f"{name} has no UTC offset; {example}")
    try:
        return when.timestamp()
    except (OverflowError, ValueError, OSError):
        raise ValueError(f"{name} is out of range") from None


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The body as a JSON object, or the 4xx response saying what it must be."""
    raw = await request.read()  # aiohttp refuses bodies over client_max_size with a 413
    if len(raw) > MAX_BODY:
        return refusal(413, "too-large", f"the body may have at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: [[[[... nested too deep
        return refusal(400, "invalid-request", "the body must be JSON")
    if not isinstance(body, dict):
        return refusal(400, "invalid-request", 'the body must be a JSON object: {"number": ...}')
    return body


def _for_the_website(task: CallbackTask) -> dict[str, Any]:
    """What the website sees of its own request: no other customer's data is in a task."""
    fields = ("id", "reference", "number", "queue", "topic", "source", "status", "attempts",
              "requested_at", "not_before", "not_after")  # fmt: skip
    view = {name: getattr(task, name) for name in fields}
    view["outcomes"] = [entry.get("outcome", "") for entry in task.history]
    return view


def _for_supervisors(task: CallbackTask) -> dict[str, Any]:
    """Every field but the website's reference (a key that is the website's alone)."""
    data = task.to_json()
    data.pop("reference", None)
    return data


def _error(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}
