"""The daemon's HTTP listener: /healthz for load balancers and /metrics for Prometheus."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ivr.metrics import Metrics

HealthCheck = Callable[[], dict[str, bool]]


def make_app(health: HealthCheck, metrics: Metrics) -> web.Application:
    """The aiohttp application serving health and metrics."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        links = health()
        status = 200 if all(links.values()) else 503
        return web.json_response({"ok": status == 200, **links}, status=status)

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app
