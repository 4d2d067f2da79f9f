"""Who may use each /api/ route: one table, keyed by the route matched (method and pattern).

A route without a rule here is refused for everyone (default deny). An agent principal acts
only on their own agent id (`{agent}` in the route) and on calls they are on (`{call}`);
`legacy` tokens (api.tokens, IVR_API_TOKEN) keep their rights of before: every route but the
supervisor-only ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivr.http.principals import AGENT, LEGACY, OPS, SUPERVISOR, WEBSITE, Principal

# The roles are re-exported: a rule and its roles read from one place.
__all__ = ["ACCESS", "AGENT", "LEGACY", "OPS", "PUBLIC", "SUPERVISOR", "WEBSITE", "OnCall",
           "Rule", "allow", "rule_for"]  # fmt: skip

# Whether agent `agent` is on call `call` now (ringing or talking).
OnCall = Callable[[str, str], bool]


@dataclass(frozen=True)
class Rule:
    """Who may use one route."""

    roles: frozenset[str] = frozenset()
    own_agent: bool = False  # an agent principal, on the route's own `{agent}`
    own_call: bool = False  # an agent principal on the route's `{call}`
    legacy: bool = False  # api.tokens and IVR_API_TOKEN
    public: bool = False  # anyone, signed in or not (signing in itself)

    def allows(self, principal: Principal, match: Mapping[str, str], on_call: OnCall) -> bool:
        """Whether `principal` may use the route with these path parameters."""
        if self.public or principal.role in self.roles:
            return True
        if principal.role == LEGACY:
            return self.legacy
        if principal.role != AGENT or principal.agent is None:
            return False
        if self.own_agent and match.get("agent") == principal.agent:
            return True
        call = match.get("call")
        return self.own_call and call is not None and on_call(principal.agent, call)

    def needs(self, match: Mapping[str, str]) -> str:
        """Who may, in words: `needs supervisor, or the agent agent2 themself`."""
        who = [role for role in (SUPERVISOR, OPS, WEBSITE, AGENT) if role in self.roles]
        if self.own_agent:
            who.append(f"the agent {match.get('agent', '')[:64]} themself")
        if self.own_call:
            who.append("the agent on this call")
        if not who:
            return "nobody may use this route"
        return "needs " + ", or ".join(who)


def allow(*roles: str, own_agent: bool = False, own_call: bool = False,
          legacy: bool | None = None) -> Rule:  # fmt: skip
    """A rule; legacy tokens may use it unless only supervisors may (today's rights)."""
    if legacy is None:
        legacy = own_agent or own_call or bool(set(roles) - {SUPERVISOR})
    return Rule(frozenset(roles), own_agent, own_call, legacy)


PUBLIC = Rule(public=True)

# "METHOD /pattern" -> the rule. HEAD is looked up as GET.
ACCESS: dict[str, Rule] = {
    # Web sign-in (ivr/http/session.py): open, it is how one gets a principal.
    "POST /api/session": PUBLIC,
    "GET /api/session": PUBLIC,
    "DELETE /api/session": PUBLIC,
    # The desk (ivr/http/agents.py): everyone at work may look; agents change only themselves.
    "GET /api/agents": allow(SUPERVISOR, OPS, AGENT),
    "GET /api/queues": allow(SUPERVISOR, OPS, AGENT),
    "GET /api/agents/{agent}/screen-pop": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/{action}": allow(SUPERVISOR, own_agent=True),
    # A call's recording paused while card data is read (ivr/http/calls.py).
    "POST /api/calls/{call}/recording/{action}": allow(SUPERVISOR, own_call=True),
    # Callbacks (ivr/http/callbacks.py): the website books and reads its own booking back by
    # its reference; the lists of every customer's number are supervisors', who do not book.
    "POST /api/callbacks": allow(WEBSITE),
    "GET /api/callbacks/{reference}": allow(WEBSITE),
    "GET /api/callbacks": allow(SUPERVISOR),
    "GET /api/voicemails": allow(SUPERVISOR),
    # Ops (ivr/http/line.py, erase.py).
    "GET /api/line": allow(OPS, SUPERVISOR),
    "POST /api/line/close": allow(OPS, SUPERVISOR),
    "POST /api/line/open": allow(OPS, SUPERVISOR),
    "POST /api/erase": allow(OPS),
    # Quality control (ivr/http/recordings.py): customers' voices, supervisors only.
    "GET /api/recordings": allow(SUPERVISOR),
    "GET /api/recordings/{call_id}": allow(SUPERVISOR),
    "GET /api/recordings/{call_id}/meta": allow(SUPERVISOR),
    # An agent's transfers, note and wrap-up (ivr/http/transfers.py): their own only.
    "POST /api/agents/{agent}/transfer": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/transfer/{step}": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/leave": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/note": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/disposition": allow(SUPERVISOR, own_agent=True),
    # Supervision (ivr/http/supervision.py): the wallboard's calls (numbers masked) are
    # read-only desk figures; listening, whispering, barging and moving callers are
    # supervisors' alone.
    "GET /api/calls": allow(SUPERVISOR, OPS),
    "POST /api/calls/{call}/listen": allow(SUPERVISOR),
    "POST /api/calls/{call}/whisper": allow(SUPERVISOR),
    "POST /api/calls/{call}/barge": allow(SUPERVISOR),
    "DELETE /api/calls/{call}/supervision/{session}": allow(SUPERVISOR),
    "POST /api/calls/{call}/move": allow(SUPERVISOR),
    # The desk's live view (ivr/http/events.py): the handler narrows an agent to their own.
    "GET /api/events": allow(SUPERVISOR, OPS, AGENT),
}


def rule_for(method: str, pattern: str) -> Rule | None:
    """The rule of a route, None when it has none (refused for everyone)."""
    return ACCESS.get(f"{'GET' if method == 'HEAD' else method} {pattern}")
