"""The fault suite runs only under ``scripts/faults.sh`` (``make faults``), which points the settings at the
private services started here (see ``harness.py``); ``make test`` skips this folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.faults.harness import PrivateServices, Worker

ENABLED = os.environ.get("HIGHLIGHTER_FAULTS") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]

STALE_SECONDS = 15  # the workers' JOB_STALE_SECONDS: a dead worker's job is taken over after this
RESULTS: list[dict] = []  # one row per scenario, printed as a table at the end


@pytest.fixture(scope="session", autouse=True)
def private_services() -> PrivateServices:
    services = PrivateServices(
        root=Path(os.environ["FAULTS_DIR"]),
        pg_port=int(os.environ["FAULTS_PG_PORT"]),
        redis_port=int(os.environ["FAULTS_REDIS_PORT"]),
        s3_port=int(os.environ["FAULTS_S3_PORT"]),
        s3_access_key=os.environ["S3_ACCESS_KEY_ID"],
        s3_secret_key=os.environ["S3_SECRET_ACCESS_KEY"],
    )
    services.start()
    yield services
    services.stop()


@pytest.fixture(scope="session")
def django_db_setup(private_services, django_db_setup):
    """pytest-django's test database, made on the private PostgreSQL once it runs."""
    yield


@pytest.fixture(scope="session")
def work_disk(private_services) -> Path:
    """The workers' WORK_DIR: a 64 MiB tmpfs, so a test can fill it."""
    folder = private_services.root / "work"
    folder.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.exit(f"The fault suite needs to mount a small tmpfs (as root): {mounted.stderr.decode().strip()}", 2)
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=False)


class Crew:
    """One worker per queue, so a test knows which one holds a stage's task; ``replace`` starts a new one."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.started = env, logs, 0
        self.workers = {queue: self._start(queue) for queue in ("cpu", "gpu")}

    def _start(self, queue: str) -> Worker:
        self.started += 1
        name = f"{queue}-{self.started}"
        return Worker(name, queue, self.env, self.logs / f"{name}.log").start()

    def replace(self, queue: str) -> None:
        self.workers[queue] = self._start(queue)

    def busy(self) -> bool:
        return any(w.busy() for w in self.workers.values())

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()


@pytest.fixture(scope="session")
def crew(django_db_setup, django_db_blocker, private_services, work_disk, tmp_path_factory) -> Crew:
    from tests.conftest import _test_database_url

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {**os.environ, "DATABASE_URL": database_url, "WORK_DIR": str(work_disk),
           "JOB_STALE_SECONDS": str(STALE_SECONDS)}  # fmt: skip
    crew = Crew(env, tmp_path_factory.mktemp("workers"))
    yield crew
    crew.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    columns = list(RESULTS[0])
    terminalreporter.write_sep("-", "fault suite")
    terminalreporter.write_line("| " + " | ".join(columns) + " |")
    terminalreporter.write_line("|" + "---|" * len(columns))
    for row in RESULTS:
        terminalreporter.write_line("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
