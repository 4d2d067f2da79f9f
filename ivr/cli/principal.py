"""`ivr principal hash`: the hash of a web sign-in password for `principals[].password`."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from ivr.passwords import hash_password

MIN_LENGTH = 10


def add_commands(commands: Any) -> None:
    """Add `ivr principal hash` to the `ivr` command's subparsers."""
    principal = commands.add_parser("principal", help="principals: who may use the API and page")
    steps = principal.add_subparsers(title="principal commands", metavar="TASK")
    hashing = steps.add_parser(
        "hash",
        help="print the hash of a password for principals[].password in ivr.yaml",
        description="Read a password (asked twice on a terminal, else the first line of stdin: "
        "never an argument, which `ps` shows) and print its salted scrypt hash.",
    )
    hashing.set_defaults(handler=_hash)


def _hash(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("ivr principal hash: the two passwords differ; nothing printed", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_LENGTH:
        print(f"ivr principal hash: use at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0
