#!/usr/bin/env python
"""Run a local SeaweedFS S3 server with credentials (never an open server) and a bucket.

    python scripts/s3server.py --dir var/s3 --port 8333 --bucket highlighter

Credentials come from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY. The server runs in the foreground
until interrupted; ``--ready-file`` is written once it answers, for scripts that wait on it.
SeaweedFS opens several ports: the S3 port, and master/volume/filer/admin ports at PORT+1100..1103
(each with a gRPC port 10000 above it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def weed_binary() -> str:
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.exists() else (shutil.which("weed") or "weed")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"SeaweedFS exited with status {proc.returncode}; see its log above.")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError as e:
            if e.code == 403:  # an anonymous request refused: the server is up and checks signatures
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"SeaweedFS did not answer on port {port} within {timeout:.0f} s.")


def create_bucket(port: int, bucket: str, access_key: str, secret_key: str) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    for attempt in range(50):
        try:
            client.head_bucket(Bucket=bucket)
            return
        except ClientError:
            try:
                client.create_bucket(Bucket=bucket)
                return
            except ClientError:
                time.sleep(0.2)
    raise SystemExit(f"Could not create bucket {bucket}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=8333)
    parser.add_argument("--bucket", default=os.environ.get("S3_BUCKET", "highlighter"))
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()
    access_key, secret_key = os.environ.get("S3_ACCESS_KEY_ID"), os.environ.get("S3_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise SystemExit("Set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: the local S3 server never runs open.")

    args.dir.mkdir(parents=True, exist_ok=True)
    config = args.dir / "s3.json"
    identity = {"name": "highlighter", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    base = args.port + 1100
    cmd = [
        weed_binary(), "mini", f"-dir={args.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={args.port}", f"-master.port={base}", f"-volume.port={base + 1}", f"-filer.port={base + 2}",
        f"-admin.port={base + 3}", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
    ]  # fmt: skip
    (args.dir / "data").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log = open(args.dir / "weed.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def stop(*_):
        # Only ask SeaweedFS to stop here; the main thread's wait() sees it exit and cleans up.
        proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        wait_ready(args.port, proc)
        create_bucket(args.port, args.bucket, access_key, secret_key)
    except SystemExit:
        proc.kill()
        raise
    print(f"S3 server ready on http://127.0.0.1:{args.port} (bucket {args.bucket}, data in {args.dir})", flush=True)
    if args.ready_file:
        args.ready_file.write_text(str(proc.pid))
    try:
        return proc.wait()
    finally:
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
