"""Load on loopback: simulated marketers upload short videos and poll the pages and APIs while real
workers process them. Prints JSON: p50/p95/max latency per page or API, errors, and whether every
job finished.

    .venv/bin/python bench/load.py [--users 20] [--seconds 2] [--timeout 1200]

Everything is private and thrown away after: PostgreSQL, Redis, the S3 server and the workers come
from ``tests/faults/harness.py`` (ports 55442, 56389, 38574), the web app is Django's threaded
``runserver`` on port 8591 (no WSGI server is installed here; any other would serve more at once).
Each user is a thread: log in, upload one clip (``auto_confirm``: tracking starts at once, one
render at the source framing), then every second the status API, every fifth poll the video's page,
and once the track is done a chunk of its frames API, until the upload is done or failed.
Latency is wall time per request as the client sees it, on a machine whose cores the workers share.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.harness import PrivateServices, Worker  # noqa: E402

WEB_PORT = 8591
POLL_SECONDS = 1.0


class Stats:
    """Latencies (ms) per endpoint and the errors seen, shared by the user threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def add(self, name: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latency[name].append(ms)
            if error:
                self.errors.append(f"{name}: {error}")

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            name: {"n": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "max_ms": round(max(v), 1)}
            for name, v in sorted(self.latency.items())
        }


class Marketer(threading.Thread):
    def __init__(self, base: str, username: str, password: str, clip: Path, stats: Stats, deadline: float) -> None:
        super().__init__(name=username, daemon=True)
        self.base, self.username, self.password, self.clip = base, username, password, clip
        self.stats, self.deadline = stats, deadline
        self.cookies = CookieJar()
        self.http = build_opener(HTTPCookieProcessor(self.cookies))
        self.phase = "not started"
        self.uploaded_at = self.finished_at = 0.0

    def _csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def call(self, name: str, path: str, *, data: bytes | None = None, headers: dict | None = None,
             expect: int = 200) -> bytes:  # fmt: skip
        request = Request(self.base + path, data=data, headers=headers or {})
        started = time.monotonic()
        error, body = None, b""
        try:
            with self.http.open(request, timeout=120) as response:
                body, status = response.read(), response.status
        except HTTPError as e:
            body, status = e.read(), e.code
        except (URLError, OSError) as e:
            status, error = 0, str(e)
        if error is None and status != expect:
            error = f"HTTP {status}: {body[:200]!r}"
        self.stats.add(name, (time.monotonic() - started) * 1000, error)
        if error:
            raise RuntimeError(error)
        return body

    def run(self) -> None:
        try:
            self._run()
        except RuntimeError as e:
            self.phase = f"stopped: {e}"

    def _run(self) -> None:
        self.call("GET login page", "/accounts/login/")
        form = urlencode({"username": self.username, "password": self.password, "csrfmiddlewaretoken": self._csrf()})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        self.call("POST login", "/accounts/login/", data=form.encode(), headers=headers)  # follows the redirect
        body, content_type = _multipart(
            {"description": "the red ball", "style": "spotlight", "aspect": "source", "motion": "default",
             "auto_confirm": "on"},  # fmt: skip
            self.clip,
        )
        headers = {"Content-Type": content_type, "Accept": "application/json", "X-CSRFToken": self._csrf()}
        answer = json.loads(self.call("POST upload", "/videos/new/", data=body, headers=headers, expect=201))
        self.uploaded_at = time.monotonic()
        video_id = re.search(r"/videos/([0-9a-f-]{36})/", answer["url"]).group(1)
        polls = 0
        while time.monotonic() < self.deadline:
            state = json.loads(self.call("GET status API", f"/api/videos/{video_id}/status"))
            self.phase = state["phase"]
            track = state.get("track")
            if track and track.get("status") == "done":
                count = max(1, state["video"]["frame_count"])
                start = (polls * 50) % count
                self.call("GET frames API", f"/api/tracks/{track['id']}/frames?start={start}&count=50")
            if polls % 5 == 0:
                self.call("GET video page", f"/videos/{video_id}/")
            if self.phase in ("done", "failed", "cancelled"):
                self.finished_at = time.monotonic()
                self.call("GET library page", "/videos/")
                return
            polls += 1
            time.sleep(POLL_SECONDS)


def _multipart(fields: dict[str, str], file: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file.name}"\r\n'
        f"Content-Type: video/mp4\r\n\r\n".encode() + file.read_bytes() + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            build_opener().open(url, timeout=2).read()
            return
        except (URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"The web app did not answer on {url}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each uploaded clip")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds before unfinished jobs count as not finished")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="highlighter-load."))
    services = PrivateServices(root, pg_port=55442, redis_port=56389, s3_port=38574,
                               s3_access_key=f"load{int(time.time())}", s3_secret_key=secrets.token_hex(16))  # fmt: skip
    env = {**os.environ, **services.env, "SECRET_KEY": secrets.token_hex(32), "S3_BUCKET": "highlighter-load",
           "WORK_DIR": str(root / "work"), "OMP_NUM_THREADS": "1", "DEBUG": "0"}  # fmt: skip
    password = secrets.token_urlsafe(12)
    workers: list[Worker] = []
    web: subprocess.Popen | None = None
    try:
        services.start()
        services.create_database("highlighter")
        manage = [sys.executable, str(ROOT / "manage.py")]
        # Their output would mix into the JSON on stdout.
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, stdout=subprocess.DEVNULL)
        create_users = (
            "from django.contrib.auth import get_user_model; U = get_user_model()\n"
            f"for i in range({args.users}): U.objects.create_user(f'user{{i}}', password={password!r})"
        )
        subprocess.run([*manage, "shell", "-c", create_users], env=env, check=True, stdout=subprocess.DEVNULL)
        workers = [Worker(q, q, env, root / f"{q}.log").start() for q in ("cpu", "gpu")]
        web_log = open(root / "web.log", "wb")
        web = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"], env=env,
                               stdout=web_log, stderr=subprocess.STDOUT)  # fmt: skip
        base = f"http://127.0.0.1:{WEB_PORT}"
        _wait_http(base + "/accounts/login/", web)

        from highlighter.eval.synthetic import make_moving_object_video

        clip = root / "clip.mp4"
        make_moving_object_video(clip, width=320, height=180, fps=25, seconds=args.seconds, colour="red", seed=5)
        stats = Stats()
        started = time.monotonic()
        users = [Marketer(base, f"user{i}", password, clip, stats, started + args.timeout) for i in range(args.users)]
        for user in users:
            user.start()
        for user in users:
            user.join()
        wall = time.monotonic() - started
        phases = defaultdict(int)
        for user in users:
            phases[user.phase] += 1
        turnaround = sorted(u.finished_at - u.uploaded_at for u in users if u.finished_at)
        print(json.dumps({
            "users": args.users,
            "clip": f"{args.seconds:g} s, 320x180, 25 fps",
            "wall_s": round(wall, 1),
            "every_job_finished": phases.get("done", 0) == args.users,
            "phases": dict(phases),
            "upload_to_done_s": {
                "p50": round(turnaround[len(turnaround) // 2], 1) if turnaround else None,
                "max": round(turnaround[-1], 1) if turnaround else None,
            },
            "errors": len(stats.errors),
            "error_samples": stats.errors[:5],
            "latency": stats.summary(),
        }, indent=2))  # fmt: skip
        return 0 if phases.get("done", 0) == args.users and not stats.errors else 1
    finally:
        if web is not None:
            web.terminate()
            web.wait(30)
        for worker in workers:
            worker.stop()
        services.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
