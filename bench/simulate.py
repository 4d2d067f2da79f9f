"""How fast `ivr simulate` runs, and that its memory stays flat as the period grows.

    .venv/bin/python bench/simulate.py [--weeks 1 2 4] [--profile]

A 50-agent centre (one team, the load runs' menu: key 1 to the `desk` queue, longest-idle,
10 s ring, no wrap-up), about 150,000 calls a month at a constant rate, talk 390 s and
patience 120 s (exponential), 2 s prompts. Each period runs in a fresh child process, which
reports its CPU seconds, calls per CPU second and peak RSS (ru_maxrss). `--profile` runs one
week under cProfile and prints the 25 costliest functions. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AGENTS = 50
CALLS_PER_MONTH = 150_000
TRAFFIC = f"""
timezone: UTC
numbers: {{"100": {{calls_per_month: {CALLS_PER_MONTH}}}}}
keys: {{start: {{"1": 1}}}}
callers: {{patience: 120}}
agents: {{ring: 2, talk: {{default: 390}}}}
prompts: {{default: 2}}
"""


def one(weeks: int) -> dict[str, float]:
    """Simulate `weeks` in this process; its figures."""
    from ivr.lab.load_plan import menu_queue_plan
    from ivr.simulate.engine import Run, simulate
    from ivr.simulate.traffic import traffic_from
    from ivr.site_load import check_site

    plan = menu_queue_plan("bench", "100", "bench/simulate.py", orders=False)
    agents = "".join(
        f"  - {{id: a{i}, name: A{i}, endpoint: PJSIP/a{i}, team: shop, skills: {{sales: 5}}}}\n"
        for i in range(AGENTS)
    )
    roster = f"teams:\n  shop: {{kind: in-house}}\nagents:\n{agents}"
    site = check_site([("bench.yaml", plan.encode())], [("roster.yaml", roster.encode())])
    traffic = traffic_from(TRAFFIC.encode(), "traffic.yaml")
    started = time.process_time()
    figures = simulate(Run("bench", site, traffic, date(2026, 12, 7), 7 * weeks, seed=1))
    cpu = time.process_time() - started
    total = figures.total().figures()
    return {
        "weeks": weeks,
        "calls": total["calls"],
        "cpu_seconds": round(cpu, 2),
        "calls_per_cpu_second": round(total["calls"] / cpu),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "service_level": round(total["service_level"] or 0, 3),
        "abandon_rate": round(total["abandon_rate"] or 0, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(one(args.child)))
        return
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(one, 1)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    # The interpreter's build moves the figure by a sixth (a plain source build against
    # Debian's, which scripts/install uses): say which one ran.
    print(f"python {platform.python_version()} ({sys.base_prefix}/bin)")
    print(f"{'weeks':>5}  {'calls':>7}  {'CPU s':>6}  {'calls/CPU s':>11}  {'peak RSS MB':>11}  "
          f"{'SL':>5}  {'aband':>5}")  # fmt: skip
    for weeks in args.weeks:
        out = subprocess.run([sys.executable, __file__, "--child", str(weeks)],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        r = json.loads(out)
        print(f"{r['weeks']:>5}  {r['calls']:>7}  {r['cpu_seconds']:>6}  "
              f"{r['calls_per_cpu_second']:>11}  {r['peak_rss_mb']:>11}  "
              f"{r['service_level']:>5}  {r['abandon_rate']:>5}")  # fmt: skip


if __name__ == "__main__":
    main()
