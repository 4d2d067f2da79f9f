"""The calls' API: pause and resume a call's recording while card or passport data is read."""

from __future__ import annotations

from aiohttp import web

from ivr.calls.events import RecordingControl
from ivr.http.site import Site, staffed


def add_call_routes(app: web.Application, site: Site | None) -> None:
    """POST /api/calls/{call}/recording/pause and .../resume."""

    async def recording_control(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ("pause", "resume"):
            raise web.HTTPNotFound(text="use /recording/pause or /recording/resume")
        live = staffed(site)
        call_id = request.match_info["call"]
        call = live.switchboard.calls.get(call_id)
        if call is None or getattr(call.step, "recording", None) is None:
            raise web.HTTPNotFound(text="no call of that id is being recorded")
        live.driver.feed(RecordingControl(call_id, action == "pause"))
        return web.json_response({"call": call_id, "recording": action + "d"})

    app.router.add_post("/api/calls/{call}/recording/{action}", recording_control)
