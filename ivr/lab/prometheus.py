"""A throwaway Prometheus (Debian's package) for lab runs: scrapes the daemon, loads our rules.

It runs on its own port with its own data folder, so a system Prometheus that Debian may
have started on :9090 neither gets in the way nor sees the lab's series.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from ivr.lab.paths import REPO

CONFIG = REPO / "config" / "prometheus" / "prometheus.yml"
JOB = "shop-ivr"
Sample = dict[str, Any]
"""One element of an instant query's result: `metric` (labels) and `value` ([time, "text"])."""


def config(target: str, interval: float = 1.0, template: Path = CONFIG) -> dict[str, Any]:
    """`template` (our shipped config) made to scrape `target` and evaluate rules every `interval`.

    Rule files become absolute paths, so the config works from any folder.
    """
    doc: dict[str, Any] = yaml.safe_load(template.read_text())
    every = f"{interval:g}s"
    doc["global"] |= {"scrape_interval": every, "evaluation_interval": every}
    doc["rule_files"] = [str((template.parent / f).resolve()) for f in doc["rule_files"]]
    (job,) = [j for j in doc["scrape_configs"] if j["job_name"] == JOB]
    job |= {"scrape_interval": every, "scrape_timeout": every}
    job["static_configs"] = [{"targets": [target]}]
    return doc


def value(sample: Sample) -> float:
    """The number of an instant sample (NaN and ±Inf included)."""
    return float(sample["value"][1])


def has_data(result: list[Sample]) -> bool:
    """At least one sample, and at least one that is a number (not NaN)."""
    return any(not math.isnan(value(s)) for s in result)


class LabPrometheus:
    """`prometheus` as a child process on 127.0.0.1:<free port>, queried over its HTTP API."""

    def __init__(self, workdir: Path, target: str, interval: float = 1.0) -> None:
        self.workdir = workdir
        self.port = _free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = workdir / "prometheus.yml"
        self.log_file = workdir / "prometheus.log"
        self.interval = interval
        self.target = target
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> LabPrometheus:
        """Write the config, start Prometheus, return once it says it is ready."""
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus not found; install it with: apt-get install prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(config(self.target, self.interval)))
        argv = [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus did not become ready:\n{self.log()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LabPrometheus:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log(self) -> str:
        """The tail of Prometheus' own log."""
        return self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a success, RuntimeError with the error otherwise."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query's vector (a scalar comes back as one sample without labels)."""
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = self.api("query", **params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[Sample] = data["result"]
        return result

    def wait_for(
        self, expr: str, holds: Callable[[list[Sample]], bool], timeout: float = 30.0
    ) -> list[Sample]:
        """Query `expr` until `holds(result)`; the result, or AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if holds(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr!r} still {result} after {timeout} s\n{self.log()}")
            time.sleep(self.interval / 4)

    def rule_groups(self) -> list[dict[str, Any]]:
        """/api/v1/rules: each group with its rules, their health and last evaluation."""
        groups: list[dict[str, Any]] = self.api("rules")["groups"]
        return groups

    def now(self) -> float:
        """Prometheus' clock (the same host, but say so): `time()` evaluated now."""
        return value(self.query("time()")[0])


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
