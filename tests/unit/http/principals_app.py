"""The daemon's whole API app over a staffed world on virtual time, with one principal of
every role: agent1 (anna) talking on a call, agent2 (boris) free, a supervisor, the website,
ops, and a legacy API token. Shared by the access, session and fuzz tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ivr.calls.events import AgentRequest
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.http.app import make_app
from ivr.http.principals import LEGACY, Credential, Directory, Principal
from ivr.http.recordings import RecordingAccess
from ivr.http.session import SessionPolicy
from ivr.http.site import Site
from ivr.journal.metrics import Metrics
from ivr.journal.screen_pop import ScreenPops
from ivr.passwords import hash_password
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {skills: {returns: 5}}
nodes:
  start: {type: queue, queue: returns}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {returns: 7}}
"""
PASSWORD = "correct horse battery"
# One bearer token per kind of caller of the API ("none" sends no credentials).
TOKENS = {
    "agent-self": "anna-agent-token-0001",  # agent1, whose id and call the paths name
    "agent-other": "boris-agent-token-0001",  # agent2
    "supervisor": "olga-supervisor-token-01",
    "website": "shop-website-token-0001",
    "ops": "ops-operations-token-01",
    "legacy": "legacy-api-token-0001",
}
WHO = ("agent-self", "agent-other", "supervisor", "website", "ops", "legacy", "none")
_HASH = hash_password(PASSWORD, salt=b"fixed-salt-for-tests")


def directory() -> Directory:
    """anna, boris, olga, website, ops (each with a token, and the password PASSWORD), and a
    legacy API token."""
    people = [
        ("agent-self", Principal("anna", "agent", "agent1")),
        ("agent-other", Principal("boris", "agent", "agent2")),
        ("supervisor", Principal("olga", "supervisor")),
        ("website", Principal("website", "website")),
        ("ops", Principal("ops", "ops")),
    ]
    credentials = [Credential(p, TOKENS[who], _HASH) for who, p in people]
    credentials.append(Credential(Principal("api.tokens[0]", LEGACY), TOKENS["legacy"]))
    return Directory(credentials)


@dataclass
class Desk1:
    """The app and the world behind it: agent1 talks on `call_id`."""

    app: web.Application
    world: World
    call_id: str


def desk_app(tmp_path: Path, policy: SessionPolicy | None = None) -> Desk1:
    """The API as the daemon builds it, agent1 already talking to a caller."""
    plans = book(PLAN)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    world = make_world(plans, desk=desk)
    world.driver.feed(AgentRequest("agent1", "sign-in"))
    call = world.call("100")
    world.wait(5)
    ring = next(c for c in world.pbx.sent if isinstance(c, RingAgent))
    world.driver.feed(AgentAnswered(call.call_id, ring.leg_id))
    assert call.call_id in world.switchboard.desk.router.agent("agent1").calls
    site = Site(world.switchboard, world.driver, ScreenPops(), tmp_path / "voicemail")
    access = RecordingAccess(tmp_path / "recordings")
    app = make_app(lambda: {"ok": True}, Metrics(), site, recordings=access,
                   principals=directory(), sessions=policy)  # fmt: skip
    return Desk1(app, world, call.call_id)
