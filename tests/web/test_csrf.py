"""Every URL of the app, and the admin's login, refuses a state-changing request without the CSRF token."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from webapp.videos.models import Video

pytestmark = pytest.mark.django_db

METHODS = ["post", "put", "patch", "delete"]
# Values for the URL converters; the CSRF check runs before any view looks them up.
_ARGS = {"UUIDConverter": uuid.uuid4(), "StringConverter": "json", "IntConverter": 1, "SlugConverter": "x"}


def _app_urls() -> dict[str, str]:
    """The app's own URLs (webapp/urls.py and the videos views) by name, and the admin's login (the
    rest of the admin is Django's own, behind that login)."""
    urls = {"admin:login": reverse("admin:login")}
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLPattern):
            converters = pattern.pattern.converters.items()
            kwargs = {name: _ARGS[type(c).__name__] for name, c in converters}
            urls[pattern.name or str(pattern.pattern)] = reverse(pattern.name, kwargs=kwargs) if pattern.name else "/"
    return urls


def test_the_enumeration_covers_every_state_changing_endpoint():
    posts = {"login", "logout", "video-upload", "video-delete", "video-confirm", "track-correct", "track-hide",
             "track-undo", "renders-create", "job-cancel"}  # fmt: skip
    assert posts <= set(_app_urls())


@pytest.mark.parametrize("url", sorted(_app_urls().values()))
def test_a_request_without_the_token_is_refused(alice, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for method in METHODS:
        response = getattr(client, method)(url, data="{}", content_type="application/json")
        assert response.status_code == 403, f"{method.upper()} {url}"
        assert b"CSRF" in response.content


def test_no_view_is_exempt_from_the_check():
    patterns = get_resolver().url_patterns
    exempt = [str(p.pattern) for p in patterns if getattr(getattr(p, "callback", None), "csrf_exempt", False)]
    assert exempt == []


def test_a_delete_without_the_token_leaves_the_video_and_with_it_goes_through(alice):
    video = Video.objects.create(owner=alice, title="a.mp4", original_key="k", original_size=1, status="ready")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("video-delete", args=[video.id])

    assert client.post(url).status_code == 403
    assert Video.objects.filter(pk=video.pk).exists()

    client.get(reverse("video-list"))  # sets the CSRF cookie, as the library page does for the browser
    response = client.post(url, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    assert not Video.objects.filter(pk=video.pk).exists()


def test_a_json_call_with_the_token_in_its_header_goes_through(alice):
    video = Video.objects.create(owner=alice, title="a.mp4", original_key="k", original_size=1, status="ready")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get(reverse("video-list"))
    url = reverse("track-undo", args=[video.id])

    refused = client.post(url, data="{}", content_type="application/json")
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert refused.status_code == 403
    assert accepted.status_code == 400  # past the CSRF check: the view's own answer (nothing to undo)
