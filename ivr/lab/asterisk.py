"""The lab's Asterisk 22: install the sample config, start, wait until ready, stop."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from ivr.lab.paths import REPO, LabPaths

ARI_URL = "http://127.0.0.1:8088"
OWNED = (
    "/etc/asterisk",
    "/var/lib/asterisk",
    "/var/log/asterisk",
    "/var/spool/asterisk",
    "/var/spool/asterisk/recording",
    "/run/asterisk",
)


def install_config(
    paths: LabPaths, credentials: dict[str, str], source: Path | None = None
) -> None:
    """Copy config/asterisk/*.conf into the chroot, the lab's secrets in place of CHANGE_ME."""
    source = source or REPO / "config" / "asterisk"
    target = paths.inside("/etc/asterisk")
    secret_for = {
        "ari.conf": credentials["IVR_ARI_PASSWORD"],
        "manager.conf": credentials["IVR_AMI_SECRET"],
    }
    for conf in sorted(source.glob("*.conf")):
        text = conf.read_text()
        if conf.name in secret_for:
            text = text.replace("CHANGE_ME", secret_for[conf.name])
        out = target / conf.name
        out.write_text(text)
        os.chmod(out, 0o640)


def pid(paths: LabPaths) -> int | None:
    """The running Asterisk's process id, or None."""
    pidfile = paths.inside("/run/asterisk/asterisk.pid")
    try:
        value = int(pidfile.read_text().strip())
        os.kill(value, 0)
        # A stale pid file may name an unrelated process after a reboot.
        exe = os.readlink(f"/proc/{value}/exe")
    except (OSError, ValueError):
        return None
    return value if exe.endswith("asterisk") and _alive(value) else None


def start(paths: LabPaths, credentials: dict[str, str], timeout: float = 60.0) -> None:
    """Start Asterisk in the chroot (no-op when it already runs) and wait until ARI answers."""
    if pid(paths) is None:
        for folder in OWNED:
            paths.inside(folder).mkdir(parents=True, exist_ok=True)
        chroot = ["chroot", str(paths.chroot)]
        subprocess.run([*chroot, "chown", "-R", "asterisk:asterisk", *OWNED], check=True)
        # Without -f Asterisk forks into the background and writes its pid file.
        subprocess.run(
            [*chroot, "asterisk", "-U", "asterisk", "-G", "asterisk"],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    wait_ready(credentials, timeout)


def wait_ready(credentials: dict[str, str], timeout: float = 60.0) -> None:
    """Poll ARI's ping until it answers with the lab's credentials."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if ping(credentials):
                return
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"Asterisk's ARI did not answer within {timeout:.0f} s ({last})")


def ping(credentials: dict[str, str]) -> bool:
    """True when ARI answers /ari/asterisk/ping."""
    token = f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}"
    request = urllib.request.Request(
        f"{ARI_URL}/ari/asterisk/ping",
        headers={"Authorization": "Basic " + base64.b64encode(token.encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return bool(response.status == 200)


def stop(paths: LabPaths, timeout: float = 15.0) -> None:
    """Stop Asterisk; kill it if it does not go within `timeout`."""
    running = pid(paths)
    if running is None:
        return
    subprocess.run(
        ["chroot", str(paths.chroot), "asterisk", "-rx", "core stop now"],
        check=False,
        capture_output=True,
        timeout=timeout,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(running):
            return
        time.sleep(0.1)
    os.kill(running, signal.SIGKILL)


def cli(paths: LabPaths, command: str) -> str:
    """Run an Asterisk CLI command (asterisk -rx) and return its output."""
    result = subprocess.run(
        ["chroot", str(paths.chroot), "asterisk", "-rx", command],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout


def _alive(process: int) -> bool:
    try:
        with open(f"/proc/{process}/stat") as stat:
            # A zombie counts as gone.
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
