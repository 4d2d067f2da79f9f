"""ARI requests and events per call on the lab, and where the daemon's CPU goes.

    sudo .venv/bin/python bench/ari_requests.py --calls 20 [--profile /tmp/ari.txt]

Brings the lab up (IVR_LAB_DIR, as the lab tests do), runs the daemon behind a counting
proxy (tests/integration/ari_traffic.py) and places batches of calls on the benchmark's path:
menu -> key 1 -> queue with music -> one of 4 SIPp agents answers -> bridged -> talk -> the
agent hangs up (`agent_hangs_up`) or the caller does (`caller_hangs_up`), and abandons (key 2
-> a queue whose agent is on a break, announcements every 2 s -> the caller hangs up). Prints
per batch the REST requests and ARI events per call, by kind, the daemon's CPU per call and
its warnings. With --profile, py-spy samples the daemon meanwhile and the file gets its
folded stacks; the share of samples in the ARI client, the event reading, AMI and the core
is printed.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from ivr.lab import asterisk, lab
from ivr.lab.paths import REPO, LabPaths

sys.path.insert(0, str(REPO))
from tests.integration.ari_traffic import SCRIPTS, TrafficLab

# Parts of the daemon, by what a sample's stack passes through (a sample may be in several).
PARTS = [
    ("ARI REST client (aioari/aioswagger11 before, ivr/pbx/ari/client.py now)",
     ("aioari/", "aioswagger11/", "ivr/pbx/ari/client.py")),
    ("ARI commands (AriPbx._after)", ("AriPbx._after (",)),
    ("ARI events read (AriPbx._read)", ("AriPbx._read (",)),
    ("aiohttp (REST and the event socket)", ("aiohttp/",)),
    ("AMI (panoramisk, ivr/pbx/ami)", ("panoramisk/", "ivr/pbx/ami/")),
    ("core (switchboard, calls, routing)", ("ivr/switchboard/", "ivr/calls/", "ivr/routing/")),
    ("journal and store", ("ivr/journal/", "ivr/store/")),
    ("logging", ("logging/",)),
]  # fmt: skip


def profile_summary(folded: Path) -> list[str]:
    """The share of py-spy's samples passing through each part, from its folded stacks."""
    parts: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for name, marks in PARTS:
            if any(mark in stack for mark in marks):
                parts[name] += int(count)
    lines = [f"profile: {total} samples (py-spy, 100 a second of the daemon's busy threads)"]
    lines += [f"  {parts[name] / max(1, total):6.1%} {parts[name]:6d}  {name}" for name, _ in PARTS]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="calls per batch")
    parser.add_argument("--rate", type=float, default=2.0, help="calls a second")
    parser.add_argument("--kinds", default=",".join(SCRIPTS), help="batches, comma-separated")
    parser.add_argument("--profile", type=Path, help="py-spy's folded stacks go here")
    options = parser.parse_args(argv)
    paths = LabPaths.default()
    was_running = asterisk.pid(paths) is not None
    credentials = lab.up(paths)
    workdir = Path(tempfile.mkdtemp(prefix="ivr-ari-requests-"))
    spy: subprocess.Popen[bytes] | None = None
    try:
        with TrafficLab(paths, credentials, workdir) as traffic:
            if options.profile:
                tool = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen(
                    [tool, "record", "--pid", str(traffic.pid), "--format", "raw",
                     "--nonblocking", "-o", str(options.profile)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            for kind in options.kinds.split(","):
                print(traffic.run(kind, options.calls, options.rate).text(), flush=True)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
                print("\n".join(profile_summary(options.profile)))
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        if not was_running:
            lab.down(paths)
    print(f"daemon's config and journal: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
