"""The daemon as a systemd service (systemd/ivr.service), on the lab: its notices to a
NOTIFY_SOCKET of the test's own (readiness only once ARI and AMI are up, status, watchdog
pings, reload, stop), and the daemon in the unit's sandbox: an unprivileged user, the code
read-only to it, only its state folder writable. scripts/service-boot-test boots the real
unit under systemd in a container."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import AriWatch, DaemonProcess, free_tcp_port, sip_call
from tests.integration.pair import Tap
from tests.unit.service.notify_listener import NotifyListener

WATCHDOG_USEC = 1_000_000  # WatchdogSec=1s here: pings every 0.5 s
NOBODY = 65534


class LateAmi(Tap):
    """A relay to Asterisk's AMI on a port chosen beforehand, opened only when the test says:
    until then the daemon's AMI link cannot come up."""

    def open_on(self, port: int) -> LateAmi:
        self._thread.start()
        serving = asyncio.start_server(self._accept, "127.0.0.1", port)
        self._server = asyncio.run_coroutine_threadsafe(serving, self._loop).result(5)
        self.port = port
        return self


class ServiceDaemon(DaemonProcess):
    """`ivr run` with systemd's environment: NOTIFY_SOCKET and WATCHDOG_USEC."""

    def __init__(
        self,
        listener: NotifyListener,
        credentials: dict[str, str],
        workdir: Path,
        dialplans: Path,
        agents: Path | None = None,
    ) -> None:
        super().__init__(credentials, workdir, dialplans, agents)
        self.env.update(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC=str(WATCHDOG_USEC))

    def command(self) -> list[str]:
        return [sys.executable, "-m", "ivr", "run", "--config", str(self.config)]

    def start(self) -> ServiceDaemon:
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self


# The unit's file system, in a mount namespace of the daemon's own: everything read-only
# (ProtectSystem=strict) but its state folder, an empty /root and /home (ProtectHome=) but for
# the Python this virtualenv was made with (here in /root/.pyenv), and umask 077 (UMask=).
# Then the user: nobody, no groups, no capabilities, no new privileges. Every step execs, so
# the daemon keeps the pid that signals and notices are checked by.
SANDBOX = r"""
set -e
state=$1 python=$2 handle=$3
shift 3
if [ -n "$python" ]; then mount --bind "$python" "$handle"; fi
mount -t tmpfs -o mode=0755,size=1m tmpfs /root
mount -t tmpfs -o mode=0755,size=1m tmpfs /home
if [ -n "$python" ]; then mkdir -p "$python" && mount --bind "$handle" "$python"; fi
mount --bind "$state" "$state"
mount -o remount,bind,ro /
umask 077
exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
  --no-new-privs "$@"
"""


class SandboxedDaemon(ServiceDaemon):
    """The daemon as the unit runs it (SANDBOX): its config and the code read-only to it, one
    state folder of its own (0700) for the store, voicemail and recordings."""

    def __init__(self, listener: NotifyListener, credentials: dict[str, str], root: Path) -> None:
        etc, self.state, self.python_handle = root / "etc", root / "state", root / "python"
        etc.mkdir()
        self.python_handle.mkdir()
        self.state.mkdir(mode=0o700)
        os.chown(self.state, NOBODY, NOBODY)
        super().__init__(listener, credentials, etc, REPO / "dialplans", REPO / "agents")
        self.store = self.state / "ivr.sqlite3"
        self.config.write_text(
            f"http: {{listen: 127.0.0.1:{self.port}}}\n"
            f"dialplans: {REPO / 'dialplans'}\n"
            f"agents: {REPO / 'agents'}\n"
            f"api: {{tokens: [{self.token}]}}\n"
            f"store: {{sqlite: {self.store}}}\n"
            "reconnect: {initial: 0.2, maximum: 2}\n"
            "drain_seconds: 3\n"
            f"callbacks: {{voicemail_folder: {self.state / 'voicemail'}, "
            "dial: 'PJSIP/{number}@customer'}\n"
            f"recordings: {{folder: {self.state / 'recordings'}}}\n"
        )
        self.config.chmod(0o644)
        self.env["HOME"] = str(self.state)

    def command(self) -> list[str]:
        python = Path(sys.base_prefix)
        hidden = any(python.is_relative_to(home) for home in (Path("/root"), Path("/home")))
        keep = str(python) if hidden else ""
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sh",
                str(self.state), keep, str(self.python_handle), *super().command()]  # fmt: skip


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    with NotifyListener() as listening:
        yield listening


@pytest.fixture
def sandbox() -> Iterator[Path]:
    # Not tmp_path: pytest's folders are 0700 root's, closed to nobody.
    root = Path(tempfile.mkdtemp(prefix="ivr-service-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_ready_comes_once_ari_and_ami_are_up_then_status_and_watchdog_pings(
    credentials: dict[str, str], listener: NotifyListener, tmp_path: Path
) -> None:
    ami_port = free_tcp_port()
    daemon = ServiceDaemon(listener, credentials, tmp_path, REPO / "tests" / "dialplans")
    daemon.env["IVR_AMI_PORT"] = str(ami_port)  # nothing listens there yet
    relay = LateAmi("ami")
    daemon.start()
    try:
        listener.wait_field("STATUS", "starting: waiting for ami", timeout=20)
        daemon.wait_log(r"event=ari.connected")
        assert daemon.health()[1]["ami"] is False
        assert not any("READY" in n.fields for n in listener.snapshot())

        relay.open_on(ami_port)
        _, ready = listener.wait_field("READY", "1", timeout=20)
        assert ready.fields["STATUS"] == "active: 0 calls, ari up, ami up"
        daemon.wait_log(r"event=ami.connected")
        code, health = daemon.health()
        assert (code, health["ok"], health["ari"], health["ami"]) == (200, True, True, True)

        # Pings every half WATCHDOG_USEC, each well inside it, all from the daemon itself.
        listener.wait_for(lambda _: len(listener.pings(ready.at)) >= 6, 20, "six pings")
        period = WATCHDOG_USEC / 2e6
        pings = listener.pings(ready.at)
        assert period * 0.8 < statistics.median(gaps(pings)) < period * 1.5, gaps(pings)
        assert max(gaps(pings)) < WATCHDOG_USEC / 1e6, gaps(pings)
        assert daemon.process is not None
        assert {n.pid for n in listener.snapshot()} == {daemon.process.pid}
    finally:
        assert daemon.stop() == 0
        relay.close()
    assert any("STOPPING" in n.fields for n in listener.snapshot())


async def test_the_sandboxed_daemon_takes_a_call_reloads_and_stops(
    lab_paths: LabPaths,
    credentials: dict[str, str],
    watch: AriWatch,
    listener: NotifyListener,
    sandbox: Path,
) -> None:
    daemon = SandboxedDaemon(listener, credentials, sandbox)
    daemon.start()
    try:
        await asyncio.to_thread(listener.wait_field, "READY", "1", 30)
        assert daemon.process is not None
        pid = daemon.process.pid
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"Uid:\t{NOBODY}\t{NOBODY}" in status and "NoNewPrivs:\t1" in status
        assert "CapEff:\t0000000000000000" in status and "CapBnd:\t0000000000000000" in status

        # A real call through the example shop plan; the status counts it while it lasts.
        caller = "79005558101"
        script = CallScript("100", caller, keys="1,w3,2", hang_up_after=4)
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of(caller)
        await asyncio.to_thread(listener.wait_field, "STATUS", "active: 1 call, ari up, ami up", 20)
        assert await call == 0
        daemon.wait_log(rf"event=call.ended call={channel} ")
        await asyncio.to_thread(listener.wait_field, "STATUS", "active: 0 calls, ari up, ami up")
        kinds = [kind for call_id, kind, _ in daemon.journal() if call_id == channel]
        assert kinds[0] == "arrived" and kinds[-1] == "ended", kinds

        # SIGHUP: RELOADING=1, the plans read again, then READY=1.
        mark = len(listener.snapshot())
        lines = len(daemon.lines)
        daemon.process.send_signal(signal.SIGHUP)
        reloading, _ = await asyncio.to_thread(listener.wait_field, "RELOADING", "1", 20, mark)
        daemon.wait_log(r"event=plan.reloaded plans=shop@", after=lines)
        ready, _ = await asyncio.to_thread(listener.wait_field, "READY", "1", 20, reloading)

        # SIGTERM: STOPPING=1 as the drain begins, then exit 0.
        daemon.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(listener.wait_field, "STOPPING", "1", 20, ready)
        assert await asyncio.to_thread(daemon.process.wait, 20) == 0
    finally:
        daemon.stop()

    # Every notice came from the daemon's own pid as nobody (systemd's NotifyAccess=main).
    assert {(n.pid, n.uid) for n in listener.snapshot()} == {(pid, NOBODY)}
    # Nothing it could not do: no error logged (a refused write would be one).
    assert [line for line in daemon.lines if "level=error" in line] == []
    # What it wrote is under its state folder, nobody's and private (UMask=0077).
    written = [daemon.state, *daemon.state.rglob("*")]
    assert daemon.store in written
    for path in written:
        info = path.stat()
        assert info.st_uid == NOBODY, path
        assert stat.S_IMODE(info.st_mode) & 0o077 == 0, f"{path}: {oct(info.st_mode)}"
