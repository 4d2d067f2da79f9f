"""A reload under load: SIPp keeps calls flowing through the menu while the plan is changed three
times (once to a broken plan); no call fails, old calls finish on their version, new calls follow
the new one.

The calls come in waves, each started once the daemon has taken the edit before it:
  v1: 4 calls | edit -> v2 (the version prompt changes) | 4 calls | edit -> broken (refused) |
  2 calls (still v2) | edit -> v3 (version prompt and goodbye change) | 2 calls.
Every call presses 1 three seconds in, while the plans change under the calls before it.
"""

from __future__ import annotations

import asyncio
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ivr.lab import prompts as lab_prompts
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.plan.load import parse_plan
from ivr.plan.nodes import HangupNode, MenuNode, PlayNode
from ivr.plan.prompts import resolve
from tests.integration.lab import AriWatch, DaemonProcess, sip_call

PLAN = REPO / "tests" / "dialplans" / "language" / "reloadlab.yaml"
V1 = PLAN.read_text(encoding="utf-8")
V2 = V1.replace("version one", "version two")
BROKEN = V2.replace('"1": done', '"1": dnoe')
V3 = V1.replace("version one", "version three").replace(
    "prompt: sound:goodbye", "prompt: sound:vm-goodbye"
)
WAVES = (("v1", 4), ("v2", 4), ("v2", 2), ("v3", 2))


def version(text: str) -> str:
    """The version the daemon gives a plan file's text."""
    return parse_plan(text, "reloadlab.yaml")[0].version


def heard(text: str) -> list[str]:
    """What a caller who presses 1 hears on this plan text: the menu, the version, goodbye."""
    spec = parse_plan(text, "reloadlab.yaml")[0].spec
    items: list[str] = []
    for name in ("start", "done", "bye"):
        node = spec.nodes[name]
        assert isinstance(node, MenuNode | PlayNode | HangupNode)
        items += node.prompt
    return [m.removeprefix("sound:") for m in resolve(spec, spec.language, items)]


def save(path: Path, text: str) -> None:
    """Write as an editor that saves atomically would: the daemon never reads half a file."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


async def test_a_reload_under_load_keeps_every_call_on_the_version_it_arrived_on(
    lab_paths: LabPaths, credentials: dict[str, str], watch: AriWatch, tmp_path: Path
) -> None:
    texts = {"v1": V1, "v2": V2, "v3": V3}
    versions = {name: version(text) for name, text in texts.items()}
    assert len(set(versions.values())) == 3
    # SIPp callers and log waits each hold a worker thread; a small machine has few by default.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=48))

    # The prompts of the edits to come: `ivr lab up` installed v1's; these add the others.
    drafts = tmp_path / "versions"
    drafts.mkdir()
    for name, text in texts.items():
        (drafts / f"{name}.yaml").write_text(text, encoding="utf-8")
    await asyncio.to_thread(lab_prompts.install, lab_paths, [drafts])

    plans = tmp_path / "plans"
    plans.mkdir()
    plan = plans / "reloadlab.yaml"
    save(plan, V1)
    daemon = DaemonProcess(credentials, tmp_path, plans)
    daemon.config.write_text(daemon.config.read_text() + "reload_poll_seconds: 0.5\n")
    daemon.start()
    calls: dict[str, asyncio.Task[int]] = {}
    waves: list[list[str]] = []

    async def log(pattern: str, after: int = 0, timeout: float = 15.0) -> str:
        return await asyncio.to_thread(daemon.wait_log, pattern, timeout, after)

    async def wave(size: int) -> None:
        """Start `size` callers at once; back when the daemon has taken every one of them."""
        callers = [f"710000035{len(calls) + i:02d}" for i in range(size)]
        for caller in callers:
            script = CallScript("310", caller, keys="1", first_key_after=3.0)
            calls[caller] = asyncio.create_task(sip_call(lab_paths, script, timeout=60))
        for caller in callers:
            await log(rf"event=call.arrived .* caller_number={caller}( |$)")
        waves.append(callers)

    async def edit(text: str, pattern: str) -> int:
        """Save the plan and wait for the daemon's verdict; the index of that log line."""
        mark = len(daemon.lines)
        save(plan, text)
        line = await log(pattern, after=mark)
        return daemon.lines.index(line, mark)

    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        await log(rf"event=daemon.started .* plans=reloadlab@{versions['v1']}")
        await wave(4)
        to_v2 = await edit(V2, rf"event=plan.reloaded plans=reloadlab@{versions['v2']}")
        await wave(4)
        refused = await edit(BROKEN, r"event=plan.reload_refused")
        assert "option '1' goes to 'dnoe': no such node" in daemon.lines[refused]
        await wave(2)
        to_v3 = await edit(V3, rf"event=plan.reloaded plans=reloadlab@{versions['v3']}")
        await wave(2)

        codes = await asyncio.gather(*calls.values())
        assert codes == [0] * len(calls), f"SIPp exit codes: {dict(zip(calls, codes, strict=True))}"
        channels = {caller: await watch.channel_of(caller) for caller in calls}
        for channel in channels.values():
            await watch.ended(channel, timeout=30)
            await log(rf"event=call.ended call={re.escape(channel)} outcome=completed")
        metrics = daemon.metrics()
    finally:
        await asyncio.to_thread(daemon.stop)

    # Each call got the version live when it arrived (per the log's order) and heard that one.
    live = versions["v1"]
    arrived_on: dict[str, tuple[str, str, int]] = {}
    for index, line in enumerate(daemon.lines):
        if reloaded := re.search(r"event=plan.reloaded plans=reloadlab@(\w+)", line):
            live = reloaded[1]
        elif arrived := re.search(r"event=call.arrived call=(\S+) .*version=(\w+)", line):
            arrived_on[arrived[1]] = (live, arrived[2], index)
    expected = {versions[name]: heard(texts[name]) for name in texts}
    for (name, _), callers in zip(WAVES, waves, strict=True):
        for caller in callers:
            channel = channels[caller]
            live_then, got, _ = arrived_on[channel]
            assert got == live_then == versions[name], (caller, name, live_then, got)
            assert watch.sounds(channel) == expected[got], (caller, name, watch.sounds(channel))

    # The first wave was mid-call when v2 went live: each still heard v1's prompt after it.
    for caller in waves[0]:
        channel = channels[caller]
        said = next(
            i
            for i, line in enumerate(daemon.lines)
            if f"event=call.prompt call={channel} node=done " in line
        )
        assert arrived_on[channel][2] < to_v2 < said, (caller, arrived_on[channel][2], to_v2, said)

    # Calls were in progress at each of the three edits.
    ended = {
        found[1]: index
        for index, line in enumerate(daemon.lines)
        if (found := re.search(r"event=call.ended call=(\S+) ", line))
    }
    for verdict in (to_v2, refused, to_v3):
        during = [c for c, (_, _, i) in arrived_on.items() if i < verdict < ended[c]]
        assert len(during) >= 2, (daemon.lines[verdict], during)

    # Two good reloads and the broken one, refused once (an atomic save is read whole).
    assert 'ivr_plan_reloads_total{result="failed"} 1.0' in metrics
    assert 'ivr_plan_reloads_total{result="ok"} 2.0' in metrics
