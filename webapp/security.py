"""Login throttling's two hooks (django-axes calls them; see AXES_* in settings)."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str:
    """The address that failed logins are counted against.

    Behind the TLS proxy every request comes from the proxy itself, so the client is the address the
    proxy appended last to X-Forwarded-For; the entries before it are whatever the client sent.
    """
    if settings.BEHIND_PROXY:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def lockout_message() -> str:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return (
        f"Too many failed log-ins: logging in is paused for {minutes} minute{'s' if minutes > 1 else ''}. "
        "Wait and try again, or ask an administrator to unlock your account."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The login page again with the lockout message, as 429 Too Many Requests."""
    # ``next`` is kept so the page still leads where the marketer was going; LoginView checks it.
    context = {
        "form": AuthenticationForm(request),
        "locked_out": lockout_message(),
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
