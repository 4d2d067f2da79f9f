"""The daemon's HTTP listener: /healthz, /metrics, the token-protected agent/queue API, and
the recordings API behind supervisors' tokens."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from aiohttp import web

from ivr.http.recordings import RecordingAccess, add_recording_routes
from ivr.journal.metrics import Metrics

HealthCheck = Callable[[], dict[str, bool]]
ACTIONS = ("sign-in", "sign-out", "pause", "resume")


class AgentDesk(Protocol):
    """What the API may see and ask of the routing desk."""

    def snapshot(self) -> dict[str, Any]: ...

    def request(self, agent_id: str, action: str, reason: str) -> dict[str, Any] | None: ...

    def screen_pop(self, agent_id: str) -> dict[str, Any] | None: ...

    def callbacks(self) -> list[dict[str, Any]]: ...

    def request_callback(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]: ...

    def voicemails(self) -> list[dict[str, Any]]: ...

    def pause_recording(self, call_id: str, pause: bool) -> bool: ...


def make_app(
    health: HealthCheck,
    metrics: Metrics,
    desk: AgentDesk | None = None,
    tokens: Sequence[str] = (),
    recordings: RecordingAccess | None = None,
) -> web.Application:
    """The aiohttp application: health and metrics open, /api/ behind a bearer token.

    With `recordings`, /api/recordings too, where only a supervisor's token will do.
    """
    self_guarded: set[web.AbstractResource] = set()
    app = web.Application(middlewares=[_auth(tokens, self_guarded)])

    async def healthz(request: web.Request) -> web.Response:
        links = health()
        status = 200 if all(links.values()) else 503
        return web.json_response({"ok": status == 200, **links}, status=status)

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def agents(request: web.Request) -> web.Response:
        return web.json_response(_desk(desk).snapshot()["agents"])

    async def queues(request: web.Request) -> web.Response:
        return web.json_response(_desk(desk).snapshot()["queues"])

    async def agent_action(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise web.HTTPNotFound(text=f"unknown action; use one of {', '.join(ACTIONS)}")
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                raise web.HTTPBadRequest(text="the body must be JSON") from None
        reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        agent = _desk(desk).request(request.match_info["agent"], action, reason[:40])
        if agent is None:
            raise web.HTTPNotFound(text="no such agent")
        return web.json_response(agent)

    async def screen_pop(request: web.Request) -> web.Response:
        pop = _desk(desk).screen_pop(request.match_info["agent"])
        if pop is None:
            raise web.HTTPNotFound(text="no call answered by this agent yet")
        return web.json_response(pop)

    async def callbacks(request: web.Request) -> web.Response:
        return web.json_response(_desk(desk).callbacks())

    async def request_callback(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='the body must be a JSON object: {"number": ...}')
        status, answer = _desk(desk).request_callback(body)
        return web.json_response(answer, status=status)

    async def voicemails(request: web.Request) -> web.Response:
        return web.json_response(_desk(desk).voicemails())

    async def recording_control(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ("pause", "resume"):
            raise web.HTTPNotFound(text="use /recording/pause or /recording/resume")
        call_id = request.match_info["call"]
        if not _desk(desk).pause_recording(call_id, action == "pause"):
            raise web.HTTPNotFound(text="no call of that id is being recorded")
        return web.json_response({"call": call_id, "recording": action + "d"})

    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/calls/{call}/recording/{action}", recording_control)
    app.router.add_get("/api/callbacks", callbacks)
    app.router.add_post("/api/callbacks", request_callback)
    app.router.add_get("/api/voicemails", voicemails)
    app.router.add_get("/api/agents/{agent}/screen-pop", screen_pop)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/api/agents", agents)
    app.router.add_get("/api/queues", queues)
    app.router.add_post("/api/agents/{agent}/{action}", agent_action)
    if recordings is not None:
        self_guarded |= add_recording_routes(
            app, recordings.folder, recordings.supervisors, recordings.tz
        )
    return app


def _desk(desk: AgentDesk | None) -> AgentDesk:
    if desk is None:
        raise web.HTTPServiceUnavailable(text="no agent roster is loaded (agents/*.yaml)")
    return desk


def _auth(tokens: Sequence[str], self_guarded: Collection[web.AbstractResource]) -> Any:
    """Agents' bearer tokens on /api/, except for the resources that check their own tokens."""
    expected = [t.encode() for t in tokens if t]

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        # Decided by the route matched, not the path's text: no spelling of a path can
        # reach an agent route without an agent's token.
        guarded = request.match_info.route.resource in self_guarded
        if request.path.startswith("/api/") and not guarded:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
            # compare_digest on every token: the time taken says nothing about which matched.
            if not expected or not any(hmac.compare_digest(given, t) for t in expected):
                raise web.HTTPUnauthorized(text="a valid bearer token is needed")
        response: web.StreamResponse = await handler(request)
        return response

    return middleware
