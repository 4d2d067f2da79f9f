"""Offline tools for plan authors: `ivr check`, `ivr schema`, `ivr try`, `ivr graph`,
`ivr prompts build`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ivr.plan.errors import PlanError
from ivr.plan.plan import PlanBook

DEFAULT_PLANS = Path("dialplans")
DEFAULT_ROSTER = Path("agents")

# `ivr check`'s exit codes.
CLEAN, ERRORS, COULD_NOT_RUN = 0, 1, 2

CHECK_HELP = """\
Check dial plans and the agent roster exactly as `ivr run` and a reload would: each plan,
the plans together (numbers, names, gotos, queues), the roster, and the queues against the
roster. Every problem is printed as FILE:LINE:COLUMN: error|warning: what is wrong; the fix.

exit codes:
  0  the files would go live (warnings, if any, are printed)
  1  errors were found: `ivr run` and a reload would refuse these files
     (with --strict, warnings count as errors)
  2  the check could not run: a file or folder is missing or unreadable, or the checker
     itself failed (a short message; --debug prints the traceback)
"""


def add_check(commands: Any) -> None:
    """Add `ivr check` to the `ivr` command's subparsers."""
    check = commands.add_parser(
        "check",
        help="check dial plans and the agent roster as `ivr run` would; "
        "exit 0 ok, 1 errors, 2 could not run",
        description=CHECK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[DEFAULT_PLANS],
        help="plan files or folders (default: dialplans)",
    )
    check.add_argument(
        "--roster",
        type=Path,
        default=DEFAULT_ROSTER,
        help="the agent roster folder the queues are checked against (default: agents; "
        "a folder that does not exist means no roster, as for `ivr run`)",
    )
    check.add_argument("--strict", action="store_true", help="warnings count as errors (exit 1)")
    check.add_argument(
        "--coverage",
        action="store_true",
        help="also warn of the weekday/hour windows (and holidays of the coming year) in which "
        "callers can reach a queue and no team that could answer it is on shift",
    )
    check.add_argument(
        "--from",
        dest="coverage_from",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the first day of the year --coverage looks at (default: today)",
    )
    check.add_argument(
        "--debug", action="store_true", help="print a traceback when the checker itself fails"
    )
    check.set_defaults(handler=_check)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _check(args: argparse.Namespace) -> int:
    import traceback

    from ivr.site_load import SiteError, SiteUnreadable, load_site

    try:
        site = load_site(args.paths, args.roster)
    except SiteUnreadable as exc:
        print(f"ivr check: {exc}", file=sys.stderr)
        return COULD_NOT_RUN
    except SiteError as exc:
        for problem in exc.problems:
            print(problem)
        errors = len(exc.errors)
        files = len({p.file for p in exc.problems})
        print(f"{errors} error(s), {len(exc.problems) - errors} warning(s) in {files} file(s)")
        return ERRORS
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(
            f"ivr check: internal error: {type(exc).__name__}: {exc}; the files were not "
            "checked (run with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return COULD_NOT_RUN
    warnings = list(site.warnings)
    if args.coverage:
        if site.roster is None:
            print(
                f"ivr check --coverage: there is no roster in {args.roster}, so no shifts to "
                "check; name the roster folder with --roster FOLDER",
                file=sys.stderr,
            )
            return COULD_NOT_RUN
        from ivr.routing.coverage_check import coverage_problems

        warnings += coverage_problems(site.plans, site.roster, args.coverage_from or date.today())
    for warning in warnings:
        print(warning)
    roster = "no roster" if site.roster is None else f"roster: {len(site.roster.agents)} agent(s)"
    print(f"ok: {len(site.plans.plans)} plan(s), {len(warnings)} warning(s); {roster}")
    return ERRORS if warnings and args.strict else CLEAN


def add_commands(commands: Any) -> None:
    """Add the tools to the `ivr` command's subparsers."""
    schema = commands.add_parser("schema", help="print the JSON Schema of plan files")
    schema.add_argument("-o", "--output", type=Path, help="write it to this file")
    schema.set_defaults(handler=_schema)

    try_ = commands.add_parser("try", help="call a plan in the terminal, on virtual time")
    try_.add_argument(
        "plans",
        nargs="+",
        type=Path,
        help="plan files or folders (gotos into other plans need those too)",
    )
    try_.add_argument(
        "--number", default=None, help="the number dialled (default: the plan's first)"
    )
    try_.add_argument("--caller", default="+79001234567", help="caller number ('' = withheld)")
    try_.add_argument(
        "--at",
        default=None,
        metavar="'YYYY-MM-DD HH:MM'",
        help="the moment of the call, in the plan's time zone (default: now)",
    )
    try_.add_argument(
        "--script",
        default=None,
        metavar="1,t,2",
        help="keys instead of the terminal: digits, t = silence, h = hang up",
    )
    try_.add_argument(
        "--lookup-answer",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="the JSON every lookup gets (default: lookups fail)",
    )
    try_.add_argument(
        "--roster",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="the agents' roster: say which teams are on shift at that moment, and which "
        "queues' outside_hours overflow steps apply",
    )
    try_.set_defaults(handler=_try)

    graph = commands.add_parser("graph", help="draw a plan with Graphviz (dot)")
    graph.add_argument("plan", type=Path, help="a plan file")
    graph.add_argument(
        "-o", "--output", type=Path, required=True, help="an .svg (drawn by dot) or a .dot file"
    )
    graph.set_defaults(handler=_graph)

    prompts = commands.add_parser("prompts", help="the plans' say: prompts as sound files")
    steps = prompts.add_subparsers(title="prompts commands", metavar="STEP")
    build = steps.add_parser("build", help="speak every say: text to 8 kHz WAV (espeak-ng, sox)")
    build.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[DEFAULT_PLANS],
        help="plan files or folders (default: dialplans)",
    )
    build.add_argument(
        "--out", type=Path, default=Path("prompts"), help="where the files go (default: prompts)"
    )
    build.set_defaults(handler=_prompts_build)


def _book(paths: list[Path]) -> PlanBook | None:
    from ivr.plan.load import load_book, plan_files

    files = plan_files(paths)
    if not files:
        print("no plan files found in " + ", ".join(map(str, paths)), file=sys.stderr)
        return None
    try:
        book, _ = load_book(files)
    except PlanError as exc:
        print(exc, file=sys.stderr)
        print("fix the errors first: ivr check", file=sys.stderr)
        return None
    return book


def _schema(args: argparse.Namespace) -> int:
    from ivr.plan.schema import schema_text

    text = schema_text()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _shifts(folder: Path, book: PlanBook, moment: datetime) -> bool:
    """Print who is on duty at `moment`, and the queues whose in-house teams are not."""
    from ivr.routing.roster import RosterError, load_roster

    try:
        roster = load_roster([folder])
    except RosterError as exc:
        print(f"ivr try: the roster is refused:\n{exc}", file=sys.stderr)
        return False
    for name, team in roster.teams.items():
        duty = "on duty" if roster.on_duty(name, moment) else "off duty"
        shift = f"shift {team.shift}" if team.shift else "no shift: always"
        print(f"team {name}: {duty} ({shift})")
    in_house = roster.in_house_teams()
    for spec in book.queue_specs():
        teams = [t for t in (spec.teams or in_house) if t in in_house]
        if teams and not any(roster.on_duty(t, moment) for t in teams):
            steps = [step.label for step in spec.overflow if step.outside_hours]
            also = f"; overflow steps that apply: {', '.join(steps)}" if steps else ""
            print(f"queue {spec.name}: no in-house team on duty{also}")
    return True


def _try(args: argparse.Namespace) -> int:
    from ivr.calls.caller_id import safe_number
    from ivr.cli.tryout import HELP, Session, run

    book = _book(args.plans)
    if book is None:
        return 1
    number = args.number or book.plans[0].spec.numbers[0]
    plan = book.for_number(number)
    if plan is None:
        print(f"ivr try: no plan answers number {number}", file=sys.stderr)
        return 1
    zone = ZoneInfo(plan.spec.timezone)
    try:
        moment = _moment(args.at, zone)
    except ValueError:
        print(
            f"ivr try: --at {args.at!r} is not a moment; write 'YYYY-MM-DD HH:MM'", file=sys.stderr
        )
        return 1
    answer = None
    if args.lookup_answer is not None:
        try:
            answer = json.loads(args.lookup_answer.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"ivr try: cannot read {args.lookup_answer}: {exc}", file=sys.stderr)
            return 1
    caller = safe_number(args.caller)
    shown = caller or "withheld"
    print(
        f"ivr try: plan {plan.name} ({plan.file}), number {number}, caller {shown}, "
        f"{moment:%Y-%m-%d %H:%M %a} {plan.spec.timezone}"
    )
    if args.roster is not None and not _shifts(args.roster, book, moment):
        return 1
    session = Session(book, number, caller, moment.timestamp(), answer, str(args.lookup_answer))
    if args.script is not None:
        keys = iter([k.strip().lower() for k in args.script.split(",") if k.strip()])
        return run(session, keys, lambda: None, print)
    print(HELP)
    return run(session, None, _ask, print)


def _ask() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None


def _moment(text: str | None, zone: ZoneInfo) -> datetime:
    if text is None:
        return datetime.fromtimestamp(time.time(), zone)
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _graph(args: argparse.Namespace) -> int:
    from ivr.plan.graph import to_dot
    from ivr.plan.load import load_plan

    try:
        plan, _ = load_plan(args.plan)
    except PlanError as exc:
        print(exc, file=sys.stderr)
        return 1
    dot = to_dot(plan.spec)
    if args.output.suffix == ".dot":
        args.output.write_text(dot, encoding="utf-8")
        return 0
    fmt = args.output.suffix.lstrip(".") or "svg"
    try:
        subprocess.run(
            ["dot", f"-T{fmt}", "-o", str(args.output)],
            input=dot,
            text=True,
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        print(
            "ivr graph: dot not found; install Graphviz: apt-get install graphviz", file=sys.stderr
        )
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"ivr graph: dot failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


def _prompts_build(args: argparse.Namespace) -> int:
    from ivr.tts import Made, TtsError, build

    book = _book(args.paths)
    if book is None:
        return 1

    def show(made: Made) -> None:
        print(f"{'made' if made.made else 'kept'} {made.path}  {made.text}")

    try:
        results = build([plan.spec for plan in book.plans], args.out, show)
    except TtsError as exc:
        print(f"ivr prompts build: {exc}", file=sys.stderr)
        return 1
    made = sum(r.made for r in results)
    print(f"{made} made, {len(results) - made} kept, in {args.out}")
    return 0
