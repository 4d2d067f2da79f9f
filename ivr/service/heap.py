"""Giving freed memory back to the system, for a daemon that runs for months.

Python frees objects, but glibc's malloc keeps the freed chunks of its main heap for reuse;
after a busy hour the heap is full of holes that the resident size still counts (the soak
test, docs/soak.md, saw it grow that way while Python's own objects stayed flat).
`malloc_trim(0)` hands the free pages back. Without glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

TRIM_EVERY = 60.0  # seconds; a trim takes about a millisecond


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


async def trim_heap_forever(every: float = TRIM_EVERY) -> None:
    """Return the malloc heap's free pages to the system every `every` seconds."""
    trim = _malloc_trim()
    if trim is None:
        return
    while True:
        await asyncio.sleep(every)
        trim(0)
