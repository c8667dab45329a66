"""Django settings. Every deployment difference comes from environment variables (see README)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# No default: a deployment without its own key must fail loudly, not run with a known one.
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "webapp.videos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout noticed during the login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'highlighter.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web app and the worker write the same file: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes' backend comes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "video-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# HTTPS in production (README, "Production-like setup"). Off by default so `make run` works over HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto and appends the client's address to
# X-Forwarded-For. Only set it when such a proxy is really in front: clients could forge both headers.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username, or from
# one address, that username or address is refused, even with the right password, for
# LOGIN_COOLOFF_MINUTES; a successful login clears the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = env.list("LOGIN_LOCKOUT_BY", default=["username", "ip_address"])
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "webapp.security.client_ip"
AXES_LOCKOUT_CALLABLE = "webapp.security.lockout_response"

# Uploads: anything over 2.5 MB goes to a temporary file on disk, never into memory; the
# size limit is enforced while the bytes arrive (webapp.videos.uploads.SizeLimitUploadHandler).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=2 * 1024**3)
# What a video may be (highlighter.media.Limits): reels and brand films, minutes not hours, up to 4K.
# Checked from the probe before anything is stored, and again while the worker decodes it.
UPLOAD_MAX_SIDE = env.int("UPLOAD_MAX_SIDE", default=4096)  # pixels, the longest side
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=4096 * 2160)  # pixels a frame
UPLOAD_MAX_FPS = env.float("UPLOAD_MAX_FPS", default=120)  # frames a second
UPLOAD_MAX_SECONDS = env.float("UPLOAD_MAX_SECONDS", default=600)
UPLOAD_MAX_FRAMES = env.int("UPLOAD_MAX_FRAMES", default=36000)  # ten minutes at 60 frames a second
FILE_UPLOAD_HANDLERS = ["webapp.videos.uploads.SizeLimitUploadHandler"]
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# S3 (SeaweedFS locally, any S3-compatible service in production).
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="http://127.0.0.1:8333")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY")
S3_BUCKET = env.str("S3_BUCKET", default="highlighter")
S3_REGION = env.str("S3_REGION", default="us-east-1")
# Presigned download and playback links live this long (seconds).
S3_PRESIGN_SECONDS = env.int("S3_PRESIGN_SECONDS", default=300)

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, never
# inline; pictures and videos also from the S3 endpoint, where presigned thumbnails and playback live.
_S3_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(S3_ENDPOINT_URL))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", _S3_ORIGIN],
        "media-src": ["'self'", _S3_ORIGIN],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Celery. The embedded default is a broker in files under var/, so `make run` needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_FOLDER = env.path("BROKER_FOLDER", default=str(VAR_DIR / "broker"))
# Longest job we expect, in seconds: a task still unacknowledged after this is delivered again.
JOB_VISIBILITY_TIMEOUT = env.int("JOB_VISIBILITY_TIMEOUT", default=6 * 3600)
# A running job whose worker has not reported for this long is taken over by a redelivered task.
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=300)
# Tasks in flight per queue, taken from owners in turn (webapp.videos.dispatch): one per worker process
# on that queue. More than the workers lets one account's backlog wait in the broker ahead of others.
JOB_SLOTS = env.dict("JOB_SLOTS", cast={"value": int}, default={"gpu": 1, "cpu": 1})

# Per-account limits (webapp.videos.quotas), checked before anything is stored or queued.
USER_STORAGE_QUOTA_BYTES = env.int("USER_STORAGE_QUOTA_BYTES", default=20 * 1024**3)
USER_ACTIVE_JOBS_MAX = env.int("USER_ACTIVE_JOBS_MAX", default=20)

# Engine choices.
TRACK_BACKEND = env.str("TRACK_BACKEND", default="auto")
# The tracker that finds the product on a few key frames before the marketer confirms it (cpu queue).
PREVIEW_BACKEND = env.str("PREVIEW_BACKEND", default="auto")
WORK_DIR = env.path("WORK_DIR", default=str(VAR_DIR / "work"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Models (GPU workers; docs/models.md). The engine reads these from the environment itself
# (highlighter.models.settings), so each is put back there: the worker and `models check` agree.
import os  # noqa: E402  (kept inside this block, which the models code owns)

HIGHLIGHTER_MODELS_DIR = env.path("HIGHLIGHTER_MODELS_DIR", default=str(VAR_DIR / "models"))
HIGHLIGHTER_DEVICE = env.str("HIGHLIGHTER_DEVICE", default="auto")  # auto, cpu, cuda, cuda:1
HIGHLIGHTER_HALF = env.str("HIGHLIGHTER_HALF", default="auto")  # auto: bfloat16 on a GPU that has it
HIGHLIGHTER_COMPILE = env.bool("HIGHLIGHTER_COMPILE", default=False)  # torch.compile: slow start, faster frames
for _name in ("HIGHLIGHTER_MODELS_DIR", "HIGHLIGHTER_DEVICE", "HIGHLIGHTER_HALF"):
    os.environ.setdefault(_name, str(globals()[_name]))
os.environ.setdefault("HIGHLIGHTER_COMPILE", "1" if HIGHLIGHTER_COMPILE else "0")
