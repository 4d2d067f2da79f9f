"""What the API drives: the core's switchboard and driver, and what the journal's sinks keep."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.journal.screen_pop import ScreenPops
from ivr.routing.desk import Desk
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard


@dataclass(frozen=True)
class Site:
    """The running core as the API sees it; requests go in through the driver, as events do."""

    switchboard: Switchboard
    driver: CallDriver
    screen_pops: ScreenPops
    voicemail_folder: Path

    @property
    def desk(self) -> Desk:
        """The desk now: a roster reload may have swapped it."""
        return self.switchboard.desk

    def now(self) -> float:
        """The core's clock."""
        return self.switchboard.clock.now()


def staffed(site: Site | None) -> Site:
    """The site, or 503 when no roster is loaded: agents, queues and callbacks need one."""
    if site is None or not site.desk.staffed:
        raise web.HTTPServiceUnavailable(text="no agent roster is loaded (agents/*.yaml)")
    return site


async def json_body(request: web.Request) -> object:
    """The request's JSON body, or 400 saying it must be JSON."""
    try:
        return await request.json()
    except (ValueError, RecursionError):  # RecursionError: [[[[... nested too deep
        raise web.HTTPBadRequest(text="the body must be JSON") from None


async def json_object(request: web.Request, optional: bool = False) -> dict[str, Any]:
    """The request's body as a JSON object ({} without a body when `optional`), or 400."""
    if optional and not request.can_read_body:
        return {}
    body = await json_body(request)
    if not isinstance(body, dict):
        raise Refused(400, "invalid-request", "the body must be a JSON object")
    return body


def refusal(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A refusal a website or the desk page can show: JSON {"error": code, "message"}."""
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


class Refused(web.HTTPError):
    """`refusal` to raise from deep in a handler."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status_code = status  # read by HTTPError's __init__: any 4xx, one class
        super().__init__(
            text=json.dumps({"error": code, "message": message}), content_type="application/json"
        )
