"""The fix for a name that is not there: the closest known name, else the known ones."""

from __future__ import annotations

import difflib
from collections.abc import Collection

# Names listed in a fix at most; a plan with thousands of nodes must not print them all in
# every message.
SHOWN = 20
# Close names looked for per check at most: each look compares with every known name, so a
# plan with thousands of wrong names would cost their square. The rest get the list.
LOOKS = 100


def did_you_mean(target: str, names: Collection[str], known: str) -> str:
    """ "did you mean 'X'?" for a close name, else "`known`: a, b, c" (or none)."""
    return Suggester(names, known)(target)


class Suggester:
    """`did_you_mean` over one set of names, for one check: a bounded number of looks."""

    def __init__(self, names: Collection[str], known: str, looks: int = LOOKS) -> None:
        self.names = names
        self.known = known
        self.looks = looks
        self._listing: str | None = None
        self._found: dict[str, str | None] = {}

    def __call__(self, target: str) -> str:
        close = self.close(target)
        return f"did you mean '{close}'?" if close else self.listing()

    def close(self, target: str) -> str | None:
        """The closest known name, if one is close (None once the looks are spent)."""
        if target in self._found:
            return self._found[target]
        if self.looks <= 0:
            return None
        self.looks -= 1
        found = difflib.get_close_matches(target, list(self.names), n=1, cutoff=0.6)
        self._found[target] = found[0] if found else None
        return self._found[target]

    def listing(self) -> str:
        """ "`known`: a, b, c", at most SHOWN of them."""
        if self._listing is None:
            names = sorted(self.names)
            shown = ", ".join(names[:SHOWN]) or "none"
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            self._listing = f"{self.known}: {shown}{more}"
        return self._listing
