"""`ivr lab agent NAME ...`: run one lab softphone by hand and print each step it logs."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

from ivr.lab.paths import LabPaths
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.events import AgentEvent
from ivr.lab.softphones.script import AGENT_PORTS, AgentScript


def add_command(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ivr lab agent NAME ...` to the `ivr lab` steps."""
    step = steps.add_parser("agent", help="run a lab softphone (SIPp UAS) until Ctrl-C")
    step.add_argument("name", choices=sorted(AGENT_PORTS), help="the pjsip.conf endpoint")
    step.add_argument("--behaviour", choices=["answer", "no-answer", "busy", "reject"],
                      default="answer")  # fmt: skip
    step.add_argument("--ring", type=float, default=1.0, metavar="SECONDS")
    step.add_argument("--talk", type=float, default=5.0, metavar="SECONDS")
    step.add_argument("--wait-for-bye", action="store_true", help="never hang up first")
    step.add_argument("--audio", choices=["pcap", "echo", "none"], default="pcap")
    step.add_argument("--calls", type=int, default=None, help="exit after this many calls")
    step.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Carry out `ivr lab agent`: print each step of each call as the softphone logs it."""
    script = AgentScript.of(
        args.name, behaviour=args.behaviour, ring_seconds=args.ring, talk_seconds=args.talk,
        wait_for_bye=args.wait_for_bye, audio=args.audio, calls=args.calls, record_from_to=True,
    )  # fmt: skip
    agent = LabAgent(LabPaths.default(), script).start()
    print(f"lab agent: {script.name} on 127.0.0.1:{script.port}, log {agent.log_file}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        _follow(agent)
    code = agent.stop()
    return 0 if code in (0, None) or script.calls is None else 1


def _follow(agent: LabAgent) -> None:
    """Print the agent's events as they arrive, until SIPp exits."""
    shown = 0
    while True:
        events = agent.events()
        for event in events[shown:]:
            print(f"{event.at:.3f} {event.call_id} {event.kind} {event.detail}", flush=True)
        shown = len(events)
        if not agent.running:
            return
        with contextlib.suppress(AssertionError):  # SIPp exited: the loop prints what is left
            agent.wait_until(_longer_than(shown), 3600, "event")


def _longer_than(count: int) -> Callable[[list[AgentEvent]], bool]:
    return lambda seen: len(seen) > count
