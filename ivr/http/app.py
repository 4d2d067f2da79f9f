"""The daemon's HTTP listener: /healthz, /metrics, the token-protected API (agents, queues,
calls, callbacks), and the recordings API behind supervisors' tokens."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from typing import Any

from aiohttp import web

from ivr.http.agents import add_agent_routes
from ivr.http.callbacks import add_callback_routes
from ivr.http.calls import add_call_routes
from ivr.http.erase import add_erase_routes
from ivr.http.line import add_line_routes
from ivr.http.recordings import RecordingAccess, add_recording_routes
from ivr.http.site import Site
from ivr.journal.metrics import Metrics

# The daemon's health: `ok` decides 200 or 503; the rest says why (links, role).
HealthCheck = Callable[[], dict[str, Any]]


def make_app(
    health: HealthCheck,
    metrics: Metrics,
    site: Site | None = None,
    tokens: Sequence[str] = (),
    recordings: RecordingAccess | None = None,
    country: str = "RU",
) -> web.Application:
    """The aiohttp application: health and metrics open, /api/ behind a bearer token.

    With `recordings`, /api/recordings too, where only a supervisor's token will do.
    """
    self_guarded: set[web.AbstractResource | web.AbstractRoute] = set()
    app = web.Application(middlewares=[_auth(tokens, self_guarded)])

    async def healthz(request: web.Request) -> web.Response:
        report = health()
        status = 200 if report.get("ok") else 503
        return web.json_response(report, status=status)

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    add_call_routes(app, site)
    supervisors = recordings.supervisors if recordings is not None else {}
    self_guarded |= add_callback_routes(app, site, supervisors)
    add_agent_routes(app, site)
    add_line_routes(app, site)
    add_erase_routes(app, site, country)
    if recordings is not None:
        self_guarded |= add_recording_routes(
            app, recordings.folder, recordings.supervisors, recordings.tz
        )
    return app


def _auth(
    tokens: Sequence[str], self_guarded: Collection[web.AbstractResource | web.AbstractRoute]
) -> Any:
    """Agents' bearer tokens on /api/, except for the resources that check their own tokens."""
    expected = [t.encode() for t in tokens if t]

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        # Decided by the route matched, not the path's text: no spelling of a path can
        # reach an agent route without an agent's token.
        # A route (GET /api/callbacks, supervisors only) may guard itself while its resource's
        # other routes (POST /api/callbacks) stay behind the agents' tokens.
        route = request.match_info.route
        guarded = route in self_guarded or route.resource in self_guarded
        if request.path.startswith("/api/") and not guarded:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
            # compare_digest on every token: the time taken says nothing about which matched.
            if not expected or not any(hmac.compare_digest(given, t) for t in expected):
                raise web.HTTPUnauthorized(text="a valid bearer token is needed")
        response: web.StreamResponse = await handler(request)
        return response

    return middleware
