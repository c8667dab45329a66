"""Private services for the fault suite and the load test: PostgreSQL, Redis, an S3 server and Celery
workers of their own, on their own ports and folders, so that stopping them disturbs no one else.

Everything runs from a folder made by the caller (``scripts/faults.sh``, ``bench/load.py``): the
PostgreSQL cluster (``initdb``/``pg_ctl`` from ``/usr/lib/postgresql/*/bin``, run as the ``postgres``
user when we are root, since ``initdb`` refuses root), a ``redis-server`` with an append-only file
synced on every write (a production broker keeps its queue across a restart), SeaweedFS through
``scripts/s3server.py``, and the workers' logs.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql/*/bin: install PostgreSQL's server package.")
    return found[-1]


def _wait(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(0.1)


@dataclass
class PrivateServices:
    """The services, their ports (``*_port``) and their data under ``root``; ``env`` points a process at them."""

    root: Path
    pg_port: int = 55432
    redis_port: int = 56379
    # SeaweedFS also opens S3 port + 1100..1103 and those + 10000: keep the sum under 65536.
    s3_port: int = 38544
    s3_access_key: str = ""
    s3_secret_key: str = ""
    _redis: subprocess.Popen | None = field(default=None, repr=False)
    _s3: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/highlighter",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            "S3_ACCESS_KEY_ID": self.s3_access_key,
            "S3_SECRET_ACCESS_KEY": self.s3_secret_key,
        }

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self.start_redis()
        self.start_s3()

    def stop(self) -> None:
        for stop in (self.stop_s3, self.stop_redis, lambda: self.stop_postgres(mode="fast")):
            try:
                stop()
            except Exception as e:  # stop the others anyway
                print(f"stopping a private service failed: {e}", file=sys.stderr)

    # PostgreSQL -----------------------------------------------------------------------------------

    @property
    def _pg_dir(self) -> Path:
        return self.root / "postgres"

    def _as_postgres(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start_postgres(self) -> None:
        data, sockets = self._pg_dir / "data", self._pg_dir / "sockets"
        if not data.exists():
            sockets.mkdir(parents=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chmod(self.root, 0o755)  # postgres must reach its folder through ours
                for path in (self._pg_dir, sockets):
                    os.chown(path, user.pw_uid, user.pw_gid)
            subprocess.run(
                self._as_postgres([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
                check=True, capture_output=True,
            )  # fmt: skip
        options = f"-p {self.pg_port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        cmd = [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(self._pg_dir / "log"), "-w", "-t", "60", "-o", options, "start"]
        subprocess.run(self._as_postgres(cmd), check=True, capture_output=True)

    def create_database(self, name: str) -> None:
        cmd = [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", name]
        subprocess.run(cmd, check=True, capture_output=True)

    def stop_postgres(self, *, mode: str = "immediate") -> None:
        """``immediate``: as a crash (no shutdown checkpoint, clients cut off); ``fast``: clean."""
        data = self._pg_dir / "data"
        if (data / "postmaster.pid").exists():
            cmd = [_pg_bin("pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]
            subprocess.run(self._as_postgres(cmd), check=True, capture_output=True)

    # Redis ----------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        folder = self.root / "redis"
        folder.mkdir(exist_ok=True)
        cmd = [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
               "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "always", "--save", ""]  # fmt: skip
        with open(folder / "log", "ab") as log:
            self._redis = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        import redis

        client = redis.Redis(port=self.redis_port, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        _wait(up, timeout=30, what="the private Redis")

    def stop_redis(self, *, sig: int = signal.SIGKILL) -> None:
        """SIGKILL: as a crash; the append-only file has every acknowledged write."""
        if self._redis is not None and self._redis.poll() is None:
            self._redis.send_signal(sig)
            self._redis.wait(30)

    # S3 -------------------------------------------------------------------------------------------

    def start_s3(self) -> None:
        ready = self.root / "s3.ready"
        ready.unlink(missing_ok=True)
        env = {**os.environ, "S3_ACCESS_KEY_ID": self.s3_access_key, "S3_SECRET_ACCESS_KEY": self.s3_secret_key}
        cmd = [sys.executable, str(ROOT / "scripts" / "s3server.py"), "--dir", str(self.root / "s3"),
               "--port", str(self.s3_port), "--ready-file", str(ready)]  # fmt: skip
        with open(self.root / "s3.out", "ab") as log:
            self._s3 = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: ready.exists() or self._s3.poll() is not None, timeout=120, what="the private S3 server")
        if not ready.exists():
            raise RuntimeError("The private S3 server did not start:\n" + (self.root / "s3.out").read_text()[-2000:])

    def stop_s3(self) -> None:
        if self._s3 is not None and self._s3.poll() is None:
            self._s3.terminate()  # s3server.py stops SeaweedFS and waits for it
            self._s3.wait(60)


class Worker:
    """A real Celery worker process on ``queues``; ``kill()`` is SIGKILL to its whole process group
    (the worker and its ffmpeg children), as when a machine dies."""

    def __init__(self, name: str, queues: str, env: dict[str, str], log: Path) -> None:
        self.name, self.queues, self.env, self.log = name, queues, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        cmd = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", self.queues,
               "--pool", "solo", "-l", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
               "-n", f"{self.name}@%h"]  # fmt: skip
        self.log.write_bytes(b"")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait(lambda: b"ready." in self.log.read_bytes() or self.proc.poll() is not None, timeout=120, what=self.name)
        if self.proc.poll() is not None:
            raise RuntimeError(f"The worker {self.name} did not start:\n{self.log.read_text()[-3000:]}")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def busy(self) -> bool:
        """Whether a task this worker received has not ended yet (read from its log)."""
        text = self.log.read_text(errors="replace")
        received = Counter(re.findall(r"Task [\w.]+\[([\w-]+)\] received", text))
        ended = Counter(re.findall(r"Task [\w.]+\[([\w-]+)\] (?:succeeded|raised|retry|failed)", text))
        return bool(received - ended)  # a retried task is received again under the same id
