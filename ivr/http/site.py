"""What the API drives: the core's switchboard and driver, and what the journal's sinks keep."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
