"""Web sign-in: a principal's name and password open a session (an HttpOnly, SameSite=Strict,
expiring cookie, Secure over TLS) whose state-changing requests must carry its CSRF token;
failed sign-ins are throttled per name and per address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.http.principals import Credential, Directory, Principal
from ivr.http.session import KIND, SessionPolicy, Sessions, SignInGuard
from ivr.passwords import hash_password
from ivr.store.memory import MemoryLive
from ivr.store.sqlite import SqliteLive
from tests.unit.http.principals_app import PASSWORD, TOKENS, Desk1, desk_app

JSON = {"Content-Type": "application/json"}


class Browser:
    """A client keeping cookies as a browser does, signed in as someone or not."""

    def __init__(self, client: TestClient[Any, Any], desk: Desk1) -> None:
        self.client = client
        self.desk = desk
        self.csrf = ""

    async def sign_in(self, name: str, password: str = PASSWORD) -> Any:
        response = await self.client.post("/api/session", json={"name": name, "password": password})
        if response.status == 200:
            self.csrf = (await response.json())["csrf"]
        return response

    def state(self, agent: str) -> str:
        return str(self.desk.world.switchboard.desk.router.agent(agent).state)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    made = desk_app(tmp_path)
    client: TestClient[Any, Any] = TestClient(TestServer(made.app))
    await client.start_server()
    yield Browser(client, made)
    await client.close()


async def test_signing_in_sets_a_strict_http_only_expiring_cookie_and_gives_a_csrf_token(
    browser: Browser,
) -> None:
    response = await browser.sign_in("boris")
    assert response.status == 200
    answer = await response.json()
    assert answer["name"] == "boris" and answer["role"] == "agent" and answer["agent"] == "agent2"
    assert len(answer["csrf"]) >= 32
    cookie = SimpleCookie(response.headers["Set-Cookie"])["ivr_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert cookie["max-age"] == str(8 * 3600)
    assert not cookie["secure"]  # plain HTTP here: a Secure cookie would never come back
    assert len(cookie.value) >= 32 and PASSWORD not in response.headers["Set-Cookie"]
    again = await browser.client.get("/api/session")
    assert again.status == 200 and await again.json() == answer


async def test_a_session_acts_with_its_principals_rights_and_only_with_its_csrf_token(
    browser: Browser,
) -> None:
    await browser.sign_in("boris")
    # Reading needs no CSRF token.
    assert (await browser.client.get("/api/agents")).status == 200
    # Changing something does: a page on another site cannot send it.
    forged = await browser.client.post("/api/agents/agent2/sign-in")
    assert forged.status == 403 and (await forged.json())["error"] == "csrf"
    wrong = await browser.client.post("/api/agents/agent2/sign-in",
                                      headers={"X-CSRF-Token": "x" * 43})  # fmt: skip
    assert wrong.status == 403
    assert browser.state("agent2") == "signed_out"
    mine = await browser.client.post("/api/agents/agent2/sign-in",
                                     headers={"X-CSRF-Token": browser.csrf})  # fmt: skip
    assert mine.status == 200 and browser.state("agent2") == "available"
    # Boris's session is Boris: not agent1, even with the token.
    other = await browser.client.post("/api/agents/agent1/pause",
                                      headers={"X-CSRF-Token": browser.csrf})  # fmt: skip
    assert other.status == 403
    assert (await other.json())["message"] == "needs supervisor, or the agent agent1 themself"
    assert browser.state("agent1") == "on_call"


async def test_signing_out_needs_the_csrf_token_and_ends_the_session(browser: Browser) -> None:
    await browser.sign_in("olga")
    assert (await browser.client.delete("/api/session")).status == 403
    assert (await browser.client.get("/api/callbacks")).status == 200
    out = await browser.client.delete("/api/session", headers={"X-CSRF-Token": browser.csrf})
    assert out.status == 200
    assert (await browser.client.get("/api/session")).status == 401
    assert (await browser.client.get("/api/callbacks")).status == 401


async def test_a_stolen_cookie_stops_working_when_its_owner_signs_out(browser: Browser) -> None:
    response = await browser.sign_in("olga")
    stolen = SimpleCookie(response.headers["Set-Cookie"])["ivr_session"].value
    await browser.client.delete("/api/session", headers={"X-CSRF-Token": browser.csrf})
    replay = await browser.client.get("/api/callbacks", cookies={"ivr_session": stolen})
    assert replay.status == 401


async def test_wrong_passwords_and_unknown_names_are_refused_alike(browser: Browser) -> None:
    wrong = await browser.sign_in("boris", "not the password")
    unknown = await browser.sign_in("nobody", PASSWORD)
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json()
    assert "Set-Cookie" not in wrong.headers
    # A principal with a token but signed in with the token as a password: no.
    assert (await browser.sign_in("boris", TOKENS["agent-other"])).status == 401


async def test_sign_in_wants_json_so_a_cross_site_form_cannot_sign_a_browser_in(
    browser: Browser,
) -> None:
    form = await browser.client.post("/api/session", data={"name": "boris", "password": PASSWORD})
    assert form.status == 415
    for body in ("[]", '{"name": 1, "password": 2}', "{", '{"name": ""}', "x" * 5000):
        response = await browser.client.post("/api/session", data=body, headers=JSON)
        assert response.status in (400, 413), body[:20]


async def test_failed_sign_ins_are_throttled_per_name_and_per_address(browser: Browser) -> None:
    for _ in range(5):
        assert (await browser.sign_in("boris", "guess")).status == 401
    throttled = await browser.sign_in("boris")  # even the right password, for a while
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
    # The same address trying another name is throttled too.
    assert (await browser.sign_in("olga")).status == 429


async def test_a_bearer_token_says_who_it_is_and_needs_no_csrf_token(browser: Browser) -> None:
    olga = {"Authorization": f"Bearer {TOKENS['supervisor']}"}
    who = await browser.client.get("/api/session", headers=olga)
    assert await who.json() == {"name": "olga", "role": "supervisor", "agent": None, "csrf": None}
    signed_in = await browser.client.post("/api/agents/agent2/sign-in", headers=olga)
    assert signed_in.status == 200


async def test_behind_a_tls_proxy_the_cookie_is_secure(tmp_path: Path) -> None:
    made = desk_app(tmp_path, SessionPolicy(max_age=600, secure_always=True))
    async with TestClient(TestServer(made.app)) as client:
        response = await client.post("/api/session", json={"name": "olga", "password": PASSWORD})
        cookie = SimpleCookie(response.headers["Set-Cookie"])["ivr_session"]
        assert cookie["secure"] and cookie["max-age"] == "600"


def test_sessions_expire_and_are_bounded() -> None:
    now = [0.0]
    sessions = Sessions(max_age=60, clock=lambda: now[0])
    session_id, session = sessions.open(Principal("olga", "supervisor"))
    assert sessions.find(session_id) == session
    now[0] = 59.9
    assert sessions.find(session_id) == session
    now[0] = 60.0
    assert sessions.find(session_id) is None
    assert sessions.find("") is None and sessions.find("x" * 43) is None


def test_the_sign_in_guard_forgets_failures_after_its_window() -> None:
    now = [0.0]
    guard = SignInGuard(limit=3, window=900, clock=lambda: now[0])
    for moment in (0, 100, 200):
        now[0] = moment
        assert guard.wait(["name:boris"]) == 0
        guard.failed(["name:boris", "address:10.0.0.1"])
    assert guard.wait(["name:boris"]) == pytest.approx(700)
    assert guard.wait(["address:10.0.0.1"]) == pytest.approx(700)
    assert guard.wait(["name:olga"]) == 0
    now[0] = 900.5  # the first failure has left the window
    assert guard.wait(["name:boris"]) == 0
    guard.succeeded("name:boris")
    assert guard.wait(["name:boris"]) == 0


def _directory(*names: str) -> Directory:
    hashed = hash_password(PASSWORD)
    return Directory(Credential(Principal(name, "agent", name), "", hashed) for name in names)


def test_sessions_kept_in_the_store_survive_a_restart_and_sign_out_reaches_it(
    tmp_path: Path,
) -> None:
    now = [1_000_000.0]
    store = SqliteLive(tmp_path / "live.sqlite")
    before = Sessions(max_age=3600, clock=lambda: now[0], keep=store)
    kept_id, kept = before.open(Principal("agent1", "agent", "agent1"))
    closed_id, _ = before.open(Principal("agent2", "agent", "agent2"))
    before.close(closed_id)
    records = store.load(KIND)
    # The store holds the digest of the id, never the cookie's id itself.
    assert len(records) == 1 and kept_id not in json.dumps(records)
    store.close()

    store = SqliteLive(tmp_path / "live.sqlite")  # the next daemon
    after = Sessions(max_age=3600, clock=lambda: now[0], keep=store)
    assert after.restore(store.load(KIND), _directory("agent1", "agent2")) == []
    assert after.find(kept_id) == kept  # same principal, same CSRF token, same expiry
    assert after.find(closed_id) is None
    now[0] += 3600
    assert after.find(kept_id) is None and store.load(KIND) == {}  # expired: gone from both
    store.close()


def test_kept_sessions_of_principals_gone_expired_or_unreadable_are_refused() -> None:
    now = [1_000_000.0]
    store = MemoryLive()
    before = Sessions(max_age=3600, clock=lambda: now[0], keep=store)
    stays, _ = before.open(Principal("agent1", "agent", "agent1"))
    gone, _ = before.open(Principal("fired", "agent", "fired"))
    store.put(KIND, "zz", {"name": "agent1", "csrf": "x", "expires": now[0] + 60})
    store.put(KIND, "ab" * 32, {"name": "agent1", "csrf": 5, "expires": "soon"})
    store.put(KIND, "cd" * 32, {"name": "agent1", "csrf": "x", "expires": now[0] - 1})
    after = Sessions(max_age=3600, clock=lambda: now[0], keep=store)
    refused = after.restore(store.load(KIND), _directory("agent1"))
    assert len(refused) == 4 and len(after) == 1  # all but agent1's own
    assert after.find(stays) is not None and after.find(gone) is None
    assert len(store.load(KIND)) == 1  # the refused records are dropped from the store
