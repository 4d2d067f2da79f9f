"""A pool of lab agents for load runs: N extra PJSIP endpoints (`pool01`...) added to the lab
PBX for the run, a SIPp softphone on each, and the roster lines that name them.

The sample pjsip.conf has four agent endpoints; a soak at several calls a second needs tens.
The pool's endpoints are appended to a copy of config/asterisk/pjsip.conf for the run and
removed again after it (`remove_endpoints`), so other tests see the sample config.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ivr.lab import asterisk
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript

FIRST_PORT = 6301  # well clear of the sample agents (6001-6004), partner and customer


def name(index: int) -> str:
    """The endpoint (and agent id) of the pool's `index`-th agent, from 1."""
    return f"pool{index:02d}"


def port(index: int) -> int:
    return FIRST_PORT + index - 1


def endpoints_conf(count: int) -> str:
    """pjsip.conf sections for `count` pool agents, like the sample's agent1..agent4."""
    return "\n".join(
        f"[{name(i)}](agent-template)\naors = {name(i)}\n"
        f"[{name(i)}]\ntype = aor\ncontact = sip:{name(i)}@127.0.0.1:{port(i)}\n"
        "qualify_frequency = 0\n"
        for i in range(1, count + 1)
    )


def install_endpoints(paths: LabPaths, credentials: dict[str, str], count: int) -> None:
    """Add `count` pool endpoints to the running lab PBX (the sample config plus the pool)."""
    with tempfile.TemporaryDirectory(prefix="ivr-pool-") as folder:
        source = Path(folder)
        for conf in (REPO / "config" / "asterisk").glob("*.conf"):
            shutil.copy(conf, source / conf.name)
        with (source / "pjsip.conf").open("a") as pjsip:
            pjsip.write("\n; The lab's agent pool for load runs (ivr/lab/agent_pool.py).\n")
            pjsip.write(endpoints_conf(count))
        asterisk.install_config(paths, credentials, source)
    asterisk.cli(paths, "module reload res_pjsip.so")


def remove_endpoints(paths: LabPaths, credentials: dict[str, str]) -> None:
    """Back to the sample config: the pool's endpoints are gone."""
    asterisk.install_config(paths, credentials)
    asterisk.cli(paths, "module reload res_pjsip.so")


def endpoint_count(paths: LabPaths) -> int:
    """How many pool endpoints the running PBX knows."""
    text = asterisk.cli(paths, "pjsip show endpoints")
    return sum(1 for line in text.splitlines() if line.strip().startswith("Endpoint:  pool"))


def roster_lines(count: int, team: str, skills: str) -> str:
    """The roster's `agents:` entries for the pool (`skills` as YAML flow, `{sales: 5}`)."""
    return "".join(
        f"  - {{id: {name(i)}, name: Agent {i}, endpoint: PJSIP/{name(i)}, team: {team}, "
        f"skills: {skills}}}\n"
        for i in range(1, count + 1)
    )


def softphones(paths: LabPaths, count: int, **options: object) -> list[LabAgent]:
    """A started SIPp softphone for each pool agent, all doing what `options` say
    (`AgentScript` fields: talk_seconds, ring_seconds, audio...)."""
    started: list[LabAgent] = []
    try:
        for i in range(1, count + 1):
            script = AgentScript(name=name(i), port=port(i), **options)  # type: ignore[arg-type]
            started.append(LabAgent(paths, script).start())
    except BaseException:
        for agent in started:
            agent.stop()
        raise
    return started
