"""A password cannot be guessed at full speed: failed logins lock the username and the address
(django-axes), even the right password is refused until the cool-off is over, and a success resets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

RIGHT = "alice-password-1"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return settings.AXES_FAILURE_LIMIT


def _log_in(client, password: str, *, username: str = "alice", ip: str = "10.0.0.1", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _guess(client, times: int, **kwargs) -> list[int]:
    return [_log_in(client, f"guess-{i}", **kwargs).status_code for i in range(times)]


def test_failed_logins_lock_the_account_and_the_right_password_is_then_refused(client, alice, limit):
    assert _guess(client, limit - 1) == [200] * (limit - 1)
    locked = _log_in(client, "one-guess-too-many")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "paused for 15 minutes" in locked.content.decode()
    assert 'name="password"' in locked.content.decode()  # still the login page, with the reason on it

    response = _log_in(client, RIGHT)
    assert response.status_code == 429
    assert not _logged_in(client)
    assert AccessAttempt.objects.filter(username="alice").exists()


def test_the_account_stays_locked_from_another_address(client, alice, limit):
    _guess(client, limit, ip="10.0.0.1")
    assert _log_in(client, RIGHT, ip="10.0.0.2").status_code == 429
    assert not _logged_in(client)


def test_an_address_that_tries_many_usernames_is_locked(client, alice, limit):
    for i in range(limit):
        _log_in(client, "guess", username=f"someone-{i}", ip="10.0.0.9")
    assert _log_in(client, RIGHT, ip="10.0.0.9").status_code == 429
    assert _log_in(client, RIGHT, ip="10.0.0.10").status_code == 302  # alice elsewhere is not affected


def test_the_lock_lifts_after_the_cool_off(client, alice, limit, settings):
    _guess(client, limit)
    assert _log_in(client, RIGHT).status_code == 429
    # The cool-off passes: the attempts' time is moved back rather than the test waiting 15 minutes.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = _log_in(client, RIGHT)
    assert response.status_code == 302 and response["Location"] == reverse("video-list")
    assert _logged_in(client)


def test_a_successful_login_resets_the_count(client, alice, limit):
    _guess(client, limit - 1)
    assert _log_in(client, RIGHT).status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()

    assert _guess(client, limit - 1) == [200] * (limit - 1)
    assert _log_in(client, RIGHT).status_code == 302


def test_behind_the_proxy_failures_count_against_the_address_the_proxy_saw(client, alice, limit, settings):
    settings.BEHIND_PROXY = True
    # The client forges a first X-Forwarded-For entry; the proxy (at 10.0.0.1) appends the real one.
    for i in range(limit):
        _log_in(client, "guess", username=f"someone-{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.5")
    assert _log_in(client, RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert _log_in(client, RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302  # another client
