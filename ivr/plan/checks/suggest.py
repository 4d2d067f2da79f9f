"""The fix for a name that is not there: the closest known name, else the known ones."""

from __future__ import annotations

import difflib


def did_you_mean(target: str, names: list[str], known: str) -> str:
    """ "did you mean 'X'?" for a close name, else "`known`: a, b, c" (or none)."""
    close = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{known}: " + (", ".join(sorted(names)) or "none")
