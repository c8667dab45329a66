"""Every page carries a strict Content-Security-Policy, nosniff and a same-origin Referrer-Policy, and
no template has what that policy would block (inline scripts, event handlers, style attributes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_send_a_strict_policy_and_the_security_headers(client, alice, settings, logged_in):
    if logged_in:
        client.force_login(alice)
    response = client.get(reverse("video-list" if logged_in else "login"))
    assert response.status_code == 200
    csp = _directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    s3_origin = settings.S3_ENDPOINT_URL.rstrip("/")
    assert csp["img-src"] == ["'self'", s3_origin] and csp["media-src"] == ["'self'", s3_origin]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_nothing_inline_that_the_policy_blocks(template):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>: move it to static/js/"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler: add a listener in static/js/"
    assert not re.search(r"\sstyle\s*=", html), "style attribute: use a class in static/css/app.css"
    assert "<style" not in html, "inline <style>: move it to static/css/app.css"


def test_behind_the_tls_proxy_http_is_redirected_and_https_gets_hsts(settings, alice):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()  # after the settings: SecurityMiddleware reads them when the client first builds it

    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
