"""Ops controls of the line: close it now with a message (an emergency), open it again, see it.

    POST /api/line/close  {"message": "emergency", "plans": ["shop"], "reason": "...", "by": "..."}
    POST /api/line/open   {"plans": [...], "reason": "...", "by": "..."}
    GET  /api/line

`plans` left out (or empty) means every plan. Behind the API's bearer token like the rest of
/api/; every change is a journal note (`line_closed`, `line_opened`) and kept in the store.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.http.site import Site, json_body
from ivr.plan.emergency import DEFAULT_MESSAGE
from ivr.switchboard.closure import TEXT_LIMIT, Closure


def add_line_routes(app: web.Application, site: Site | None) -> None:
    """GET /api/line, POST /api/line/close and /api/line/open."""

    async def status(request: web.Request) -> web.Response:
        live = _site(site)
        return web.json_response(live.switchboard.line.status(live.switchboard.plans))

    async def close(request: web.Request) -> web.Response:
        live = _site(site)
        body = await _body(request)
        message = body.get("message", DEFAULT_MESSAGE)
        if not isinstance(message, str) or not message:
            raise _bad("message", 'give "message" as the name of a declared message')
        closure = Closure(message, _text(body, "reason"), _text(body, "by") or "api", live.now())
        why, commands = live.switchboard.line.close(live.switchboard.plans, closure,
                                                    _plans(body))  # fmt: skip
        if why:
            raise _bad("refused", why)
        live.driver.run(commands)
        return web.json_response(live.switchboard.line.status(live.switchboard.plans))

    async def open_(request: web.Request) -> web.Response:
        live = _site(site)
        body = await _body(request)
        by = _text(body, "by") or "api"
        why, commands = live.switchboard.line.open(by, _text(body, "reason"), _plans(body))
        if why:
            raise web.HTTPConflict(text=why)
        live.driver.run(commands)
        answer = live.switchboard.line.status(live.switchboard.plans)
        answer["changed"] = bool(commands)
        return web.json_response(answer)

    app.router.add_get("/api/line", status)
    app.router.add_post("/api/line/close", close)
    app.router.add_post("/api/line/open", open_)


def _site(site: Site | None) -> Site:
    if site is None:
        raise web.HTTPServiceUnavailable(text="the daemon is not serving calls")
    return site


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _bad("body", 'the body must be a JSON object: {"message": ..., "reason": ...}')
    return body


def _text(body: dict[str, Any], name: str) -> str:
    """A free text field, one line, capped (it goes to the journal and the log)."""
    value = body.get(name, "")
    if not isinstance(value, str):
        raise _bad(name, f'give "{name}" as text')
    return " ".join(value.split())[:TEXT_LIMIT]


def _plans(body: dict[str, Any]) -> list[str]:
    plans = body.get("plans") or []
    if isinstance(plans, str):
        plans = [plans]
    if not isinstance(plans, list) or not all(isinstance(p, str) for p in plans):
        raise _bad("plans", 'give "plans" as a list of plan names (none: every plan)')
    return plans


def _bad(field: str, message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f"{field}: {message}")
