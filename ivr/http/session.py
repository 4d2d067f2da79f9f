"""Web sign-in: `POST /api/session` with a principal's name and password opens a session (an
`ivr_session` cookie: HttpOnly, SameSite=Strict, expiring, Secure over TLS) and gives its CSRF
token; `GET` says who is signed in; `DELETE` signs out.

Sessions are kept in the live store (the digest of the id, never the id), so a restart, a
deploy or a standby's takeover signs nobody out. Failed sign-ins are counted per name and per
address, in memory, and past the limit refused for a while (429).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ivr.calls.ports import LiveStore
from ivr.http.principals import PRINCIPAL, Directory, Principal
from ivr.http.site import refusal
from ivr.logs import event

log = logging.getLogger("ivr.http")

COOKIE = "ivr_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_SESSIONS = 10_000  # past it the oldest go: memory stays bounded whatever is tried
MAX_NAME = 64
MAX_PASSWORD = 1024
MAX_BODY = 4096
KIND = "web_session"  # the live store's kind for open sessions


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last, when the cookie is Secure, and failed sign-ins allowed."""

    max_age: float = 8 * 3600.0
    secure_always: bool = False  # behind a TLS proxy the daemon itself sees plain HTTP
    failed_sign_ins: int = 5
    window: float = 15 * 60.0


@dataclass(frozen=True)
class Session:
    """A signed-in web user: who, the CSRF token their page sends, and when it expires."""

    principal: Principal
    csrf: str
    expires: float

    def as_json(self) -> dict[str, str | None]:
        return {**self.principal.as_json(), "csrf": self.csrf}

    def csrf_matches(self, given: str) -> bool:
        """Whether `given` is this session's CSRF token (constant time)."""
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.csrf.encode())


# The web session a request came with (None for a bearer token).
SESSION = web.RequestKey("session", Session)


class Sessions:
    """Open sessions by the digest of their id (the id itself is the cookie's alone), kept in
    `keep` (the live store) as they open and close. Expiry is by the wall clock: it must mean
    the same to the next daemon."""

    def __init__(
        self,
        max_age: float,
        clock: Callable[[], float] = time.time,
        keep: LiveStore | None = None,
    ) -> None:
        self.max_age = max_age
        self.clock = clock
        self.keep = keep
        self._open: OrderedDict[bytes, Session] = OrderedDict()

    def open(self, principal: Principal) -> tuple[str, Session]:
        """A new session for `principal`: (its id for the cookie, the session)."""
        now = self.clock()
        for key in [k for k, s in self._open.items() if s.expires <= now]:
            self._forget(key)
        while len(self._open) >= MAX_SESSIONS:
            self._forget(next(iter(self._open)))
        session_id = secrets.token_urlsafe(32)
        session = Session(principal, secrets.token_urlsafe(32), now + self.max_age)
        key = _key(session_id)
        self._open[key] = session
        if self.keep is not None:
            record = {"name": principal.name, "csrf": session.csrf, "expires": session.expires}
            self.keep.put(KIND, key.hex(), record)
        return session_id, session

    def find(self, session_id: str) -> Session | None:
        """The open session of this id, None if unknown or expired."""
        key = _key(session_id)
        session = self._open.get(key)
        if session is None:
            return None
        if session.expires <= self.clock():
            self._forget(key)
            return None
        return session

    def close(self, session_id: str) -> None:
        """Sign out: the id is no good from now on."""
        self._forget(_key(session_id))

    def restore(self, records: Mapping[str, Any], directory: Directory) -> list[str]:
        """The sessions the store kept (a restart, a takeover), for principals the settings
        still give a password; the keys of records refused (unreadable, expired, or of a
        principal gone), which are dropped from the store."""
        now = self.clock()
        refused, kept = [], []
        for key_hex, record in records.items():
            session = _session_of(record, directory, now)
            key = _bytes(key_hex)
            if session is None or key is None:
                refused.append(key_hex)
                if self.keep is not None:
                    self.keep.drop(KIND, key_hex)
            else:
                kept.append((key, session))
        # Oldest first, as opened: past MAX_SESSIONS the first to expire go.
        for key, session in sorted(kept, key=lambda kept_one: kept_one[1].expires):
            self._open[key] = session
            self._open.move_to_end(key)
        while len(self._open) > MAX_SESSIONS:
            self._forget(next(iter(self._open)))
        return refused

    def _forget(self, key: bytes) -> None:
        if self._open.pop(key, None) is not None and self.keep is not None:
            self.keep.drop(KIND, key.hex())

    def __len__(self) -> int:
        return len(self._open)


def _session_of(record: Any, directory: Directory, now: float) -> Session | None:
    """A kept record as a session, if it still stands."""
    if not isinstance(record, dict):
        return None
    name, csrf, expires = record.get("name"), record.get("csrf"), record.get("expires")
    if not isinstance(name, str) or not isinstance(csrf, str) or not csrf:
        return None
    if not isinstance(expires, int | float) or expires <= now:
        return None
    principal = directory.by_name(name)
    return Session(principal, csrf, float(expires)) if principal is not None else None


def _bytes(key_hex: str) -> bytes | None:
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        return None
    return key if len(key) == hashlib.sha256().digest_size else None


class SignInGuard:
    """Failed sign-ins per key (a name, an address) in a sliding window; bounded memory."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until these keys may try again; 0 when they may now."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            recent = [t for t in self._failures.get(key, ()) if t > now - self.window]
            if len(recent) >= self.limit:
                longest = max(longest, recent[-self.limit] + self.window - now)
        return longest

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            recent = [t for t in self._failures.pop(key, ()) if t > now - self.window]
            self._failures[key] = [*recent, now][-self.limit :]
        while len(self._failures) > MAX_SESSIONS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


def add_session_routes(
    app: web.Application, directory: Directory, sessions: Sessions, policy: SessionPolicy
) -> None:
    """POST, GET and DELETE /api/session."""
    guard = SignInGuard(policy.failed_sign_ins, policy.window)

    async def sign_in(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            # A cross-site form cannot send JSON: no signing a browser in as someone else.
            return refusal(415, "unsupported", "send the sign-in as application/json")
        given = await _credentials(request)
        if isinstance(given, web.Response):
            return given
        name, password = given
        address = request.remote or ""
        keys = (f"name:{name}", f"address:{address}")
        wait = guard.wait(keys)
        if wait > 0:
            event(log, "session.throttled", name=name, address=address)
            seconds = max(1, round(wait))
            message = f"too many failed sign-ins; try again in {seconds} s"
            return refusal(429, "too-many", message, {"Retry-After": str(seconds)})
        principal = await asyncio.to_thread(directory.by_password, name, password)
        if principal is None:
            guard.failed(keys)
            event(log, "session.refused", name=name, address=address)
            return refusal(401, "sign-in-failed", "wrong name or password")
        guard.succeeded(keys[0])
        session_id, session = sessions.open(principal)
        event(log, "session.opened", principal=principal.name, role=principal.role,
              address=address)  # fmt: skip
        response = web.json_response(session.as_json())
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(policy.max_age),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=policy.secure_always or request.secure,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def who(request: web.Request) -> web.Response:
        session: Session | None = request.get(SESSION)
        principal: Principal | None = request.get(PRINCIPAL)
        if session is not None:
            return web.json_response(session.as_json(), headers={"Cache-Control": "no-store"})
        if principal is not None:  # a bearer token: no CSRF token is needed
            return web.json_response({**principal.as_json(), "csrf": None})
        return refusal(401, "not-signed-in", "not signed in: POST /api/session")

    async def sign_out(request: web.Request) -> web.Response:
        session: Session | None = request.get(SESSION)
        if session is not None:
            if not session.csrf_matches(request.headers.get(CSRF_HEADER, "")):
                return refusal(403, "csrf", f"send the {CSRF_HEADER} header of this session")
            sessions.close(request.cookies.get(COOKIE, ""))
            event(log, "session.closed", principal=session.principal.name)
        response = web.json_response({"signed_in": False})
        response.del_cookie(COOKIE, path="/")
        return response

    app.router.add_post("/api/session", sign_in)
    app.router.add_get("/api/session", who)
    app.router.add_delete("/api/session", sign_out)


async def _credentials(request: web.Request) -> tuple[str, str] | web.Response:
    """(name, password) from the JSON body, or the 4xx saying what to send."""
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return refusal(413, "too-large", f"the body may have at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    name = body.get("name") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(password, str):
        return refusal(400, "invalid-request", 'send {"name": ..., "password": ...} as JSON')
    if not name or len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
        return refusal(400, "invalid-request", "the name or password is empty or too long")
    return name, password


def _key(session_id: str) -> bytes:
    # Looked up by digest: a dict's lookup time says nothing about the ids it holds.
    return hashlib.sha256(session_id.encode("utf-8", "replace")).digest()
