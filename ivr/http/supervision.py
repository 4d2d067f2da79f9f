"""Supervisors' API on live calls: the calls in progress, listen, whisper, barge, and moving a
waiting caller to another queue. Every use is journalled with the supervisor's name.

Refusals are JSON {"error", "message"}: 404 no such call or session, 409 the call is not in
the state asked for (talking to an agent; waiting in a queue), 400 a bad body.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, get_args

from aiohttp import web

from ivr.calls import supervision
from ivr.calls.events import MoveCaller, StopSupervising, SuperviseCall, SupervisionMode
from ivr.calls.queue import move
from ivr.http.events import call_views, mask_number
from ivr.http.principals import PRINCIPAL
from ivr.http.site import Refused, Site, json_object, staffed

MODES: tuple[SupervisionMode, ...] = get_args(SupervisionMode)
# A supervisor's phone: a PJSIP endpoint (`PJSIP/supervisor1`) or a number through a trunk
# (`PJSIP/79001234567@trunk`); nothing else reaches ARI's dial string.
PHONE = re.compile(r"PJSIP/[A-Za-z0-9_.+-]{1,64}(@[A-Za-z0-9_.-]{1,64})?")
MAX_QUEUE = 40  # a queue's name is at most this long (plan/queues.py)


def add_supervision_routes(app: web.Application, site: Site | None) -> None:
    """GET /api/calls; POST /api/calls/{call}/listen|whisper|barge|move;
    DELETE /api/calls/{call}/supervision/{session}."""

    async def calls(request: web.Request) -> web.Response:
        live = staffed(site)
        sessions = live.switchboard.supervisions
        listed = []
        for view in call_views(live, live.now()).values():
            shown: dict[str, Any] = {k: v for k, v in view.items() if k != "variables"}
            shown["number"] = mask_number(view["number"])
            shown["supervision"] = [
                {"session": s.id, "mode": s.mode, "supervisor": s.supervisor}
                for s in sessions.of_call(view["call"])
            ]
            listed.append(shown)
        listed.sort(key=lambda c: (c["since"], c["call"]))
        return web.json_response(listed)

    def supervise(mode: SupervisionMode) -> Any:
        async def handler(request: web.Request) -> web.Response:
            live = staffed(site)
            body = await json_object(request)
            phone = body.get("phone")
            if not isinstance(phone, str) or not PHONE.fullmatch(phone):
                raise Refused(400, "invalid-phone", 'give "phone" as a PJSIP endpoint: '
                               '"PJSIP/supervisor1" (or "PJSIP/<number>@<trunk>")')  # fmt: skip
            call_id = request.match_info["call"]
            call = live.switchboard.calls.get(call_id)
            why = supervision.refusal(call)
            if why is not None:
                raise Refused(404 if call is None else 409, "not-talking", why)
            session = f"{call_id}-sv{secrets.token_hex(4)}"
            live.driver.feed(SuperviseCall(call_id, session, mode, phone, _who(request)))
            if session not in live.switchboard.supervisions.sessions:
                raise Refused(409, "not-talking", "the call is not talking to an agent")
            reply = {"call": call_id, "mode": mode, "session": session, "phone": phone}
            return web.json_response(reply, status=202)

        return handler

    async def end(request: web.Request) -> web.Response:
        live = staffed(site)
        call_id, session_id = request.match_info["call"], request.match_info["session"]
        session = live.switchboard.supervisions.sessions.get(session_id)
        if session is None or session.call_id != call_id:
            raise Refused(404, "no-session", "no supervision session of that id on this call")
        live.driver.feed(StopSupervising(call_id, session_id, _who(request)))
        reply = {"call": call_id, "session": session_id, "supervision": "ending"}
        return web.json_response(reply, status=202)

    async def move_caller(request: web.Request) -> web.Response:
        live = staffed(site)
        body = await json_object(request)
        queue = body.get("queue")
        if not isinstance(queue, str) or not 0 < len(queue) <= MAX_QUEUE:
            raise Refused(400, "invalid-request", 'give "queue": the name of a queue')
        call_id = request.match_info["call"]
        call = live.switchboard.calls.get(call_id)
        router = live.desk.router
        why = move.refusal(call, router, queue)
        if why is not None:
            status, text = why
            code = {404: "no-call", 409: "not-waiting"}.get(status, "unknown-queue")
            raise Refused(status, code, text)
        assert call is not None
        came_from = getattr(call.step, "queue", "")
        live.driver.feed(MoveCaller(call_id, queue, _who(request)))
        return web.json_response({"call": call_id, "queue": queue, "came_from": came_from,
                                  "position": router.position(call_id)})  # fmt: skip

    app.router.add_get("/api/calls", calls)
    for mode in MODES:
        app.router.add_post(f"/api/calls/{{call}}/{mode}", supervise(mode))
    app.router.add_delete("/api/calls/{call}/supervision/{session}", end)
    app.router.add_post("/api/calls/{call}/move", move_caller)


def _who(request: web.Request) -> str:
    """The principal's name for the journal (the access table has let them in)."""
    principal = request.get(PRINCIPAL)
    name = getattr(principal, "name", None)
    return name if isinstance(name, str) and name else "api"
