"""The dial-plan language on the lab: menus, keys, silence, an order number, the shop's backend
and a language choice, with real SIP callers (SIPp, RFC 4733 keys) and `say:` prompts that
`ivr lab up` spoke and installed into the PBX.

What a caller hears is read from ARI (PlaybackStarted/PlaybackFinished per channel), where the
call went from the daemon's journal (`call.*` log lines). A prompt that played whole proves its
file is on the PBX: a missing file ends its playback at once, with a warning in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ivr.lab import prompts as lab_prompts
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.plan.load import read_plan
from ivr.plan.prompts import resolve, slug, spoken, texts
from tests.integration.lab import AriWatch, DaemonProcess, Event, free_tcp_port, sip_call

PLAN = REPO / "tests" / "dialplans" / "language" / "langlab.yaml"
SPEC = read_plan(PLAN).spec
BACKEND_URL = "http://127.0.0.1:8099/orders"
MESSAGES = "/var/log/asterisk/messages.log"


def sounds(*items: str, language: str = "en") -> list[str]:
    """The sound names prompt items play as (a node's `say:` text, a prompts: key...)."""
    return [m.removeprefix("sound:") for m in resolve(SPEC, language, list(items))]


def prompt(node: str, field: str = "prompt", language: str = "en") -> list[str]:
    """The sounds of a node's prompt list (`prompt`, `invalid`, `no_input`)."""
    return sounds(*getattr(SPEC.nodes[node], field), language=language)


def seconds(event: Event) -> float:
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Heard:
    """One call's playbacks as ARI told them: each sound with when it started and ended.

    A playback of several sounds reports PlaybackStarted for each, PlaybackContinuing when one
    gives way to the next, and PlaybackFinished after the last (or when stopped).
    """

    def __init__(self, watch: AriWatch, channel: str, paths: LabPaths) -> None:
        self.paths = paths
        self.started: list[Event] = []
        self.ends: list[float | None] = []
        # A playback whose file is missing finishes at once in state "failed".
        self.failed: list[str] = []
        playing: dict[str, int] = {}
        for item in watch.events:
            kind = item.get("type")
            if kind not in ("PlaybackStarted", "PlaybackContinuing", "PlaybackFinished"):
                continue
            if item["playback"]["target_uri"] != f"channel:{channel}":
                continue
            playback = item["playback"]["id"]
            if kind == "PlaybackFinished" and item["playback"].get("state") == "failed":
                self.failed.append(item["playback"]["media_uri"])
            if playback in playing:
                self.ends[playing.pop(playback)] = seconds(item)
            if kind == "PlaybackStarted":
                playing[playback] = len(self.started)
                self.started.append(item)
                self.ends.append(None)

    @property
    def sounds(self) -> list[str]:
        return [e["playback"]["media_uri"].removeprefix("sound:") for e in self.started]

    def start(self, index: int) -> float:
        return seconds(self.started[index])

    def lasted(self, index: int) -> float:
        """Seconds from the start of playback `index` to its end (stopped or played out)."""
        end = self.ends[index]
        assert end is not None, f"{self.sounds[index]} never ended"
        return end - self.start(index)

    def length(self, index: int) -> float:
        """The length of the sound file playback `index` played."""
        return wav_seconds(self.paths, self.sounds[index])

    def played_whole(self, index: int) -> None:
        lasted, length = self.lasted(index), self.length(index)
        assert lasted >= 0.8 * length, (
            f"{self.sounds[index]} ended after {lasted:.2f} s of its {length:.2f} s: "
            "is the file missing on the PBX?"
        )

    def cut_short(self, index: int, by: float = 1.5) -> None:
        lasted, length = self.lasted(index), self.length(index)
        assert lasted < length - by, (
            f"{self.sounds[index]} played {lasted:.2f} s of {length:.2f} s: a key should stop it"
        )


def wav_seconds(paths: LabPaths, sound: str) -> float:
    with wave.open(str(paths.inside(f"{lab_prompts.SOUNDS}/{sound}.wav"))) as audio:
        return float(audio.getnframes() / audio.getframerate())


class Backend:
    """The shop's backend for lookups: a small aiohttp server the test controls."""

    def __init__(self) -> None:
        self.port = free_tcp_port()
        self.requests: list[dict[str, str]] = []
        self.answer: dict[str, Any] = {"status": "shipped"}
        self.slow = False
        self.release = asyncio.Event()
        self.listening = False
        app = web.Application()
        app.router.add_get("/orders", self._orders)
        self.runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.listening = True

    async def stop(self) -> None:
        """Stop listening: a lookup now finds nobody there."""
        self.release.set()
        if self.listening:
            self.listening = False
            await self.runner.cleanup()

    async def _orders(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        if self.slow:
            # Longer than the lookup's timeout; the test's end lets it go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 20)
        return web.json_response(self.answer)


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    server = Backend()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def daemon(
    credentials: dict[str, str], tmp_path: Path, backend: Backend
) -> AsyncIterator[DaemonProcess]:
    """The daemon with the language plan, its lookups going to this test's backend."""
    plans = tmp_path / "plans"
    plans.mkdir()
    text = PLAN.read_text(encoding="utf-8")
    assert BACKEND_URL in text
    url = f"http://127.0.0.1:{backend.port}/orders"
    (plans / PLAN.name).write_text(text.replace(BACKEND_URL, url), encoding="utf-8")
    process = DaemonProcess(credentials, tmp_path, plans).start()
    try:
        await asyncio.to_thread(process.wait_health, 200, 20)
        yield process
    finally:
        await asyncio.to_thread(process.stop)


@pytest.fixture
def pbx_log(lab_paths: LabPaths) -> Callable[[], list[str]]:
    """Asterisk's messages.log lines written since the test began."""
    log = lab_paths.inside(MESSAGES)
    start = log.stat().st_size if log.exists() else 0

    def since() -> list[str]:
        with log.open("rb") as file:
            file.seek(start)
            return file.read().decode(errors="replace").splitlines()

    return since


Calling = Callable[..., Awaitable[tuple[Heard, list[str]]]]


@pytest.fixture
def call(
    lab_paths: LabPaths,
    daemon: DaemonProcess,
    watch: AriWatch,
    pbx_log: Callable[[], list[str]],
) -> Calling:
    """Place a call and wait for its end: what it heard, and its journal lines."""

    async def place(
        number: str, caller: str, keys: str = "", **script: Any
    ) -> tuple[Heard, list[str]]:
        sipp = asyncio.create_task(
            sip_call(lab_paths, CallScript(number, caller, keys=keys, **script), timeout=60)
        )
        channel = await watch.channel_of(caller)
        await watch.ended(channel, timeout=45)
        assert await sipp == 0, "SIPp saw the call fail"
        ended = rf"event=call.ended call={re.escape(channel)} "
        await asyncio.to_thread(daemon.wait_log, ended, 10)
        journal = [line for line in daemon.lines if f"call={channel} " in line]
        lost = [line for line in pbx_log() if "does not exist" in line]
        missing = [line for line in lost if "ivr/langlab/" in line]
        assert not missing, "the PBX lacks prompt files:\n" + "\n".join(missing)
        heard = Heard(watch, channel, lab_paths)
        assert not heard.failed, f"playbacks failed: {heard.failed}"
        return heard, journal

    return place


def logged(journal: list[str], pattern: str) -> str:
    """The journal line matching `pattern`; fails with the journal when there is none."""
    for line in journal:
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no journal line matched {pattern!r}:\n" + "\n".join(journal))


def test_lab_up_put_every_say_prompt_where_asterisk_can_read_it(
    lab_paths: LabPaths, credentials: dict[str, str]
) -> None:
    # `credentials` brought the lab up, and with it the prompts of every plan.
    expected = {m.removeprefix("sound:") for m in texts(SPEC)}
    assert len(expected) == len(list(spoken(SPEC))) > 10
    for sound in sorted(expected):
        path = lab_paths.inside(f"{lab_prompts.SOUNDS}/{sound}.wav")
        assert path.stat().st_mode & 0o777 == 0o644, path
        with wave.open(str(path)) as audio:
            shape = (audio.getframerate(), audio.getnchannels(), audio.getsampwidth())
        assert shape == (8000, 1, 2), (path, "8 kHz mono 16-bit")
    # Asterisk runs as its own user: it must be able to open them.
    first = f"{lab_prompts.SOUNDS}/{sorted(expected)[0]}.wav"
    as_asterisk = subprocess.run(
        ["chroot", str(lab_paths.chroot), "setpriv", "--reuid=asterisk", "--regid=asterisk",
         "--clear-groups", "head", "-c", "4", first],
        capture_output=True, check=False, timeout=10,
    )  # fmt: skip
    assert as_asterisk.stdout == b"RIFF", as_asterisk.stderr
    # A second install finds everything in place: nothing spoken, nothing copied.
    again = lab_prompts.install(lab_paths)
    assert (again.made, again.copied, again.removed) == (0, 0, 0)
    assert again.wanted >= len(expected)


def test_a_prompt_install_is_cached_prunes_old_texts_and_prefers_recordings(
    tmp_path: Path,
) -> None:
    # A lab of its own (no chroot needed): the plan, a recording for one text, then an edit.
    lab = LabPaths(tmp_path / "lab")
    plans, recordings = tmp_path / "plans", tmp_path / "recordings"
    plans.mkdir()
    plan = plans / "tiny.yaml"
    plan.write_text(
        'name: tiny\nnumbers: ["399"]\nnodes:\n'
        '  start: {type: play, prompt: ["say:One", "say:Two"], next: bye}\n'
        '  bye: {type: hangup, prompt: "say:Three"}\n',
        encoding="utf-8",
    )
    recorded = recordings / "tiny" / "en" / f"{slug('Two')}.sln16"
    recorded.parent.mkdir(parents=True)
    recorded.write_bytes(b"a real recording")
    first = lab_prompts.install(lab, [plans], recordings)
    assert (first.wanted, first.made, first.copied) == (3, 3, 3)
    folder = lab_prompts.target(lab) / "tiny" / "en"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{slug('One')}.wav", f"{slug('Two')}.sln16", f"{slug('Three')}.wav"]
    )
    assert (folder / f"{slug('Two')}.sln16").read_bytes() == b"a real recording"
    # Nothing changed: nothing spoken or copied.
    second = lab_prompts.install(lab, [plans], recordings)
    assert (second.made, second.copied) == (0, 0)
    # The chroot lost its copy (rebuilt): the cache puts it back without speaking again.
    (folder / f"{slug('One')}.wav").unlink()
    third = lab_prompts.install(lab, [plans], recordings)
    assert (third.made, third.copied) == (0, 1)
    # An edited text: the new one is spoken, the old file goes when the install prunes.
    plan.write_text(plan.read_text(encoding="utf-8").replace("Three", "Four"), encoding="utf-8")
    fourth = lab_prompts.install(lab, [plans], recordings, prune=True)
    assert (fourth.made, fourth.copied, fourth.removed) == (1, 1, 1)
    assert not (folder / f"{slug('Three')}.wav").exists()
    assert (folder / f"{slug('Four')}.wav").exists()


async def test_a_two_level_menu_answers_keys_pressed_during_its_prompts(call: Calling) -> None:
    # 1 during the main menu, 2 during the orders menu: each key stops the prompt it cut into.
    heard, journal = await call("300", "71000000300", keys="1,2")
    assert heard.sounds == [
        *prompt("main_menu"),
        *prompt("orders_menu"),
        *prompt("delivery"),
        *prompt("bye"),
    ]
    heard.cut_short(0)
    heard.cut_short(1)
    # The sub-menu began before the main menu's prompt could have played out.
    assert heard.start(1) - heard.start(0) < heard.length(0) - 1.5
    heard.played_whole(2)
    heard.played_whole(3)
    logged(journal, r"event=call.menu_choice .* node=main_menu option=1 target=orders_menu")
    logged(journal, r"event=call.menu_choice .* node=orders_menu option=2 target=delivery")
    logged(journal, r"event=call.ended .* outcome=completed plan=langlab node=bye")


async def test_silence_replays_the_menu_then_says_goodbye_and_hangs_up(call: Calling) -> None:
    heard, journal = await call("300", "71000000301")
    main, no_input = prompt("main_menu"), prompt("main_menu", "no_input")
    assert heard.sounds == [*main, *no_input, *main, *sounds(*SPEC.goodbye)]
    for index in range(len(heard.sounds)):
        heard.played_whole(index)
    # After each menu prompt the caller had the menu's 2 s timeout to press a key.
    first_gap = heard.start(1) - heard.start(0) - heard.lasted(0)
    assert 1.5 < first_gap < 3.5, first_gap
    last_gap = heard.start(3) - heard.start(2) - heard.lasted(2)
    assert 1.5 < last_gap < 3.5, last_gap
    logged(journal, r"event=call.menu_no_input .* node=main_menu attempt=1")
    logged(journal, r"event=call.menu_no_input .* node=main_menu attempt=2")
    logged(journal, r"event=call.menu_exhausted .* node=main_menu")
    logged(journal, r"event=call.ended .* outcome=no_choice")


async def test_a_wrong_key_is_said_to_be_invalid_then_a_good_key_counts(call: Calling) -> None:
    # 7 cuts into the main menu; 2 comes while the menu is said again after "not in the menu".
    heard, journal = await call("300", "71000000302", keys="7,w4,2")
    main = prompt("main_menu")
    assert heard.sounds == [
        *main,
        *prompt("main_menu", "invalid"),
        *main,
        *prompt("returns"),
        *prompt("bye"),
    ]
    heard.cut_short(0)
    heard.played_whole(1)
    heard.cut_short(2)
    logged(journal, r"event=call.menu_invalid .* node=main_menu attempt=1 option=7")
    logged(journal, r"event=call.menu_choice .* node=main_menu option=2 target=returns")
    logged(journal, r"event=call.ended .* outcome=completed")


async def test_wrong_keys_in_the_sub_menu_run_out_to_its_exhausted_node(call: Calling) -> None:
    # The orders menu allows one retry; a second wrong key sends the caller to `operator`.
    heard, journal = await call("300", "71000000303", keys="1,9,w4,9")
    orders = prompt("orders_menu")
    assert heard.sounds == [
        *prompt("main_menu"),
        *orders,
        *prompt("orders_menu", "invalid"),
        *orders,
        *prompt("operator"),
        *prompt("bye"),
    ]
    logged(journal, r"event=call.menu_invalid .* node=orders_menu attempt=1 option=9")
    logged(journal, r"event=call.menu_invalid .* node=orders_menu attempt=2 option=9")
    logged(journal, r"event=call.menu_exhausted .* node=orders_menu")
    logged(journal, r"event=call.node .* node=operator")
    logged(journal, r"event=call.ended .* outcome=completed")


@pytest.mark.parametrize(("key", "language"), [("2", "ru"), ("1", "en")])
async def test_the_language_chosen_is_the_language_of_the_prompts_played(
    call: Calling, key: str, language: str
) -> None:
    caller = f"7100000031{key}"
    heard, journal = await call("301", caller, keys=key)
    greeting = sounds("welcome", language=language)
    thanks = sounds("thanks", language=language)
    assert heard.sounds == [*prompt("choose_language"), *greeting, *thanks]
    assert all(s.startswith(f"ivr/langlab/{language}/") for s in [*greeting, *thanks])
    # Asterisk got the call's language with each prompt after the choice, and found the files.
    assert [e["playback"]["language"] for e in heard.started[1:]] == [language, language]
    heard.played_whole(1)
    heard.played_whole(2)
    logged(journal, rf"event=call.language .* node=choose_language language={language}")
    logged(journal, rf"event=call.prompt .* node=greeting media=sound:{greeting[0]}")


async def test_an_order_number_ending_with_hash_is_looked_up_and_the_answer_picks_the_node(
    call: Calling, backend: Backend, daemon: DaemonProcess
) -> None:
    caller = "71000000320"
    heard, journal = await call("302", caller, keys="12345#", between_keys=0.3)
    assert heard.sounds == [
        *prompt("order_number"),
        *prompt("order_lookup"),
        *prompt("shipped"),
        *prompt("bye"),
    ]
    heard.cut_short(0, by=0.5)
    heard.played_whole(2)
    # The digits went to the backend as the plan's params; the journal has only their count.
    assert backend.requests == [{"order": "12345", "caller": caller}]
    logged(journal, r"event=call.collected .* node=order_number var=order length=5")
    logged(journal, r"event=call.lookup_done .* status=200 result=ok target=shipped")
    assert not [line for line in daemon.lines if re.search(r"(?<![\w.])12345(?![\w.])", line)]


async def test_a_backend_slower_than_the_lookup_timeout_sends_the_call_to_the_fallback(
    call: Calling, backend: Backend
) -> None:
    backend.slow = True
    heard, journal = await call("302", "71000000321", keys="12345#", between_keys=0.3)
    assert heard.sounds == [
        *prompt("order_number"),
        *prompt("order_lookup"),
        *prompt("backend_down"),
        *prompt("bye"),
    ]
    heard.played_whole(2)
    assert len(backend.requests) == 1
    logged(
        journal,
        r"event=call.lookup_done .* result=failed why=(timeout|\"no answer\") target=backend_down",
    )


async def test_a_backend_that_is_down_sends_the_call_to_the_fallback(
    call: Calling, backend: Backend
) -> None:
    await backend.stop()
    heard, journal = await call("302", "71000000322", keys="12345#", between_keys=0.3)
    assert heard.sounds == [
        *prompt("order_number"),
        *prompt("order_lookup"),
        *prompt("backend_down"),
        *prompt("bye"),
    ]
    heard.played_whole(2)
    assert backend.requests == []
    logged(journal, r"event=call.lookup_done .* status=0 result=failed .*target=backend_down")
