"""`ivr simulate`: a month of calls through the shop's own plans, roster and routing on virtual
time, and what-if questions answered before the shop pays for them."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MOST_DAYS = 3660  # ten years: a typo of --days 1000000 is refused, not run for hours
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 12, 31)
HELP = """\
Run simulated calls through the same switchboard and router as `ivr run`, with the shop's
own dial plans, roster (teams, shifts, skills, overflow steps, the partner's trunk and its
cap), callbacks and voicemail, on virtual time: a month takes seconds. Prints what `ivr
report` would print for that month: calls, answered, abandoned, service level, ASA, who
answered (your agents, the partner's agents, the partner's trunk) and what the partner
cost, callbacks, messages, and calls that met a closed line.

inputs, in the shop's words (docs/simulate.md explains every one):
  --traffic FILE   how many calls, on which weekdays and hours, which keys callers press,
                   how patient they are, how long agents talk (config/traffic.yaml);
                   `journal` learns all that from the calls in the journal store
                   between --learn-from and --learn-to
  --calls FILE     instead of made-up callers, these calls: when each dials, the keys
                   they press, how long they talk, how long they wait before giving up;
                   prints who answered each and when a step overflowed it
  the roster       who works, their skills and shifts, the partner and its price
                   (teams: {NAME: {price: {per_call: 1.2, per_minute: 0.3}}}, currency: RUB)
  the plans        menus, queues, overflow steps, opening hours and holidays

what if (each changes the inputs, never the code; with --compare the run without them
is printed beside the run with them):
  --arrivals x2.1          twice as many calls and a tenth more; 18-21=x1.5 for some hours
  --agents shop=+2         two more agents with the team's most common skills (-1: fewer);
                           for a partner's trunk: more lines
  --without-team callpoint the team never comes on duty
  --overflow-after 30      overflow steps that wait (waited:) fire after 30 s (returns=30:
                           only that queue's)
  --hours 'shop-shift=mon-sat 09:00-21:00'   other weekly hours for a shift or schedule
                                             (of the roster or a plan; `never`: closed)
  --plans DIR, --roster DIR                  another plan or roster folder
  --variant 'NAME: OPTIONS'                  a named variant (repeat to compare several)

examples:
  ivr simulate --from 2026-12-01 --days 30
  ivr simulate --compare --without-team callpoint --without-team nightdesk
  ivr simulate --traffic journal --learn-from 2026-10-01 --learn-to 2026-11-01 --arrivals x1.3
  ivr simulate --calls calls.yaml --compare --without-team callpoint
"""


def add_command(commands: Any) -> None:
    """Add `ivr simulate` to the `ivr` command's subparsers."""
    parser = commands.add_parser(
        "simulate",
        help="a month of simulated calls through the production routing; what-if questions",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                        help="settings naming plans, roster, callbacks and the journal "
                             "(default: config/ivr.yaml)")  # fmt: skip
    parser.add_argument(
        "--traffic",
        default="config/traffic.yaml",
        help="the traffic file, or `journal` (default: config/traffic.yaml)",
    )
    parser.add_argument("--calls", type=Path, default=None, metavar="FILE",
                        help="a fixed list of calls (when, number, keys, talk, patience) "
                             "instead of made-up callers: prints what became of each call, "
                             "--from's midnight being `at: 0` (docs/simulate.md)")  # fmt: skip
    parser.add_argument("--learn-from", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="--traffic journal: first day to learn from")  # fmt: skip
    parser.add_argument(
        "--learn-to",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="--traffic journal: day after the last (default: today)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="first simulated day (default: the 1st of next month)",
    )
    parser.add_argument("--days", type=int, default=30, help="days to simulate (default: 30)")
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="the same seed gives the same callers and figures (default: 1)",
    )
    parser.add_argument("--by", choices=("day", "hour"), default="day")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--png", type=Path, default=None, metavar="DIR", help="also draw charts into this folder"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="print the site as it is beside the site with the what-ifs",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="'NAME: OPTIONS'",
        help="a named variant with its own what-if options",
    )
    _what_ifs(parser)
    parser.set_defaults(handler=run)


def _what_ifs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arrivals", action="append", default=[], metavar="xF|HOURS=xF")
    parser.add_argument("--agents", action="append", default=[], metavar="TEAM=+N")
    parser.add_argument("--without-team", action="append", default=[], metavar="TEAM")
    parser.add_argument("--overflow-after", action="append", default=[], metavar="[QUEUE=]S")
    parser.add_argument(
        "--hours", action="append", default=[], metavar="'SCHEDULE=DAYS HH:MM-HH:MM'"
    )
    parser.add_argument("--plans", type=Path, default=None, metavar="DIR")
    parser.add_argument("--roster", type=Path, default=None, metavar="DIR")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def what_if(name: str, args: argparse.Namespace) -> Any:
    """The WhatIf the options of `args` ask for."""
    from ivr.simulate.whatif import WhatIf, WhatIfError

    factor, at = 1.0, []
    for text in args.arrivals:
        hours, _, value = text.rpartition("=")
        scale = _factor(value, "--arrivals")
        if hours:
            first, _, last = hours.partition("-")
            try:
                span = frozenset(range(int(first), int(last) if last else int(first) + 1))
            except ValueError:
                raise WhatIfError(f"--arrivals {text}: write hours as 18-21=x1.5") from None
            at.append((span, scale))
        else:
            factor *= scale
    agents = []
    for text in args.agents:
        team, _, change = text.partition("=")
        try:
            agents.append((team, int(change)))
        except ValueError:
            raise WhatIfError(f"--agents {text}: write it as TEAM=+N or TEAM=-N") from None
    after = []
    for text in args.overflow_after:
        queue, _, seconds = text.rpartition("=")
        try:
            after.append((queue, float(seconds)))
        except ValueError:
            raise WhatIfError(
                f"--overflow-after {text}: write seconds, e.g. 30 or returns=30"
            ) from None
    hours = []
    for text in args.hours:
        schedule, _, weekly = text.partition("=")
        if not weekly:
            raise WhatIfError(f"--hours {text}: write it as 'shop-shift=mon-fri 09:00-21:00'")
        hours.append((schedule, weekly))
    return WhatIf(name, factor, tuple(at), tuple(agents), tuple(args.without_team),
                  tuple(after), tuple(hours), args.plans, args.roster)  # fmt: skip


def _factor(text: str, option: str) -> float:
    from ivr.simulate.whatif import WhatIfError

    try:
        value = float(text.removeprefix("x"))
    except ValueError:
        raise WhatIfError(f"{option} {text}: write a factor such as x2.1") from None
    if not math.isfinite(value):
        raise WhatIfError(f"{option} {text}: write a factor such as x2.1, a finite number")
    if value < 0:
        raise WhatIfError(f"{option} {text}: a factor cannot be negative")
    return value


def _changed(args: argparse.Namespace) -> bool:
    return bool(args.arrivals or args.agents or args.without_team or args.overflow_after
                or args.hours or args.plans or args.roster)  # fmt: skip


def _variants(args: argparse.Namespace) -> list[Any]:
    from ivr.simulate.whatif import WhatIf, WhatIfError

    variants = []
    if args.compare:
        variants = [WhatIf("as is"), what_if("what if", args)]
    elif not args.variant:
        variants = [what_if("what if" if _changed(args) else "as is", args)]
    for text in args.variant:
        name, _, options = text.partition(":")
        if not options:
            raise WhatIfError(f"--variant {text!r}: write it as 'NAME: --agents shop=+2 ...'")
        sub = argparse.ArgumentParser(prog=f"--variant {name}", add_help=False)
        _what_ifs(sub)
        try:
            parsed = sub.parse_args(shlex.split(options))
        except SystemExit:
            raise WhatIfError(f"--variant {text!r}: options not understood") from None
        variants.append(what_if(name.strip(), parsed))
    return variants


def run(args: argparse.Namespace) -> int:
    """Simulate every variant and print the figures."""
    from ivr.config import ConfigError, load_settings
    from ivr.simulate.engine import Run, simulate
    from ivr.simulate.output import RENDER, Result
    from ivr.simulate.traffic import TrafficError, load_traffic
    from ivr.simulate.whatif import WhatIfError
    from ivr.site_load import SiteError, SiteUnreadable

    if not 1 <= args.days <= MOST_DAYS:
        print(f"ivr simulate: --days must be 1 to {MOST_DAYS} (ten years)", file=sys.stderr)
        return 1
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 1
    today = date.today()
    start = args.start or (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if not FIRST_DAY <= start <= LAST_DAY - timedelta(days=args.days):
        # Outside it, a day's local midnight has no Unix time (a traceback, before).
        print(f"ivr simulate: the run must lie between {FIRST_DAY} and {LAST_DAY}; "
              "give --from a date in between", file=sys.stderr)  # fmt: skip
        return 1
    try:
        if args.traffic == "journal":
            traffic = _learned(args, settings)
        else:
            traffic = load_traffic(Path(args.traffic))
        variants = _variants(args)
        runs = []
        for variant in variants:
            site = variant.site(settings.dialplans, settings.agents)
            run = Run(variant.name, site, variant.traffic(traffic), start, args.days, args.seed,
                      settings.callbacks)  # fmt: skip
            # A list of calls (--calls) is played as it is: the traffic's rates bring none.
            if args.calls is None and (why := run.too_big()) is not None:
                raise TrafficError(why)
            runs.append(run)
    except (TrafficError, WhatIfError, SiteUnreadable) as exc:
        print(f"ivr simulate: {exc}", file=sys.stderr)
        return 1
    except SiteError as exc:
        print(exc, file=sys.stderr)
        print("ivr simulate: the plans or roster (with the what-ifs) have errors; "
              "`ivr check` says the same of the files", file=sys.stderr)  # fmt: skip
        return 1
    if args.calls is not None:
        return _replay(args, runs)
    results = []
    for number, one in enumerate(runs, 1):
        bar = _Progress(f"{one.variant} ({number}/{len(runs)})", one.days)
        figures = simulate(one, bar.step)
        bar.done()
        results.append(Result(figures, one.day_list))
    sys.stdout.write(RENDER[args.format](results, args.by))
    if args.png is not None:
        return _charts(results, args.png)
    return 0


def _replay(args: argparse.Namespace, runs: Sequence[Any]) -> int:
    """--calls: the list through each variant; one row per call and variant."""
    from datetime import datetime
    from datetime import time as day_start
    from zoneinfo import ZoneInfo

    from ivr.simulate.arrivals import ArrivalsError, load_arrivals, outlines, replay
    from ivr.simulate.call_table import render, rows

    try:
        calls = load_arrivals(args.calls)
    except ArrivalsError as exc:
        print(f"ivr simulate: {exc}", file=sys.stderr)
        return 1
    table = []
    for one in runs:
        tz = ZoneInfo(one.traffic.timezone)
        start = datetime.combine(one.start, day_start(), tz).timestamp()
        entries = replay(one.site, calls, start, one.traffic, one.callbacks)
        table += rows(one.variant, list(outlines(entries).values()), tz)
    sys.stdout.write(render(table, args.format))
    return 0


def _learned(args: argparse.Namespace, settings: Any) -> Any:
    from datetime import datetime
    from datetime import time as day_start
    from zoneinfo import ZoneInfo

    from ivr.simulate.learn import learn
    from ivr.simulate.traffic import TrafficError
    from ivr.store.open import open_journal

    end = args.learn_to or date.today()
    begin = args.learn_from or end - timedelta(days=28)
    if end <= begin:
        raise TrafficError("--learn-to must be after --learn-from")
    plans = _plans(settings)
    first_plan = plans.plans[0].spec if plans.plans else None
    tz_name = first_plan.timezone if first_plan is not None and first_plan.timezone else "UTC"
    tz = ZoneInfo(tz_name)
    if not settings.store.redis_url and not settings.store.sqlite.exists():
        raise TrafficError(f"no journal at {settings.store.sqlite} to learn from")
    journal = open_journal(settings)
    try:
        first = datetime.combine(begin, day_start(), tz).timestamp()
        last = datetime.combine(end, day_start(), tz).timestamp()
        return learn(journal.read(first, last), begin, end, tz_name, plans)
    finally:
        journal.close()


def _plans(settings: Any) -> Any:
    from ivr.reload import load

    return load(settings).plans


def _charts(results: Sequence[Any], folder: Path) -> int:
    from ivr.simulate import charts

    rows = [row for result in results for row in result.figures.rows(result.days)]
    for path in charts.draw(rows, folder):
        print(f"chart: {path}", file=sys.stderr)
    return 0


class _Progress:
    """Days done, on stderr, only when it is a terminal."""

    def __init__(self, label: str, days: int) -> None:
        self.label = label
        self.days = days
        self.shown = sys.stderr.isatty()
        self.started = time.monotonic()

    def step(self, done: int) -> None:
        if not self.shown:
            return
        width = 30
        filled = width * done // self.days
        seconds = time.monotonic() - self.started
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"day {done}/{self.days} {seconds:.0f} s")  # fmt: skip
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
