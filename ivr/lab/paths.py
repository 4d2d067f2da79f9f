"""Where the lab keeps its chroot, credentials and run files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import ivr

# The checkout the package runs from: its config/asterisk holds the sample PBX config.
REPO = Path(ivr.__file__).resolve().parents[1]


@dataclass(frozen=True)
class LabPaths:
    """The lab's folders. `root` survives between runs so the chroot is built once."""

    root: Path

    @classmethod
    def default(cls) -> LabPaths:
        """`$IVR_LAB_DIR`, or /var/tmp/ivr-lab."""
        return cls(Path(os.environ.get("IVR_LAB_DIR", "/var/tmp/ivr-lab")))

    @property
    def chroot(self) -> Path:
        return self.root / "sid"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.env"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def inside(self, path: str) -> Path:
        """A path inside the chroot, given as the chroot sees it."""
        return self.chroot / path.lstrip("/")
