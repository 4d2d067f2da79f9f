"""The daemon's HTTP listener: /healthz, /metrics, and the API (agents, queues, calls,
callbacks, recordings, web sign-in), each /api/ route behind its rule in ivr/http/access.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from ivr.http.agents import add_agent_routes
from ivr.http.callbacks import add_callback_routes
from ivr.http.calls import add_call_routes
from ivr.http.desk_day import DayFigures
from ivr.http.desk_page import add_page_routes
from ivr.http.erase import add_erase_routes
from ivr.http.events import DeskFeed, add_event_routes
from ivr.http.guard import auth_middleware
from ivr.http.line import add_line_routes
from ivr.http.principals import Directory
from ivr.http.recordings import RecordingAccess, add_recording_routes
from ivr.http.session import SessionPolicy, Sessions, add_session_routes
from ivr.http.site import Site
from ivr.http.supervision import add_supervision_routes
from ivr.http.transfers import add_transfer_routes
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
    principals: Directory | None = None,
    sessions: SessionPolicy | None = None,
    desk_day: DayFigures | None = None,
    open_sessions: Sessions | None = None,
) -> web.Application:
    """The aiohttp application: health and metrics open, /api/ behind principals' rights.

    Without `principals`, the principals of before issue 16: `tokens` (legacy API tokens)
    and the recordings' supervisors. With `recordings`, /api/recordings too. The daemon
    gives `open_sessions` (kept in its store); without, web sessions live in memory only.
    """
    if principals is None:
        supervisors = recordings.supervisors if recordings is not None else {}
        principals = Directory.legacy(tokens, supervisors)
    policy = sessions or SessionPolicy()
    if open_sessions is None:
        open_sessions = Sessions(policy.max_age)
    app = web.Application(middlewares=[auth_middleware(principals, open_sessions, _on_call(site))])

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
    add_session_routes(app, principals, open_sessions, policy)
    add_call_routes(app, site)
    add_supervision_routes(app, site)
    add_callback_routes(app, site)
    add_transfer_routes(app, site)  # before the agents' POST .../{action}, which would take them
    add_agent_routes(app, site)
    add_line_routes(app, site)
    add_erase_routes(app, site, country)
    # The web page (/desk) and its live feed (GET /api/events); `desk_day` counts today.
    add_event_routes(app, DeskFeed(site, desk_day))
    add_page_routes(app)
    if recordings is not None:
        add_recording_routes(app, recordings.folder, recordings.tz)
    return app


def _on_call(site: Site | None) -> Callable[[str, str], bool]:
    """Whether an agent is on a call now (ringing or talking), for agents' own-call rights."""

    def on_call(agent: str, call: str) -> bool:
        if site is None or not site.desk.staffed:
            return False
        if agent not in {a.id for a in site.desk.roster.agents}:
            return False
        return call in site.desk.router.agent(agent).calls

    return on_call
