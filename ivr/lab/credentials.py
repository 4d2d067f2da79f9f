"""The lab's ARI and AMI secrets: made fresh once per lab, never in git, handed over as env vars."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

NAMES = ("IVR_ARI_USER", "IVR_ARI_PASSWORD", "IVR_AMI_USER", "IVR_AMI_SECRET")


def ensure(path: Path) -> dict[str, str]:
    """The lab's credentials, created (mode 0600) on first use."""
    if path.exists():
        values = read(path)
        if all(name in values for name in NAMES):
            return values
    values = {
        "IVR_ARI_USER": "ivr",
        "IVR_ARI_PASSWORD": secrets.token_hex(16),
        "IVR_AMI_USER": "ivr",
        "IVR_AMI_SECRET": secrets.token_hex(16),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{name}={value}\n" for name, value in values.items())
    return values


def read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file."""
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[name.strip()] = value.strip()
    return values
