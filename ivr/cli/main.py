"""The `ivr` command: run the daemon, check plans, and drive the lab PBX."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from datetime import date  # `ivr report`
from pathlib import Path
from typing import TYPE_CHECKING

from ivr import __version__

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ivr.config import Settings
    from ivr.store.port import Entry


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ivr` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    result: int = args.handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivr",
        description="shop-ivr: a telephony engine for online shops' customer lines.",
    )
    parser.add_argument("--version", action="version", version=f"shop-ivr {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the daemon against Asterisk (ARI + AMI)",
        description="Run the daemon against Asterisk (ARI + AMI). Exit 0 after SIGTERM; "
        "exit 3 when another daemon took the failover lease (systemd's Restart= brings this "
        "one back as the standby).",
    )
    run.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                     help="settings file (default: config/ivr.yaml)")  # fmt: skip
    run.set_defaults(handler=_run)

    from ivr.cli import plan_tools  # `ivr check`: the same decision as `ivr run` and a reload

    plan_tools.add_check(commands)

    # --- `ivr report` (journal store; issues 5 and 7) ---
    report = commands.add_parser("report", help="call figures from the journal store")
    report.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD",
                        help="first day (inclusive)")  # fmt: skip
    report.add_argument("--to", dest="end", type=_date, required=True, metavar="YYYY-MM-DD",
                        help="last day (exclusive)")  # fmt: skip
    report.add_argument("--by", choices=("hour", "day", "weekday"), default="day")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--tz", default="UTC", help="time zone of days and hours (default: UTC)")
    report.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                        help="settings naming the store (default: config/ivr.yaml)")  # fmt: skip
    report.set_defaults(handler=_report)
    # --- end `ivr report` ---

    # --- `ivr forecast` (agents needed per weekday and hour; issue 7) ---
    staffing = commands.add_parser(
        "forecast", help="agents needed per weekday and hour, from the journal's calls"
    )
    staffing.add_argument("--from", dest="start", type=_date, default=None, metavar="YYYY-MM-DD",
                          help="first day (inclusive; default: 4 weeks before --to)")  # fmt: skip
    staffing.add_argument("--to", dest="end", type=_date, default=None, metavar="YYYY-MM-DD",
                          help="last day (exclusive; default: today)")  # fmt: skip
    staffing.add_argument("--target", type=float, default=0.8,
                          help="share answered within --within (default: 0.8)")  # fmt: skip
    staffing.add_argument("--within", type=float, default=20.0, metavar="SECONDS",
                          help="service level target time (default: 20)")  # fmt: skip
    staffing.add_argument("--tz", default="UTC", help="time zone of days and hours (default: UTC)")
    staffing.add_argument("--png", type=Path, default=None, help="also write a heat map here")
    staffing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    staffing.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                          help="settings naming the store (default: config/ivr.yaml)")  # fmt: skip
    staffing.set_defaults(handler=_forecast)
    # --- end `ivr forecast` ---

    # --- `ivr recordings` (quality control; issue 6) ---
    recordings = commands.add_parser("recordings", help="call recordings kept for quality control")
    tasks = recordings.add_subparsers(title="recordings commands", metavar="TASK")
    prune = tasks.add_parser(
        "prune", help="delete recordings past their retention days (run daily, e.g. from cron)"
    )
    prune.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                       help="settings naming the folder (default: config/ivr.yaml)")  # fmt: skip
    prune.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    prune.set_defaults(handler=_prune_recordings)
    # --- end `ivr recordings` ---

    from ivr.cli import (
        plan_tools as tools,  # `ivr schema | try | graph | prompts`: offline tools for plan authors
    )

    tools.add_commands(commands)
    from ivr.ops import cli as ops  # `ivr line close|open|status`, `ivr erase`

    ops.add_commands(commands)
    from ivr.cli import principal  # `ivr principal hash`

    principal.add_commands(commands)
    from ivr.cli import simulate  # `ivr simulate`: a month on virtual time, what-ifs (issue 15)

    simulate.add_command(commands)

    lab = commands.add_parser("lab", help="the lab PBX: a real Asterisk 22 in a chroot, SIPp")
    steps = lab.add_subparsers(title="lab commands", metavar="STEP")
    for name, text in (
        ("up", "build (once) and start Asterisk and redis-server; wait until they answer"),
        ("down", "stop them; no process is left behind"),
        ("status", "say what runs"),
        ("env", "print the lab's credentials as shell exports"),
    ):
        step = steps.add_parser(name, help=text)
        step.set_defaults(handler=_lab, step=name)
    call = steps.add_parser("call", help="place a real SIP call with RFC 4733 keys (SIPp)")
    call.add_argument("number", help="the number to dial, for example 100")
    call.add_argument("--keys", default="",
                      help="keys to press, `wN` waits N seconds: 1,w3,2")  # fmt: skip
    call.add_argument("--caller", default="79001234567", help="caller number")
    call.add_argument("--name", default="Lab Caller", help="caller name")
    call.add_argument("--first-key-after", type=float, default=2.0, metavar="SECONDS")
    call.add_argument(
        "--hang-up-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="hang up this long after the last key (default: wait for the IVR to hang up)",
    )
    call.set_defaults(handler=_lab, step="call")
    from ivr.lab.softphones import (
        cli as agents,  # `ivr lab agent`: its options and handler live with the agents
    )

    agents.add_command(steps)
    return parser


def _settings_with_logs(args: argparse.Namespace) -> Settings | None:
    """The settings of --config with logging set up as they say; None (told why) when broken."""
    from ivr import logs
    from ivr.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return None
    logs.setup(settings.log.level, settings.log.format, settings.secrets())
    return settings


def _run(args: argparse.Namespace) -> int:
    from ivr.daemon import Daemon
    from ivr.reload import load, log_warnings
    from ivr.site_load import SiteError, SiteUnreadable

    settings = _settings_with_logs(args)
    if settings is None:
        return 1
    try:
        site = load(settings)  # the one decision `ivr check` and reloads make too
    except SiteError as exc:
        print(exc, file=sys.stderr)
        print("ivr: the dial plans or the agent roster have errors (ivr check says the same); "
              "nothing was started", file=sys.stderr)  # fmt: skip
        return 1
    except SiteUnreadable as exc:
        print(f"ivr: {exc}; nothing was started", file=sys.stderr)
        return 1
    log_warnings(site)
    plans, desk = site.plans, site.desk

    async def serve() -> int:
        return await Daemon(settings, plans, desk).run()

    # 3: the lease was lost to another daemon; systemd's Restart= brings this one back as
    # the standby.
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.run(serve())
    return asyncio.run(serve())


# --- `ivr report` (journal store; issues 5 and 7) ---
def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class _Refused(Exception):
    """A journal command cannot run; the message says why."""


def _journal_settings(command: str, args: argparse.Namespace) -> tuple[Settings, ZoneInfo]:
    """Settings and time zone for `report` and `forecast`, or _Refused with the reason."""
    from zoneinfo import ZoneInfo

    from ivr.config import ConfigError, load_settings
    from ivr.schedule.parse import known_zone

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise _Refused(f"ivr: {exc}") from None
    if not known_zone(args.tz):
        zone = f"unknown time zone {args.tz[:60]!r} (try Europe/Moscow or UTC)"
        raise _Refused(f"ivr {command}: {zone}")
    tz = ZoneInfo(args.tz)
    if not settings.store.redis_url and not settings.store.sqlite.exists():
        # Do not create an empty database just to report on it.
        raise _Refused(f"ivr {command}: no journal at {settings.store.sqlite}")
    return settings, tz


def _read_journal(settings: Settings, start: float, end: float) -> Iterator[Entry]:
    """The journal's entries in [start, end), oldest first, read page by page as used."""
    from ivr.store.open import open_journal

    journal = open_journal(settings)
    try:
        yield from journal.read(start, end)
    finally:
        journal.close()


def _report(args: argparse.Namespace) -> int:
    from datetime import datetime, time

    from ivr.reports import report as reports

    if args.end <= args.start:
        print("ivr report: --to must be after --from", file=sys.stderr)
        return 1
    try:
        settings, tz = _journal_settings("report", args)
    except _Refused as exc:
        print(exc, file=sys.stderr)
        return 1
    start = datetime.combine(args.start, time(), tz).timestamp()
    end = datetime.combine(args.end, time(), tz).timestamp()
    report = reports.build(_read_journal(settings, start, end), args.by, tz)
    sys.stdout.write(reports.RENDER[args.format](report))
    return 0


# --- end `ivr report` ---


# --- `ivr forecast` (agents needed per weekday and hour; issue 7) ---
def _forecast(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta

    from ivr.reports import staffing

    if not 0 < args.target < 1 or args.within < 0:
        print("ivr forecast: --target must be between 0 and 1, --within >= 0", file=sys.stderr)
        return 1
    try:
        settings, tz = _journal_settings("forecast", args)
    except _Refused as exc:
        print(exc, file=sys.stderr)
        return 1
    end = args.end or datetime.now(tz).date()
    start = args.start or end - timedelta(weeks=4)
    if end <= start:
        print("ivr forecast: --to must be after --from", file=sys.stderr)
        return 1
    first, last = staffing.window(start, end, args.tz)
    entries = _read_journal(settings, first, last)
    try:
        result = staffing.build(entries, start, end, args.tz, args.target, args.within)
    except ValueError as exc:
        print(f"ivr forecast: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(staffing.RENDER[args.format](result))
    if args.png:
        staffing.write_png(result, args.png)
        print(f"ivr forecast: heat map written to {args.png}", file=sys.stderr)
    return 0


# --- end `ivr forecast` ---


# --- `ivr recordings` (quality control; issue 6) ---
def _prune_recordings(args: argparse.Namespace) -> int:
    import logging
    from datetime import UTC, datetime

    from ivr.recordings.prune import prune

    settings = _settings_with_logs(args)
    if settings is None:
        return 1
    folder = settings.recordings.folder
    if not folder.is_dir():
        print(f"ivr recordings prune: no recordings folder at {folder}", file=sys.stderr)
        return 1
    # Voicemail too, after callbacks.voicemail_days (its sidecars may predate the setting).
    voicemail = settings.callbacks
    verb = "would delete" if args.dry_run else "deleted"
    for root, default_days in (
        (folder, None),
        (voicemail.voicemail_folder, voicemail.voicemail_days),
    ):
        if not root.is_dir():
            continue
        log = logging.getLogger("ivr.recordings")
        deleted = prune(root, datetime.now(UTC), log, args.dry_run, default_days)
        for path in deleted:
            print(path)
        print(f"ivr recordings prune: {verb} {len(deleted)} file(s) in {root}", file=sys.stderr)
    return 0


# --- end `ivr recordings` ---


def _lab(args: argparse.Namespace) -> int:
    from ivr.lab import lab

    return lab.command(args)


if __name__ == "__main__":
    sys.exit(main())
