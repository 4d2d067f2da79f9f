"""The API's door: who is asking (a bearer token or a session cookie) and whether the access
table lets them use the route matched; sets `request[PRINCIPAL]` for the handlers.

Decided by the route matched, never by the path's text: no spelling of a path reaches a
route under another route's rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from ivr.http.access import OnCall, rule_for
from ivr.http.principals import PRINCIPAL, Directory, Principal
from ivr.http.session import COOKIE, CSRF_HEADER, SAFE_METHODS, SESSION, Session, Sessions
from ivr.logs import event

log = logging.getLogger("ivr.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SIGN_IN = "sign in: send Authorization: Bearer <token>, or POST /api/session from the web page"


def auth_middleware(directory: Directory, sessions: Sessions, on_call: OnCall) -> Middleware:
    """The aiohttp middleware guarding every /api/ route with the access table."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        pattern = resource.canonical if resource is not None else None
        if pattern is None or not pattern.startswith("/api/"):
            if request.path.startswith("/api/") and _identify(request, directory, sessions) \
                    is None:  # fmt: skip
                # No route matched: say nothing of what exists to someone unknown.
                raise _unauthorized()
            return await handler(request)
        rule = rule_for(request.method, pattern)
        found = _identify(request, directory, sessions)
        principal, session = found if found is not None else (None, None)
        if principal is not None:
            request[PRINCIPAL] = principal
            if session is not None:
                request[SESSION] = session
        if rule is not None and rule.public:
            return await handler(request)
        if principal is None:
            raise _unauthorized()
        if rule is None:
            # Default deny: a route added without a rule in ivr/http/access.py.
            raise _forbidden(request, principal, f"{request.method} {pattern} has no access "
                             "rule (ivr/http/access.py): nobody may use it")  # fmt: skip
        if session is not None and request.method not in SAFE_METHODS and \
                not session.csrf_matches(request.headers.get(CSRF_HEADER, "")):  # fmt: skip
            raise _forbidden(request, principal, f"send the {CSRF_HEADER} header that "
                             "POST /api/session gave this page", code="csrf")  # fmt: skip
        if not rule.allows(principal, request.match_info, on_call):
            raise _forbidden(request, principal, rule.needs(request.match_info))
        return await handler(request)

    return middleware


def _identify(
    request: web.Request, directory: Directory, sessions: Sessions
) -> tuple[Principal, Session | None] | None:
    """Who sent the request: a bearer token wins over the cookie; a wrong token is a 401."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        principal = directory.by_token(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise _unauthorized("the bearer token is not valid")
        return principal, None
    session_id = request.cookies.get(COOKIE)
    session = sessions.find(session_id) if session_id else None
    return (session.principal, session) if session is not None else None


def _unauthorized(message: str = SIGN_IN) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=_json("unauthorized", message),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="ivr"'},
    )


def _forbidden(
    request: web.Request, principal: Principal, message: str, code: str = "forbidden"
) -> web.HTTPForbidden:
    resource = request.match_info.route.resource
    route = f"{request.method} {resource.canonical if resource is not None else request.path}"
    event(log, "api.refused", principal=principal.name, role=principal.role, route=route,
          why=code)  # fmt: skip
    return web.HTTPForbidden(text=_json(code, message), content_type="application/json")


def _json(code: str, message: str) -> str:
    return json.dumps({"error": code, "message": message})
