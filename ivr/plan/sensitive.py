"""Which call variables hold secrets: a collect says so with `sensitive:`, or its name does.

A variable is judged by its words (split at `_` and digits, case-insensitive): `pin`,
`card_number` and `cvv2` look secret, `spin` and `order` do not. The list errs on the safe
side (`code` too: SMS and verification codes); `sensitive: false` on a collect overrides it.
"""

from __future__ import annotations

import re

SECRET_WORDS = frozenset(
    {
        "pin", "pincode", "passcode", "password", "passwd", "pass", "secret", "code", "otp",
        "token", "cvv", "cvc", "cvn", "card", "pan", "iban", "account", "acct", "ssn",
        "passport",
    }
)  # fmt: skip
"""Words that make a variable sensitive by default (the docs list them)."""

_WORDS = re.compile(r"[a-z]+")


def looks_secret(name: str) -> bool:
    """Whether a variable called `name` holds a secret unless the plan says otherwise."""
    return any(word in SECRET_WORDS for word in _WORDS.findall(name.lower()))
