"""Who is asking: named principals with a role, found by bearer token or by name and password.

Tokens are compared in constant time against every principal's (no early exit, equal-length
digests), passwords are kept as salted scrypt hashes (`ivr/passwords.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from ivr.config import Settings
from ivr.passwords import hash_password, is_password_hash, verify_password

AGENT = "agent"
SUPERVISOR = "supervisor"
WEBSITE = "website"
OPS = "ops"
ROLES = (AGENT, SUPERVISOR, WEBSITE, OPS)
# `api.tokens` and IVR_API_TOKEN of before issue 16: every /api/ route but the supervisors'.
LEGACY = "legacy"


@dataclass(frozen=True)
class Principal:
    """Someone the API knows: a name, a role, and for role `agent` the agent id they are."""

    name: str
    role: str
    agent: str | None = None

    def as_json(self) -> dict[str, str | None]:
        """What the API says of the principal (never a secret)."""
        return {"name": self.name, "role": self.role, "agent": self.agent}


# Where the API's door leaves who is asking, for the handlers.
PRINCIPAL = web.RequestKey("principal", Principal)


@dataclass(frozen=True)
class Credential:
    """A principal and how it proves itself: a bearer token, a password hash, or both."""

    principal: Principal
    token: str = ""
    password_hash: str = ""


class Directory:
    """Every principal the daemon knows, looked up by token or by name and password."""

    def __init__(self, credentials: Iterable[Credential]) -> None:
        self.credentials = tuple(credentials)
        self._tokens = [(_digest(c.token), c.principal) for c in self.credentials if c.token]
        self._passwords = {
            c.principal.name: (c.password_hash, c.principal)
            for c in self.credentials
            if c.password_hash
        }
        # Unknown names are checked against this, so the time taken does not say which
        # names exist.
        self._decoy = hash_password(secrets.token_urlsafe(16))

    @classmethod
    def legacy(cls, tokens: Sequence[str], supervisors: Mapping[str, str]) -> Directory:
        """Principals of the settings before issue 16: API tokens, recordings' supervisors."""
        return cls(_legacy_credentials(tokens, "", supervisors))

    def by_token(self, token: str) -> Principal | None:
        """The principal holding this bearer token, or None."""
        given = _digest(token)
        found: Principal | None = None
        # Every token is compared, the match or not: the time says nothing about which.
        for expected, principal in self._tokens:
            if hmac.compare_digest(given, expected) and found is None:
                found = principal
        return found if token else None

    def by_name(self, name: str) -> Principal | None:
        """The principal of this name who signs in with a password (a web session's), or
        None when the settings no longer have one."""
        entry = self._passwords.get(name)
        return entry[1] if entry is not None else None

    def by_password(self, name: str, password: str) -> Principal | None:
        """The principal of this name if the password is theirs (blocking: scrypt)."""
        hashed, principal = self._passwords.get(name, (self._decoy, None))
        matched = verify_password(password, hashed)
        return principal if matched and principal is not None else None


def directory_from(settings: Settings) -> tuple[Directory, list[str]]:
    """The principals of the settings, and a warning for each older way still in use.

    `api.tokens`, IVR_API_TOKEN and `recordings.supervisors` keep working with the rights
    they had: a legacy token every /api/ route but the supervisors', a supervisor's token
    the supervisor's role.
    """
    credentials = []
    for entry in settings.principals:
        principal = Principal(entry.name, entry.role, entry.agent)
        token = entry.token.get_secret_value() if entry.token is not None else ""
        password = entry.password.get_secret_value() if entry.password is not None else ""
        if password and not is_password_hash(password):
            password = hash_password(password)  # given in plain text through the environment
        credentials.append(Credential(principal, token, password))
    tokens = [t.get_secret_value() for t in settings.api.tokens]
    env_token = tokens.pop() if settings.api.env_token and tokens else ""
    supervisors = {n: t.get_secret_value() for n, t in settings.recordings.supervisors.items()}
    credentials.extend(_legacy_credentials(tokens, env_token, supervisors))
    warnings = []
    if tokens:
        warnings.append(
            "api.tokens is deprecated: each token still has today's rights (every /api/ route "
            "but the supervisors'); give each holder a principal of its own instead "
            "(principals: in ivr.yaml, role website, agent or ops) and empty api.tokens"
        )
    if env_token:
        warnings.append(
            "IVR_API_TOKEN is deprecated: it still has today's rights (every /api/ route but "
            "the supervisors'); give its holder a principal instead (principals: in ivr.yaml, "
            "e.g. {name: ops, role: ops, token_env: IVR_OPS_TOKEN}) and unset IVR_API_TOKEN"
        )
    if supervisors:
        warnings.append(
            "recordings.supervisors (and IVR_SUPERVISORS) is deprecated: each is now a "
            "principal with role supervisor; move them to principals: in ivr.yaml, e.g. "
            "{name: alice, role: supervisor, token_env: IVR_ALICE_TOKEN}"
        )
    return Directory(credentials), warnings


def _legacy_credentials(
    tokens: Sequence[str], env_token: str, supervisors: Mapping[str, str]
) -> list[Credential]:
    found = [
        Credential(Principal(f"api.tokens[{i}]", LEGACY), token)
        for i, token in enumerate(tokens)
        if token
    ]
    if env_token:
        found.append(Credential(Principal("IVR_API_TOKEN", LEGACY), env_token))
    found.extend(
        Credential(Principal(name, SUPERVISOR), token) for name, token in supervisors.items()
    )
    return found


def _digest(token: str) -> bytes:
    # Equal-length digests: compare_digest's time says nothing of the tokens' lengths either.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
