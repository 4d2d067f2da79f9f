"""Caller ID as the network sends it is hostile text: made safe once, where it enters."""

from __future__ import annotations

import re
import unicodedata

from ivr.calls.events import Caller

NAME_LIMIT = 64
NUMBER_LIMIT = 32
_NUMBER_KEEP = re.compile(r"[^0-9+*#]")
_SPACES = re.compile(r"\s+")


def safe_caller(number: object, name: object) -> Caller:
    """A Caller with only dialable characters in the number and printable text in the name."""
    return Caller(safe_number(number), safe_name(name))


def safe_number(value: object) -> str:
    """Digits, '+', '*' and '#' only, at most 32 of them."""
    return _NUMBER_KEEP.sub("", str(value or ""))[:NUMBER_LIMIT]


def safe_name(value: object) -> str:
    """Printable characters only (no CR, LF or other controls), spaces folded, 64 at most."""
    text = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch
        for ch in str(value or "")[: NAME_LIMIT * 4]
    )
    return _SPACES.sub(" ", text).strip()[:NAME_LIMIT]
