"""Fuzzing the API's bodies, paths and headers: random requests to every /api/ route of the
daemon's app (a staffed world, agent1 on a call) with tokens, session cookies and CSRF tokens
right, wrong or missing, and bodies mutated from the ones each route takes.

A case passes when the daemon answers below 500, the guard refuses exactly whom the access
table refuses (401 without credentials, 403 for the wrong role or a cookie request without
its CSRF token), and no token, password or session id shows in an answer or the log.

    .venv/bin/python -m tests.fuzz.api --cases 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from yarl import URL

from ivr.http.access import rule_for
from ivr.http.principals import Principal
from ivr.http.session import SAFE_METHODS, SessionPolicy
from tests.unit.http.principals_app import PASSWORD, TOKENS, Desk1, desk_app, directory

CONTENT_TYPES = ["application/json", "application/json", "text/plain", "",
                 "application/x-www-form-urlencoded",
                 "application/json; charset=latin-1"]  # fmt: skip
SKIPPED = {"/api/events"}  # a stream that never ends; its rule is the table test's
BODIES: list[Any] = [
    {"reason": "lunch"},
    {"number": "+79001234567", "queue": "returns", "topic": "order 42"},
    {"message": "emergency", "plans": ["shop"], "reason": "flood", "by": "ops"},
    {"mode": "warm", "to": {"agent": "agent2"}},
    {"mode": "blind", "to": {"queue": "returns"}},
    {"disposition": "resolved"},
    {"note": "wants a refund"},
    {"phone": "PJSIP/supervisor1"},
    {"queue": "returns"},
    {"name": "olga", "password": PASSWORD},
    {"number": "8 900 123-45-67"},
]
ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**63, 1e308, "", " ", "x" * 5000, "агент", "\x00\x1b[2J", "..",
    "../../etc/passwd", "${IVR_OPS_TOKEN}", [], {}, [[[]]], {"$ne": 1}, "PJSIP/agent1&Local/x",
]  # fmt: skip
ODD_PATH_PARTS = ["..", "%2e%2e", "%2F", "agent1%00", "x" * 300, "%D0%B0", "%", ";", "*", "a%20b"]


@dataclass
class Case:
    """One request and what the guard must make of it."""

    index: int
    method: str
    pattern: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    problem: str = ""


@dataclass
class ApiSummary:
    """Counts of a run and the cases that broke a rule."""

    cases: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    broken: list[Case] = field(default_factory=list)
    seconds: float = 0.0


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__.get('fields', '')}")


async def fuzz_api(cases: int, seed: int = 0) -> ApiSummary:
    """`cases` random requests against a fresh app; the summary."""
    with tempfile.TemporaryDirectory() as folder:
        # Failed sign-ins are not throttled here: the run signs its sessions in again.
        made = desk_app(Path(folder), SessionPolicy(failed_sign_ins=1000))
        server = TestServer(made.app)
        await server.start_server()
        collect = _Collect()
        logging.getLogger("ivr").addHandler(collect)
        jar = aiohttp.DummyCookieJar()  # every cookie is the case's own
        try:
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                return await _run(http, server, made, cases, seed, collect)
        finally:
            logging.getLogger("ivr").removeHandler(collect)
            await server.close()


async def _run(http: aiohttp.ClientSession, server: TestServer, made: Desk1, cases: int,
               seed: int, collect: _Collect) -> ApiSummary:  # fmt: skip
    base = str(server.make_url("")).rstrip("/")
    sessions = {name: await _sign_in(http, base, name) for name in ("anna", "olga", "website")}
    secrets = [*TOKENS.values(), PASSWORD, *(sid for sid, _ in sessions.values())]
    routes = sorted(
        (r.method, r.resource.canonical)
        for r in made.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/")
        and r.method != "HEAD" and r.resource.canonical not in SKIPPED
    )  # fmt: skip
    people = {c.principal.name: c.principal for c in directory().credentials}
    by_token = {c.token: c.principal for c in directory().credentials if c.token}
    summary = ApiSummary()
    start = time.perf_counter()
    for index in range(cases):
        rng = random.Random(seed * 1_000_003 + index)
        method, pattern = rng.choice(routes)
        case = Case(index, method, pattern, _path(rng, pattern, made.call_id), {}, b"")
        principal, session_csrf = _credentials(rng, case, sessions, people)
        case.body = _body(rng)
        case.headers.setdefault("Content-Type", rng.choice(CONTENT_TYPES))
        header = case.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            principal = by_token.get(token.strip()) if scheme.lower() == "bearer" else None
            session_csrf = None
            bad_header = principal is None
        else:
            bad_header = False
        await _send(http, base, case)
        summary.cases += 1
        summary.by_status[case.status] = summary.by_status.get(case.status, 0) + 1
        _judge(case, principal, session_csrf, bad_header, made, secrets)
        if case.problem:
            summary.broken.append(case)
        if (method, pattern) == ("DELETE", "/api/session"):
            # A case signed a session out: sign everyone in again, as new sessions.
            sessions.update({n: await _sign_in(http, base, n) for n in sessions})
            secrets.extend(sid for sid, _ in sessions.values())
    leaked = [line for line in collect.lines if any(s in line for s in secrets)]
    if leaked:
        case = Case(-1, "", "", "", {}, b"", problem=f"a secret in the log: {leaked[0][:200]}")
        summary.broken.append(case)
    summary.seconds = time.perf_counter() - start
    return summary


async def _sign_in(http: aiohttp.ClientSession, base: str, name: str) -> tuple[str, str]:
    answer = await http.post(f"{base}/api/session", json={"name": name, "password": PASSWORD})
    assert answer.status == 200, await answer.text()
    cookie = SimpleCookie(answer.headers["Set-Cookie"])["ivr_session"].value
    return cookie, str((await answer.json())["csrf"])


def _path(rng: random.Random, pattern: str, call_id: str) -> str:
    usual = {"agent": ["agent1", "agent2", "agent9"], "call": [call_id, "sim-999"],
             "action": ["pause", "resume", "sign-in", "sign-out", "nope"],
             "step": ["complete", "cancel", "conference", "nope"], "reference": ["x" * 24],
             "call_id": ["c1", "1700000000.42"], "session": ["s1"]}  # fmt: skip
    path = pattern
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end].split(":")[0]
        if rng.random() < 0.8:
            value = urllib.parse.quote(rng.choice(usual.get(name, ["x"])), safe="")
        else:
            value = rng.choice(ODD_PATH_PARTS)
        path = path[:start] + value + path[end + 1 :]
    return path


def _credentials(
    rng: random.Random, case: Case, sessions: dict[str, tuple[str, str]],
    people: dict[str, Principal],
) -> tuple[Principal | None, str | None]:  # fmt: skip
    """Sets the case's credentials; (the principal of its cookie, that session's CSRF)."""
    kind = rng.choice(["none", "token", "token", "mangled", "session", "session", "cookie-junk"])
    if kind == "token":
        case.headers["Authorization"] = rng.choice(
            ["Bearer {}", "bearer {}", "Bearer  {}", "Bearer {} "]
        ).format(rng.choice(list(TOKENS.values())))
    elif kind == "mangled":
        token = rng.choice(list(TOKENS.values()))
        case.headers["Authorization"] = rng.choice(
            [f"Bearer {token[:-1]}", f"Bearer {token}x", f"Basic {token}", token, "Bearer",
             "Bearer ", f"Bearer {token.upper()}", "Bearer " + "A" * 5000]
        )  # fmt: skip
    if kind in ("session", "cookie-junk") or rng.random() < 0.1:
        name = rng.choice(list(sessions))
        sid, csrf = sessions[name]
        if kind == "cookie-junk":
            sid = rng.choice([sid[:-1], sid + "A", "", "x" * 43, sid.upper()])
        case.headers["Cookie"] = f"ivr_session={sid}"
        pick = rng.random()
        if pick < 0.5:
            case.headers["X-CSRF-Token"] = csrf
        elif pick < 0.75:
            case.headers["X-CSRF-Token"] = rng.choice([csrf[:-1], "", csrf + "x", sessions[
                rng.choice(list(sessions))][1]])  # fmt: skip
        if kind == "cookie-junk":
            return None, None
        return people[name], csrf
    return None, None


def _body(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.08:
        return b""
    if pick < 0.14:
        return rng.choice([b"{", b"[" * 5000, b"\xff\xfe", b"null", b"1e999999", b"NaN",
                           b'{"a":' * 2000, b"x" * 70_000])  # fmt: skip
    body = json.loads(json.dumps(rng.choice(BODIES)))
    for _ in range(rng.randint(0, 3)):
        keys = list(body)
        what = rng.random()
        if what < 0.5 and keys:
            body[rng.choice(keys)] = rng.choice(ODD_VALUES)
        elif what < 0.7 and keys:
            del body[rng.choice(keys)]
        else:
            body[rng.choice(["extra", "queue", "number", "to", "plans", "agent"])] = rng.choice(
                ODD_VALUES
            )
    return json.dumps(body, allow_nan=True).encode()


async def _send(http: aiohttp.ClientSession, base: str, case: Case) -> None:
    url = URL(base + case.path, encoded=True)
    try:
        async with http.request(case.method, url, data=case.body, headers=case.headers,
                                timeout=aiohttp.ClientTimeout(total=10)) as answer:  # fmt: skip
            case.status = answer.status
            text = await answer.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        case.status, case.problem = -1, f"no answer: {exc!r}"[:300]
        return
    case.headers["_answer"] = text[:2000].decode("utf-8", "replace")


def _judge(case: Case, principal: Principal | None, csrf: str | None, bad_header: bool,
           made: Desk1, secrets: list[str]) -> None:  # fmt: skip
    if case.problem:
        return
    answer = case.headers.pop("_answer", "")
    if case.status >= 500 and case.status != 503:
        case.problem = f"server error {case.status}: {answer[:200]}"
        return
    for secret in secrets:
        if secret in answer:
            case.problem = "a secret in the answer"
            return
    if not case.path.startswith("/api/") or any(p in case.path for p in ODD_PATH_PARTS[:4]):
        return  # a traversal may land on another route or none: only the rules above hold
    rule = rule_for(case.method, case.pattern)
    if rule is None or rule.public:
        return
    code = _error(answer)
    refused = case.status in (401, 403) and code in ("unauthorized", "forbidden", "csrf")
    if bad_header or principal is None:
        if not (case.status == 401 and code == "unauthorized"):
            case.problem = f"no valid credentials but {case.status} {answer[:120]}"
        return
    if csrf is not None and case.method not in SAFE_METHODS and \
            case.headers.get("X-CSRF-Token") != csrf:  # fmt: skip
        if not (case.status == 403 and code == "csrf"):
            case.problem = f"a cookie request without its CSRF token got {case.status}"
        return
    match = _match(case)
    router = made.world.switchboard.desk.router

    def on_call(agent: str, call: str) -> bool:
        return agent in {"agent1", "agent2"} and call in router.agent(agent).calls

    allowed = rule.allows(principal, match, on_call)
    if allowed == refused:
        case.problem = (f"{principal.name} ({principal.role}) {'refused' if refused else 'let in'}"
                        f": {case.status} {answer[:120]}")  # fmt: skip


def _match(case: Case) -> dict[str, str]:
    names = case.pattern.strip("/").split("/")
    parts = case.path.strip("/").split("/")
    return {n[1:-1]: urllib.parse.unquote(p) for n, p in zip(names, parts, strict=False)
            if n.startswith("{")}  # fmt: skip


def _error(answer: str) -> str:
    try:
        data = json.loads(answer)
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    summary = asyncio.run(fuzz_api(args.cases, args.seed))
    print(f"{summary.cases} cases in {summary.seconds:.1f} s; statuses {summary.by_status}")
    for case in summary.broken[:20]:
        print(f"case {case.index}: {case.method} {case.path[:80]} -> {case.problem}")
    return 1 if summary.broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
