"""`ivr lab`: bring the lab PBX up and down, and place real SIP calls into it."""

from __future__ import annotations

import argparse

from ivr import tts
from ivr.lab import asterisk, chroot, credentials, prompts, redis, sipp
from ivr.lab.paths import LabPaths


def up(paths: LabPaths, say: bool = True) -> dict[str, str]:
    """Build (once), install the plans' say: prompts, configure and start Asterisk and
    redis-server; idempotent."""
    chroot.build(paths, say)
    install_prompts(paths, say)
    secrets = credentials.ensure(paths.credentials)
    asterisk.install_config(paths, secrets)
    if asterisk.pid(paths) is not None:
        # Running already: pick up config changes without dropping anything.
        asterisk.cli(paths, "core reload")
    asterisk.start(paths, secrets)
    redis.start(paths)
    return secrets


def install_prompts(paths: LabPaths, say: bool = True) -> None:
    """The plans' say: prompts as sound files in the chroot; a lab without them still runs."""
    try:
        done = prompts.install(paths)
    except tts.TtsError as exc:
        print(f"lab: say: prompts not installed ({exc}); callers hear nothing for them")
        return
    for problem in done.skipped:
        print(f"lab: no prompts for {problem}")
    if say and (done.made or done.copied or done.removed):
        print(
            f"lab: say: prompts: {done.made} spoken, {done.copied} installed, "
            f"{done.removed} removed; {done.wanted} in {prompts.target(paths)}",
            flush=True,
        )


def down(paths: LabPaths) -> None:
    """Stop everything the lab started."""
    asterisk.stop(paths)
    redis.stop(paths)


def status(paths: LabPaths) -> dict[str, str]:
    """What runs, in words."""
    ast = asterisk.pid(paths)
    red = redis.pid(paths)
    return {
        "chroot": "built" if chroot.is_built(paths) else "not built",
        "asterisk": f"running (pid {ast})" if ast else "stopped",
        "redis": f"running (pid {red})" if red else "stopped",
    }


def command(args: argparse.Namespace) -> int:
    """Carry out `ivr lab STEP`."""
    paths = LabPaths.default()
    if args.step == "up":
        up(paths)
        print(f"lab: up; credentials in {paths.credentials} (source it, or `ivr lab env`)")
        return 0
    if args.step == "down":
        down(paths)
        print("lab: down")
        return 0
    if args.step == "status":
        state = status(paths)
        for name, value in state.items():
            print(f"{name}: {value}")
        return 0 if "stopped" not in state["asterisk"] else 3
    if args.step == "env":
        for name, value in credentials.ensure(paths.credentials).items():
            print(f"export {name}={value}")
        return 0
    script = sipp.CallScript(
        number=args.number,
        caller_number=args.caller,
        caller_name=args.name,
        keys=args.keys,
        first_key_after=args.first_key_after,
        hang_up_after=args.hang_up_after,
    )
    result = sipp.place_call(paths, script)
    print("lab call: " + ("completed" if result.ok else f"failed (sipp exit {result.returncode})"))
    if not result.ok:
        print(result.output)
    return 0 if result.ok else 1
