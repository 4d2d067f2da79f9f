"""Capped exponential backoff for links that must come back on their own."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """0.5 s, 1 s, 2 s, ... up to `maximum`, with a little jitter so links do not retry in step."""

    initial: float = 0.5
    maximum: float = 5.0
    _attempt: int = 0

    def next_delay(self) -> float:
        """How long to wait before the next attempt."""
        delay = min(self.maximum, self.initial * (2**self._attempt))
        self._attempt += 1
        return float(delay * random.uniform(0.8, 1.0))

    def reset(self) -> None:
        """The link is up again: start from `initial` next time."""
        self._attempt = 0
