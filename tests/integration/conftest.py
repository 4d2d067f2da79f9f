"""The lab for integration tests: a real Asterisk 22 and redis-server, brought up once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ivr.lab import asterisk, lab
from ivr.lab.paths import REPO, LabPaths
from tests.integration.lab import AriWatch, DaemonProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_paths() -> LabPaths:
    return LabPaths.default()


@pytest.fixture(scope="session")
def credentials(lab_paths: LabPaths) -> Iterator[dict[str, str]]:
    was_running = asterisk.pid(lab_paths) is not None
    secrets = lab.up(lab_paths)
    yield secrets
    if not was_running and not os.environ.get("IVR_LAB_KEEP"):
        lab.down(lab_paths)


@pytest.fixture
def daemon(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(credentials, tmp_path, REPO / "tests" / "dialplans").start()
    process.wait_health(200, timeout=20)
    yield process
    process.stop()


@pytest.fixture
async def watch(credentials: dict[str, str]) -> AsyncIterator[AriWatch]:
    async with AriWatch(credentials) as watcher:
        yield watcher
