"""The waiting callers in serving order, filed by skill and by queue.

Serving order is the caller's key: higher priority first, then earlier enqueue time, then
arrival sequence. A caller is filed under one skill they require (the rarest, chosen by the
router), or under "" when they require none: an agent who lacks that skill cannot serve them,
so an agent looking for work only reads the lists of the skills they have.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable

from ivr.routing.queues import HeldCall, Key

NO_SKILL = ""


class WaitList:
    def __init__(self) -> None:
        self._callers: dict[Key, HeldCall] = {}
        self._by_skill: dict[str, list[Key]] = {}
        self._by_queue: dict[str, list[Key]] = {}

    def __len__(self) -> int:
        return len(self._callers)

    def add(self, caller: HeldCall, index_skill: str) -> None:
        caller.index_skill = index_skill
        self._callers[caller.key] = caller
        insort(self._by_skill.setdefault(index_skill, []), caller.key)
        insort(self._by_queue.setdefault(caller.queue, []), caller.key)

    def remove(self, caller: HeldCall) -> None:
        del self._callers[caller.key]
        _discard(self._by_skill[caller.index_skill], caller.key)
        _discard(self._by_queue[caller.queue], caller.key)

    def refile(self, caller: HeldCall, index_skill: str) -> None:
        """File a caller under another skill (after their requirement widened); place kept."""
        if index_skill != caller.index_skill:
            _discard(self._by_skill[caller.index_skill], caller.key)
            insort(self._by_skill.setdefault(index_skill, []), caller.key)
            caller.index_skill = index_skill

    def position(self, caller: HeldCall) -> int:
        """1-based place among the waiting callers of the caller's queue."""
        return bisect_left(self._by_queue[caller.queue], caller.key) + 1

    def queue_keys(self, queue: str) -> list[Key]:
        return self._by_queue.get(queue, [])

    def first_for(
        self, skills: Iterable[str], accepts: Callable[[HeldCall], bool], after: Key | None = None
    ) -> HeldCall | None:
        """The first caller (after `after`) filed under one of `skills` or "" that `accepts`."""
        best: HeldCall | None = None
        for skill in (*skills, NO_SKILL):
            keys = self._by_skill.get(skill)
            if not keys:
                continue
            start = 0 if after is None else bisect_right(keys, after)
            for index in range(start, len(keys)):
                key = keys[index]
                if best is not None and key >= best.key:
                    break
                caller = self._callers[key]
                if accepts(caller):
                    best = caller
                    break
        return best


def _discard(keys: list[Key], key: Key) -> None:
    index = bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
