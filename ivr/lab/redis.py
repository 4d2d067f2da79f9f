"""The lab's redis-server on loopback, from Debian's own package."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from ivr.lab.paths import LabPaths

PORT = 6379


def pid(paths: LabPaths) -> int | None:
    """The lab redis-server's pid, or None."""
    try:
        value = int((paths.run / "redis.pid").read_text().strip())
        os.kill(value, 0)
    except (OSError, ValueError):
        return None
    return value


def start(paths: LabPaths, timeout: float = 10.0) -> None:
    """Start redis-server on 127.0.0.1:6379 unless it runs; wait until it answers PING."""
    if pid(paths) is None and not ping():
        data = paths.run / "redis"
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(PORT),
                "--daemonize",
                "yes",
                "--pidfile",
                str(paths.run / "redis.pid"),
                "--dir",
                str(data),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(paths.run / "redis.log"),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping():
            return
        time.sleep(0.1)
    raise TimeoutError(f"redis-server did not answer on 127.0.0.1:{PORT}")


def ping() -> bool:
    """True when something answers Redis PING on the lab port."""
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stop(paths: LabPaths, timeout: float = 10.0) -> None:
    """Stop the lab's redis-server (only the one the lab started)."""
    running = pid(paths)
    if running is None:
        return
    os.kill(running, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(running, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(running, signal.SIGKILL)
