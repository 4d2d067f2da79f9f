"""The agent's side of an answered call: transfers (blind, warm: complete, cancel, three-way,
leave), the note that travels with the call, and the disposition given in wrap-up.

Routes act on the call the agent holds (or is the target of): the agent's page need not know
call ids. Refusals are JSON {"error", "message"} the page can show: 400 a bad body, 404 no
such agent, queue or target, 409 the call is not in a state for it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.callbacks.numbers import NumberRefused, dialable
from ivr.calls import agent_transfer
from ivr.calls.commands import Note
from ivr.calls.events import TransferRequest
from ivr.http.site import Refused, Site, json_object, staffed

STEPS = ("complete", "cancel", "conference")
MAX_NAME = 64  # a queue's or an agent's name is shorter than this


def add_transfer_routes(app: web.Application, site: Site | None) -> None:
    """POST /api/agents/{agent}/transfer, .../transfer/{step}, .../leave, .../note,
    .../disposition. Add before the agents' POST .../{action} route, which would take them."""

    async def transfer(request: web.Request) -> web.Response:
        live = staffed(site)
        agent = _agent(live, request)
        body = await json_object(request, optional=True)
        mode = body.get("mode")
        if mode not in agent_transfer.MODES:
            raise Refused(400, "invalid-mode", 'give "mode": "blind" or "warm"')
        kind, target = _target(live, body.get("to"))
        return _carry_out(live, TransferRequest("", agent, str(mode), kind, target))

    async def step(request: web.Request) -> web.Response:
        live = staffed(site)
        action = request.match_info["step"]
        if action not in STEPS:
            raise Refused(404, "unknown-step", "use /transfer/complete, /cancel or /conference")
        return _carry_out(live, TransferRequest("", _agent(live, request), action))

    async def leave(request: web.Request) -> web.Response:
        live = staffed(site)
        return _carry_out(live, TransferRequest("", _agent(live, request), "leave"))

    async def note(request: web.Request) -> web.Response:
        live = staffed(site)
        agent = _agent(live, request)
        text = (await json_object(request, optional=True)).get("note")
        if not isinstance(text, str):
            raise Refused(400, "invalid-note", 'give "note" as text')
        cleaned = "".join(ch for ch in text if ch.isprintable() or ch == "\n")
        return _carry_out(live, TransferRequest("", agent, "note", text=cleaned))

    async def disposition(request: web.Request) -> web.Response:
        live = staffed(site)
        agent = _agent(live, request)
        chosen = (await json_object(request, optional=True)).get("disposition")
        allowed = live.desk.roster.dispositions
        if not isinstance(chosen, str) or chosen not in allowed:
            raise Refused(400, "invalid-disposition",
                           "give \"disposition\" as one of: " + ", ".join(allowed))  # fmt: skip
        if str(live.desk.router.agent(agent).state) != "wrap_up":
            raise Refused(409, "not-in-wrap-up", "a disposition is given in wrap-up, after a call")
        pop = live.screen_pops.latest.get(agent)
        if pop is None:
            raise Refused(409, "no-call", "the agent has answered no call yet")
        fields = {"agent": agent, "queue": str(pop["queue"]), "disposition": chosen}
        live.driver.run([Note(str(pop["call"]), "disposition", fields)])
        return web.json_response({"call": pop["call"], "disposition": chosen})

    app.router.add_post("/api/agents/{agent}/transfer", transfer)
    app.router.add_post("/api/agents/{agent}/transfer/{step}", step)
    app.router.add_post("/api/agents/{agent}/leave", leave)
    app.router.add_post("/api/agents/{agent}/note", note)
    app.router.add_post("/api/agents/{agent}/disposition", disposition)


def _carry_out(live: Site, request: TransferRequest) -> web.Response:
    """Find the agent's call, check the request against it, and feed it to the core."""
    call = agent_transfer.call_of(live.switchboard.calls, request.agent_id)
    refused = agent_transfer.refusal(call, live.desk.router, request)
    if refused is not None:
        status, message = refused
        raise Refused(status, "refused", message)
    assert call is not None
    live.driver.feed(
        TransferRequest(
            call.id,
            request.agent_id,
            request.action,
            request.target_kind,
            request.target,
            request.text,
        )
    )
    return web.json_response(_outcome(live, call.id, request), status=202)


def _outcome(live: Site, call_id: str, request: TransferRequest) -> dict[str, Any]:
    """What the page shows after the request: the transfer ringing, or done."""
    shown: dict[str, Any] = {"call": call_id, "action": request.action}
    call = live.switchboard.calls.get(call_id)
    wait = call.step if call is not None else None
    handover = getattr(wait, "handover", None)
    consult = handover.consult if isinstance(handover, agent_transfer.Handover) else None
    if request.action in agent_transfer.MODES:
        shown["mode"] = request.action
        shown["to"] = {request.target_kind: _shown_target(request)}
        shown["transfer"] = "ringing" if consult is not None else "done"
    elif consult is not None:
        shown["transfer"] = "conference" if consult.conference else "consulting"
    else:
        shown["transfer"] = "done" if request.action != "note" else "none"
    return shown


def _shown_target(request: TransferRequest) -> str:
    if request.target_kind == "number":
        return request.target.partition("/")[2].partition("@")[0]
    return request.target


def _target(live: Site, to: object) -> tuple[str, str]:
    """`{"queue": Q}`, `{"agent": A}` or `{"number": N}`: the kind and the target (a number as
    the dial string of the callbacks' trunk, checked and normalised as a callback's is)."""
    if not isinstance(to, dict) or len(to) != 1:
        raise Refused(400, "invalid-target",
                       'give "to" as {"queue": Q}, {"agent": A} or {"number": N}')  # fmt: skip
    [(kind, value)] = to.items()
    if kind not in agent_transfer.TARGETS or not isinstance(value, str) or not value:
        raise Refused(400, "invalid-target",
                       'give "to" as {"queue": Q}, {"agent": A} or {"number": N}')  # fmt: skip
    if kind != "number":
        if len(value) > MAX_NAME:
            raise Refused(404, "unknown-target", f"no such {kind}")
        return kind, value
    rules = live.switchboard.callback_book.rules
    try:
        number = dialable(value, rules.country, rules.international)
    except NumberRefused as exc:
        raise Refused(400, "invalid-number", str(exc)) from None
    return kind, rules.dial.replace("{number}", number)


def _agent(live: Site, request: web.Request) -> str:
    agent = request.match_info["agent"]
    if agent not in {a.id for a in live.desk.roster.agents}:
        raise Refused(404, "unknown-agent", "no such agent")
    return agent
