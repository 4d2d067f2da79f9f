"""`python -m tests.fuzz`: a fuzz run of plans, rosters and configs, with its summary."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from tests.fuzz.run import KINDS, Seeds, Summary, case_input, fuzz, kind_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000, help="how many (default: 20000)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    parser.add_argument("--first", type=int, default=0, help="the first case's number")
    parser.add_argument("--kind", choices=KINDS, action="append", help="only these kinds")
    parser.add_argument("--case", type=int, default=None, help="replay this one case")
    parser.add_argument("--show", action="store_true", help="print the case's input (--case)")
    args = parser.parse_args(argv)
    kinds = tuple(args.kind or KINDS)
    if args.case is not None:
        kind = kind_of(args.case, kinds)
        if args.show:
            name, data = case_input(Seeds.load(), args.seed, args.case, kind)
            print(f"# case {args.case}: {kind} from {name}")
            sys.stdout.write(data.decode("utf-8", "backslashreplace") + "\n")
        args.first, args.cases = args.case, 1
    started = time.perf_counter()
    summary = fuzz(args.cases, args.seed, kinds, args.first, progress=_progress(started))
    _report(summary, time.perf_counter() - started, args.seed)
    return 1 if summary.crashes else 0


def _progress(started: float) -> Callable[[Summary], None]:
    def show(summary: Summary) -> None:
        took = time.perf_counter() - started
        print(f"... {summary.cases} cases, {len(summary.crashes)} crashes, {took:.0f} s",
              file=sys.stderr)  # fmt: skip

    return show


def _report(summary: Summary, seconds: float, seed: int) -> None:
    kinds = ", ".join(
        f"{count} {kind if kind.endswith('s') else kind + 's'}"
        for kind, count in sorted(summary.by_kind.items())
    )
    print(f"cases: {summary.cases} ({kinds}) in {seconds:.1f} s, seed {seed}")
    print(f"accepted: {summary.accepted}, refused with located messages: "
          f"{summary.cases - summary.accepted - len(summary.crashes)}")  # fmt: skip
    print(f"crashes: {len(summary.crashes)}")
    if summary.slowest is not None:
        slow = summary.slowest
        print(f"slowest case: {slow.seconds:.3f} s (case {slow.index}, {slow.kind})")
    if summary.unlocated:
        print(f"config messages without line:column: {len(summary.unlocated)} case(s)")
        for outcome in summary.unlocated[:5]:
            print(f"  case {outcome.index}: {outcome.unlocated[0][:200]}")
    for outcome in summary.crashes[:20]:
        crash = outcome.crash or ""
        last = crash.strip().splitlines()[-1] if crash.strip() else ""
        print(f"crash: case {outcome.index} ({outcome.kind}): {last[:300]}")


if __name__ == "__main__":
    sys.exit(main())
