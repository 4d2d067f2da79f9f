"""The agents' and queues' API: the desk's snapshot, sign-in/out and pause, screen pops."""

from __future__ import annotations

from typing import Any, get_args

from aiohttp import web

from ivr.calls.events import AgentRequest
from ivr.http.site import Site, json_body, staffed
from ivr.routing.desk import AgentAction, snapshot

ACTIONS: tuple[AgentAction, ...] = get_args(AgentAction)


def add_agent_routes(app: web.Application, site: Site | None) -> None:
    """GET /api/agents, /api/queues, /api/agents/{agent}/screen-pop; POST .../{action}."""

    async def agents(request: web.Request) -> web.Response:
        live = staffed(site)
        return web.json_response(snapshot(live.desk, live.now())["agents"])

    async def queues(request: web.Request) -> web.Response:
        live = staffed(site)
        return web.json_response(snapshot(live.desk, live.now())["queues"])

    async def agent_action(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise web.HTTPNotFound(text=f"unknown action; use one of {', '.join(ACTIONS)}")
        body: object = {}
        if request.can_read_body:
            body = await json_body(request)
        reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        agent = _request(staffed(site), request.match_info["agent"], action, reason[:40])
        if agent is None:
            raise web.HTTPNotFound(text="no such agent")
        return web.json_response(agent)

    async def screen_pop(request: web.Request) -> web.Response:
        pop = staffed(site).screen_pops.latest.get(request.match_info["agent"])
        if pop is None:
            raise web.HTTPNotFound(text="no call answered by this agent yet")
        return web.json_response(pop)

    app.router.add_get("/api/agents/{agent}/screen-pop", screen_pop)
    app.router.add_get("/api/agents", agents)
    app.router.add_get("/api/queues", queues)
    app.router.add_post("/api/agents/{agent}/{action}", agent_action)


def _request(site: Site, agent_id: str, action: str, reason: str) -> dict[str, Any] | None:
    """Carry out an agent's request; the agent as they stand afterwards, None if unknown."""
    if agent_id not in {a.id for a in site.desk.roster.agents}:
        return None
    site.driver.feed(AgentRequest(agent_id, action, reason))  # type: ignore[arg-type]
    agents: list[dict[str, Any]] = snapshot(site.desk, site.now())["agents"]
    return next(a for a in agents if a["id"] == agent_id)
