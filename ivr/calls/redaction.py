"""What the world may see of a call's variables: secrets (a PIN, a card) masked or left out.

The call keeps every value for its own lookups and `when` cases; anything that leaves the
call (journal notes, hence the log, the store, screen pops, webhooks and the API; live-state
records) is built from these views, so no sink ever holds a secret to leak.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

MASK = "***"
"""What a secret shows as: the same for every value, so not even its length leaks."""


def shown(variables: Mapping[str, str], secret: Collection[str]) -> dict[str, str]:
    """The variables as notes and screen pops show them: each secret one as `***`."""
    return {name: MASK if name in secret else value for name, value in variables.items()}


def kept(variables: Mapping[str, str], secret: Collection[str]) -> dict[str, str]:
    """The variables a stored record may hold: secrets left out (a restart forgets them)."""
    return {name: value for name, value in variables.items() if name not in secret}
