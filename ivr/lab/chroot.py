"""The lab's Debian sid chroot with Asterisk 22, SIPp and sounds, built once and cached."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ivr.lab.paths import LabPaths

MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "asterisk",
    "sip-tester",
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-ru-wav",
    "asterisk-moh-opsound-wav",
)
# Bump when PACKAGES or the build steps change, so cached chroots are rebuilt.
BUILD = "1:" + ",".join(PACKAGES)
# The mirror's sid Release file can be older than its Valid-Until; the lab is not a
# production system, so it accepts that rather than fail on a fresh machine.
APT = ("apt-get", "-o", "Acquire::Check-Valid-Until=false", "-q")


def is_built(paths: LabPaths) -> bool:
    """True when a chroot of this build is cached."""
    marker = paths.chroot / ".ivr-lab-build"
    return marker.exists() and marker.read_text() == BUILD


def build(paths: LabPaths, say: bool = True) -> None:
    """Build the chroot (about a minute and 800 MB), unless a current one is cached."""
    if is_built(paths):
        return
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is missing: apt-get install debootstrap")
    if paths.chroot.exists():
        _say(say, f"lab: removing the outdated chroot {paths.chroot}")
        _remove(paths)
    paths.root.mkdir(parents=True, exist_ok=True)
    _say(say, f"lab: debootstrap Debian sid into {paths.chroot} (once; cached afterwards)")
    _run(["debootstrap", "--variant=minbase", "sid", str(paths.chroot), MIRROR])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _say(say, "lab: installing " + " ".join(PACKAGES))
    _run(["chroot", str(paths.chroot), *APT, "update"], env)
    _run(
        ["chroot", str(paths.chroot), *APT, "install", "-y", "--no-install-recommends", *PACKAGES],
        env,
    )
    # Asterisk looks prompts up as sounds/<language>/: make `ru` find the Russian voice.
    sounds = paths.inside("/usr/share/asterisk/sounds")
    if not (sounds / "ru").exists():
        (sounds / "ru").symlink_to("ru_RU_f_IvrvoiceRU")
    (paths.chroot / ".ivr-lab-build").write_text(BUILD)


def _remove(paths: LabPaths) -> None:
    # The lab never mounts anything into the chroot; refuse to delete one that has mounts,
    # or a recursive delete would walk into the host's /dev or /proc.
    mounts = Path("/proc/mounts").read_text(encoding="utf-8")
    if str(paths.chroot) + "/" in mounts:
        raise RuntimeError(f"{paths.chroot} has mounts inside; unmount them first")
    shutil.rmtree(paths.chroot)


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed ({result.returncode}):\n{tail}")


def _say(enabled: bool, text: str) -> None:
    if enabled:
        print(text, flush=True)
