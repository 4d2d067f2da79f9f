"""The API fuzz run CI keeps: random bodies, paths and credentials against every /api/ route;
never a 500, never a secret shown, and the guard refuses exactly whom the access table does.

A longer run: `.venv/bin/python -m tests.fuzz.api --cases 20000`.
"""

from __future__ import annotations

from tests.fuzz.api import fuzz_api

CASES = 1000


async def test_random_requests_never_break_the_api_or_its_door() -> None:
    summary = await fuzz_api(CASES, seed=0)
    assert summary.cases == CASES
    broken = [f"case {c.index}: {c.method} {c.path[:80]} -> {c.problem}" for c in summary.broken]
    assert not broken, "\n".join(broken[:10])
    # The cases reach past the door: some are let in, some refused each way.
    assert summary.by_status.get(401, 0) > 0 and summary.by_status.get(403, 0) > 0
    assert sum(n for s, n in summary.by_status.items() if s not in (401, 403)) > CASES // 10
