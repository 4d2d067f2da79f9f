"""`ivr line close|open|status` (through the running daemon's API) and `ivr erase`.

Exit codes: 0 done; 1 refused (`line`: the daemon said no, e.g. an undeclared message;
`erase`: nothing of the number was found); 2 could not run (no config, no daemon, no store).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import redis

from ivr.config import ConfigError, Settings, load_settings

DONE, REFUSED, CANNOT = 0, 1, 2
TIMEOUT = 10.0


def add_commands(commands: Any) -> None:
    """The `line` and `erase` subcommands."""
    line = commands.add_parser("line", help="close the line now (an emergency), open it again")
    steps = line.add_subparsers(title="line commands", metavar="STEP")
    close = steps.add_parser(
        "close", help="close the line: arriving calls hear the message, then the plan's "
        "emergency node or goodbye; callers already in the plan go on"
    )  # fmt: skip
    close.add_argument("--message", default="emergency",
                       help="a message the plans declare (emergency: messages:); "
                       "default: emergency")  # fmt: skip
    close.add_argument("--reason", required=True, help="why, for the journal")
    opened = steps.add_parser("open", help="open the line again")
    opened.add_argument("--reason", default="", help="why, for the journal")
    status = steps.add_parser("status", help="which plans are closed, by whom and why")
    for step, handler in ((close, _close), (opened, _open), (status, _status)):
        if step is not status:
            step.add_argument("--plan", action="append", default=[], dest="plans",
                              help="only this plan (repeat; default: every plan)")  # fmt: skip
        step.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                          help="settings naming the daemon's API and token "
                          "(default: config/ivr.yaml)")  # fmt: skip
        step.set_defaults(handler=handler)

    erase = commands.add_parser(
        "erase",
        help="remove a caller's number from the journal, callbacks, voicemail and recordings",
        description="Remove a caller's number everywhere, or (--older-than) mask callers' "
        "numbers in older journal entries. Exit 0 removed, 1 nothing found, 2 could not run.",
    )
    what = erase.add_mutually_exclusive_group(required=True)
    what.add_argument("--number", help="the caller's number, in any spelling (+7..., 8...)")
    what.add_argument("--older-than", type=_whole_days, metavar="DAYS",
                      help="mask callers' numbers in journal entries older than DAYS and delete "
                      "finished callback tasks (what the daemon does daily with "
                      "store.caller_number_days)")  # fmt: skip
    erase.add_argument("--config", type=Path, default=Path("config/ivr.yaml"),
                       help="settings naming the store and the folders "
                       "(default: config/ivr.yaml)")  # fmt: skip
    erase.set_defaults(handler=_erase)


# --- `ivr line` ---


def _who() -> str:
    """Who asks, for the journal: the login (the sudoer's too) and the host."""
    user = os.environ.get("SUDO_USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


def _settings(config: Path) -> Settings | None:
    try:
        return load_settings(config)
    except ConfigError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return None


def _api(
    settings: Settings, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, str]:
    """(status, text) of a request to the daemon's API; OSError when nobody answers."""
    host, port = settings.http.host, settings.http.port
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    url = f"http://{host}:{port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    tokens = [t.get_secret_value() for t in settings.api.tokens]
    # An ops principal's token (principals: in the config) is preferred: line and erase are ops'.
    tokens += [p.token.get_secret_value() for p in settings.principals
               if p.role == "ops" and p.token is not None][:1]  # fmt: skip
    if tokens:
        request.add_header("Authorization", f"Bearer {tokens[-1]}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _line(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None) -> int:
    settings = _settings(args.config)
    if settings is None:
        return CANNOT
    try:
        status, text = _api(settings, method, path, body)
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        print(f"ivr line: no daemon answers at {settings.http.listen} ({reason}); "
              "is `ivr run` up with this config?", file=sys.stderr)  # fmt: skip
        return CANNOT
    if status == 401:
        print("ivr line: the daemon wants a valid API token: give the config a principal with "
              "role ops and a token (principals: in ivr.yaml)", file=sys.stderr)  # fmt: skip
        return CANNOT
    if status >= 400:
        print(f"ivr line: refused ({status}): {text}", file=sys.stderr)
        return REFUSED if status < 500 else CANNOT
    _show(json.loads(text))
    return DONE


def _show(answer: dict[str, Any]) -> None:
    for name, plan in answer.get("plans", {}).items():
        if plan.get("closed"):
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(plan.get("since", 0)))
            scope = " (all plans)" if plan.get("all_plans") else ""
            print(f"{name}: CLOSED{scope} since {since} by {plan.get('by')}: "
                  f"message={plan.get('message')} reason={plan.get('reason')!r}")  # fmt: skip
        else:
            print(f"{name}: open (messages: {', '.join(plan.get('messages', []))})")


def _close(args: argparse.Namespace) -> int:
    body = {"message": args.message, "reason": args.reason, "plans": args.plans, "by": _who()}
    return _line(args, "POST", "/api/line/close", body)


def _open(args: argparse.Namespace) -> int:
    body = {"reason": args.reason, "plans": args.plans, "by": _who()}
    return _line(args, "POST", "/api/line/open", body)


def _status(args: argparse.Namespace) -> int:
    return _line(args, "GET", "/api/line", None)


# --- `ivr erase` ---


def _erase(args: argparse.Namespace) -> int:
    from ivr.ops.erase import erase_number
    from ivr.ops.retention import forget_numbers
    from ivr.store.open import open_callbacks, open_journal

    settings = _settings(args.config)
    if settings is None:
        return CANNOT
    country = settings.callbacks.country
    if args.number is not None:
        told = _tell_daemon(settings, args.number)
        if told is None:
            return CANNOT
    try:
        journal, callbacks = open_journal(settings), open_callbacks(settings)
    except (OSError, sqlite3.Error, redis.RedisError) as exc:
        print(f"ivr erase: cannot open the store: {exc}", file=sys.stderr)
        return CANNOT
    _patient(journal)
    try:
        if args.older_than is not None:
            before = time.time() - args.older_than * 86_400
            masked = forget_numbers(journal, callbacks, before)
            print(f"journal: {masked.journal_entries} entries masked")
            print(f"callbacks: {masked.callback_tasks} finished tasks deleted")
            return DONE
        folders = [("recordings", settings.recordings.folder),
                   ("voicemail", settings.callbacks.voicemail_folder)]  # fmt: skip
        erased = erase_number(args.number, journal, callbacks, folders, country)
    except (OSError, sqlite3.Error, redis.RedisError) as exc:
        print(f"ivr erase: could not finish ({exc}); run it again: what went is gone, the rest "
              "is found again", file=sys.stderr)  # fmt: skip
        return CANNOT
    finally:
        journal.close()
        callbacks.close()
    print(f"number: {erased.number}")
    for line in erased.lines():
        print(line)
    if told and told.get("calls_up"):
        print(f"calls of this number up now: {told['calls_up']} (erase again after they end)")
    if not erased.found:
        print("ivr erase: nothing of this number was found", file=sys.stderr)
        return REFUSED
    return DONE


def _tell_daemon(settings: Settings, number: str) -> dict[str, Any] | None:
    """The running daemon lets go of the number ({} when no daemon runs); None: it refused."""
    try:
        status, text = _api(settings, "POST", "/api/erase", {"number": number})
    except OSError:
        return {}  # no daemon: the store and the files are all there is
    if status == 200:
        answer: dict[str, Any] = json.loads(text)
        return answer
    if status == 404:
        return {}  # something else listens there
    print(f"ivr erase: the running daemon at {settings.http.listen} refused ({status}: "
          f"{text.strip()[:200]}); give the config an ops principal's token or stop it first",
          file=sys.stderr)  # fmt: skip
    return None


def _patient(journal: object) -> None:
    """A SQLite journal waits for the daemon's batch to commit, and overwrites what it
    deletes (erased numbers must not linger in free pages)."""
    from ivr.store.sqlite import SqliteJournal

    if isinstance(journal, SqliteJournal):
        journal.db.execute("PRAGMA busy_timeout = 30000")
        journal.db.execute("PRAGMA secure_delete = ON")


def _whole_days(text: str) -> int:
    """--older-than's DAYS: 1 or more. A typo of -5 masked every number in the journal (all
    entries are older than five days from now)."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError(f"DAYS must be 1 or more (got {days})")
    return days
