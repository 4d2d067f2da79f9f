"""The agents' and supervisors' web page: plain HTML, JS and CSS served by the daemon at
/desk (no build step); it signs in with POST /api/session and follows GET /api/events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from aiohttp import web

ASSETS = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
# The page loads only its own files and talks only to its own origin: an injected script or
# a framing site gets nowhere.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_page_routes(app: web.Application) -> None:
    """GET /desk (the page) and /desk/app.js, /desk/style.css; read once at start."""
    folder = files(__name__)
    bodies = {name: folder.joinpath(name).read_bytes() for name in ASSETS}

    def serving(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def asset(request: web.Request) -> web.Response:
            response = web.Response(body=bodies[name], headers=HEADERS)
            response.content_type = ASSETS[name]
            response.charset = "utf-8"
            return response

        return asset

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPFound("/desk/")

    app.router.add_get("/desk", to_page)
    app.router.add_get("/desk/", serving("index.html"))
    for name in ("app.js", "style.css"):
        app.router.add_get(f"/desk/{name}", serving(name))
