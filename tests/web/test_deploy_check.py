"""`manage.py check --deploy` is clean under the production environment the README documents."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_environment() -> dict[str, str]:
    """The README's production settings (section "Production-like setup"), with placeholder services."""
    key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))
    return {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": key,
        "ALLOWED_HOSTS": "highlighter.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://highlighter.example.com",
        "BEHIND_PROXY": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "SECURE_COOKIES": "1",
        "S3_ENDPOINT_URL": "https://s3.example.com",
        "S3_ACCESS_KEY_ID": "placeholder",
        "S3_SECRET_ACCESS_KEY": "placeholder",
    }


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "manage.py", "check", "--deploy"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_check_deploy_prints_no_warnings_in_production():
    result = _check_deploy(production_environment())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output
    assert "WARNING" not in output.upper(), output


def test_check_deploy_warns_when_https_is_left_off():
    env = production_environment()
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_COOKIES"):
        del env[name]
    result = _check_deploy(env)
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output
