"""Who may use each /api/ route: every route of the daemon's app tried by every kind of
caller (agent on itself, agent on another, supervisor, website, ops, a legacy API token, no
credentials), against the table below. A route nobody wrote a rule for is refused to all,
and this test names it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.http.access import ACCESS, rule_for
from tests.unit.http.principals_app import TOKENS, WHO, Desk1, desk_app

# METHOD PATTERN  who may (HEAD as GET). "*": anyone, signed in or not (signing in itself).
# agent-self is agent1 on /api/agents/agent1/... and on agent1's own call; agent-other is
# agent2 on the same paths.
EXPECTED = """
POST   /api/session                            *
GET    /api/session                            *
DELETE /api/session                            *
GET    /api/agents                             agent-self agent-other supervisor ops legacy
GET    /api/queues                             agent-self agent-other supervisor ops legacy
GET    /api/agents/{agent}/screen-pop          agent-self supervisor legacy
POST   /api/agents/{agent}/{action}            agent-self supervisor legacy
POST   /api/calls/{call}/recording/{action}    agent-self supervisor legacy
POST   /api/callbacks                          website legacy
GET    /api/callbacks/{reference}              website legacy
GET    /api/callbacks                          supervisor
GET    /api/voicemails                         supervisor
GET    /api/line                               supervisor ops legacy
POST   /api/line/close                         supervisor ops legacy
POST   /api/line/open                          supervisor ops legacy
POST   /api/erase                              ops legacy
GET    /api/recordings                         supervisor
GET    /api/recordings/{call_id}               supervisor
GET    /api/recordings/{call_id}/meta          supervisor
POST   /api/agents/{agent}/transfer            agent-self supervisor legacy
POST   /api/agents/{agent}/transfer/{step}     agent-self supervisor legacy
POST   /api/agents/{agent}/leave               agent-self supervisor legacy
POST   /api/agents/{agent}/note                agent-self supervisor legacy
POST   /api/agents/{agent}/disposition         agent-self supervisor legacy
GET    /api/calls                              supervisor ops legacy
POST   /api/calls/{call}/listen                supervisor
POST   /api/calls/{call}/whisper               supervisor
POST   /api/calls/{call}/barge                 supervisor
DELETE /api/calls/{call}/supervision/{session} supervisor
POST   /api/calls/{call}/move                  supervisor
GET    /api/events                             agent-self agent-other supervisor ops legacy
"""


def expected() -> dict[str, set[str]]:
    table = {}
    for line in EXPECTED.strip().splitlines():
        method, pattern, *who = line.split()
        table[f"{method} {pattern}"] = set(WHO) if who == ["*"] else set(who)
    return table


def api_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, pattern) of every /api/ route the app serves."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is not None and resource.canonical.startswith("/api/"):
            found.append((route.method, resource.canonical))
    return sorted(set(found))


def path_of(pattern: str, call_id: str) -> str:
    """A path for the pattern: agent1's id, agent1's call, harmless values elsewhere (an
    action no route knows, so an allowed request changes nothing)."""
    values = {"agent": "agent1", "call": call_id, "action": "no-such-action",
              "reference": "x" * 24, "call_id": "c1"}  # fmt: skip
    path = pattern
    while "{" in path:
        start = path.index("{")
        end = path.index("}", start)
        name = path[start + 1 : end].split(":")[0]
        path = path[:start] + values.get(name, "x") + path[end + 1 :]
    return path


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Desk1, TestClient[Any, Any]]]:
    made = desk_app(tmp_path)
    client: TestClient[Any, Any] = TestClient(TestServer(made.app))
    await client.start_server()
    yield made, client
    await client.close()


def test_every_api_route_has_a_rule_and_an_expectation(tmp_path: Path) -> None:
    app = desk_app(tmp_path).app
    routes = [f"{m} {p}" for m, p in api_routes(app) if m != "HEAD"]
    without_rule = [r for r in routes if rule_for(*r.split(" ", 1)) is None]
    assert not without_rule, (
        f"routes refused to everyone for want of a rule in ivr/http/access.py: {without_rule}"
    )
    unexpected = sorted(set(routes) - set(expected()))
    assert not unexpected, f"routes without a line in this test's EXPECTED: {unexpected}"
    stale = sorted(set(ACCESS) - set(routes))
    assert not stale, f"rules in ivr/http/access.py for routes the app does not have: {stale}"


async def test_every_route_refuses_every_caller_the_table_does_not_name(
    desk: tuple[Desk1, TestClient[Any, Any]],
) -> None:
    made, client = desk
    table = expected()
    wrong = []
    for method, pattern in api_routes(made.app):
        allowed = table.get(f"{'GET' if method == 'HEAD' else method} {pattern}", set())
        path = path_of(pattern, made.call_id)
        for who in WHO:
            # A connection each: a stream cut short leaves nothing for the next request.
            headers = {"Content-Type": "application/json", "Connection": "close"}
            if who != "none":
                headers["Authorization"] = f"Bearer {TOKENS[who]}"
            response = await client.request(method, path, data="{}", headers=headers)
            # Only refusals are read: an allowed GET /api/events is a stream that never ends.
            status = response.status
            body = await response.read() if status in (401, 403) else b""
            response.close()
            if allowed == set(WHO):  # signing in: never refused (GET says 401 "not signed in")
                assert status != 403, (method, pattern, who)
                continue
            # A refusal is the guard's: JSON with its error code (HEAD has no body to read).
            refused = status in (401, 403) and (method == "HEAD" or _refusal(body) in (
                "unauthorized", "forbidden"))  # fmt: skip
            if refused == (who in allowed):
                wrong.append(f"{method} {pattern} as {who}: {status} {body[:120]!r}")
            if status == 403 and refused and method != "HEAD":
                message = json.loads(body)["message"]
                assert message.startswith("needs ") or "no access rule" in message, message
    assert not wrong, "\n".join(wrong)


def _refusal(body: bytes) -> str:
    """The guard's refusals are JSON with an `error` code; handlers' own 4xx are not these."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("error", "")) if isinstance(answer, dict) else ""


async def test_refusals_say_which_role_is_needed(
    desk: tuple[Desk1, TestClient[Any, Any]],
) -> None:
    made, client = desk
    boris = {"Authorization": f"Bearer {TOKENS['agent-other']}"}
    response = await client.post("/api/agents/agent1/pause", headers=boris)
    assert response.status == 403
    assert (await response.json())["message"] == "needs supervisor, or the agent agent1 themself"
    response = await client.get("/api/callbacks", headers=boris)
    assert (await response.json())["message"] == "needs supervisor"
    response = await client.post(f"/api/calls/{made.call_id}/recording/pause", headers=boris)
    assert (await response.json())["message"] == ("needs supervisor, or the agent on this call")
    nobody = await client.get("/api/agents")
    assert nobody.status == 401 and nobody.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = await client.get("/api/agents", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status == 401


async def test_an_agent_changes_only_their_own_state_and_a_supervisor_anyone(
    desk: tuple[Desk1, TestClient[Any, Any]],
) -> None:
    made, client = desk
    anna = {"Authorization": f"Bearer {TOKENS['agent-self']}"}
    boris = {"Authorization": f"Bearer {TOKENS['agent-other']}"}
    olga = {"Authorization": f"Bearer {TOKENS['supervisor']}"}
    router = made.world.switchboard.desk.router

    assert (await client.post("/api/agents/agent2/sign-in", headers=anna)).status == 403
    assert str(router.agent("agent2").state) == "signed_out"
    response = await client.post("/api/agents/agent2/sign-in", headers=boris)
    assert response.status == 200 and (await response.json())["state"] == "available"
    assert (await client.post("/api/agents/agent2/pause", headers=anna)).status == 403
    assert str(router.agent("agent2").state) == "available"
    # The supervisor signs boris out.
    assert (await client.post("/api/agents/agent2/sign-out", headers=olga)).status == 200
    assert str(router.agent("agent2").state) == "signed_out"


async def test_an_agent_acts_on_the_call_they_are_on_and_on_no_other(
    desk: tuple[Desk1, TestClient[Any, Any]],
) -> None:
    made, client = desk
    anna = {"Authorization": f"Bearer {TOKENS['agent-self']}"}
    boris = {"Authorization": f"Bearer {TOKENS['agent-other']}"}
    # The call is not recorded (no policy): anna is let through to the handler's 404, boris
    # is refused before it.
    mine = await client.post(f"/api/calls/{made.call_id}/recording/pause", headers=anna)
    assert mine.status == 404
    theirs = await client.post(f"/api/calls/{made.call_id}/recording/pause", headers=boris)
    assert theirs.status == 403
    other_call = await client.post("/api/calls/sim-999/recording/pause", headers=anna)
    assert other_call.status == 403


async def test_no_spelling_of_a_path_reaches_a_route_under_another_rule(
    desk: tuple[Desk1, TestClient[Any, Any]],
) -> None:
    _, client = desk
    web_token = {"Authorization": f"Bearer {TOKENS['website']}"}
    for path in ("/api/callbacks/../voicemails", "/api/callbacks/%2e%2e/voicemails",
                 "/api//voicemails", "/API/voicemails", "/api/voicemails/",
                 "/api/callbacks/..%2fvoicemails"):  # fmt: skip
        response = await client.get(path, headers=web_token)
        assert response.status in (400, 403, 404), (path, response.status)
    # Unknown /api/ paths say nothing to someone without credentials.
    assert (await client.get("/api/no-such-route")).status == 401
