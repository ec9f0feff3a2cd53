"""Settings: one file, every value from the environment.

With nothing set the project runs on a laptop: SQLite in ``var/``, Celery tasks executed
in-process, files in ``var/storage``. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and a real broker with a real worker.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url

from readerstudy.core.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("READERSTUDY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    # A fixed key signs sessions and password reset links that anyone could forge: only a
    # development server (DEBUG=1) may run without one.
    if not DEBUG:
        raise ImproperlyConfiguredEnv(
            "SECRET_KEY is not set. Set it to a long random value (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=1 for development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "readerstudy.core",
    "readerstudy.accounts",
    "readerstudy.studies",
    "readerstudy.imaging",
    "readerstudy.predictions",
    "readerstudy.analysis",
    "readerstudy.web",
    "readerstudy.backup",
    # Last: the demo builds its studies through every other app's services.
    "readerstudy.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the session's idle and absolute lifetimes.
    "readerstudy.accounts.sessions.SessionLifetimeAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # CSP on every HTML page (the admin and the API docs too), no-store on JSON.
    "readerstudy.web.middleware.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Admin messages live in the session. The default (a signed cookie, falling back to the
# session) builds a cookie signer on every request, images included: about a sixth of
# Django's own time on a WADO-RS frame.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "readerstudy.urls"
WSGI_APPLICATION = "readerstudy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    # SQLite creates the file but not its folder; a fresh clone has no var/ yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Applied wherever a password is set: accounts.services.reader_create (the create_reader
# command, the API, the coordinator's page), the admin and Django's password commands.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("READERSTUDY_PASSWORD_MIN_LENGTH", 8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username and address before the password
    # is checked.
    "readerstudy.accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
WHITENOISE_USE_FINDERS = True

# De-identified DICOM lives in its own storage so it can move to object storage by setting
# READERSTUDY_DICOM_STORAGE to a backend path (e.g. storages.backends.s3.S3Storage).
DICOM_STORAGE_BACKEND = env_str(
    "READERSTUDY_DICOM_STORAGE", "django.core.files.storage.FileSystemStorage"
)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "dicom": {
        "BACKEND": DICOM_STORAGE_BACKEND,
        "OPTIONS": (
            {"location": VAR_DIR / "dicom"}
            if DICOM_STORAGE_BACKEND.endswith("FileSystemStorage")
            else {}
        ),
    },
    # Originals kept on a coordinator's request (import --keep-originals): never served.
    "dicom_originals": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "dicom-originals"},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("READERSTUDY_MANIFEST_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    # Deny by default: every view opts in to what it allows.
    "DEFAULT_PERMISSION_CLASSES": ["readerstudy.core.permissions.DenyAll"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "readerstudy.core.renderers.StrictCSPBrowsableAPIRenderer",
    ],
    # JSON bodies are objects, nested at most a few levels deep (readerstudy/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "readerstudy.core.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's, with an over-large body a 413 (readerstudy/core/errors.py).
    "EXCEPTION_HANDLER": "readerstudy.core.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reader study API",
    "DESCRIPTION": "Blinded reads, cases, repeat-read schedules, model predictions and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI served from our own static files: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every round a read can be in (the reads' and slots' "round"); the rounds a reader may
    # submit are a subset with a name of their own (ReadSubmissionRoundEnum).
    "ENUM_NAME_OVERRIDES": {"RoundEnum": "readerstudy.studies.models.Round"},
}

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"  # with a host: kombu warns about a missing one
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Redis redelivers a task whose worker died (acks_late) after this many seconds. It must
# exceed the longest task (an export: 30 min), or a task still running would be delivered a
# second time; the default is that limit plus 5 min. A killed worker's inference job does not
# wait for it: the stale-job sweep below re-queues it. The worker tests shorten it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 35 * 60)}
# Celery beat (``celery -A readerstudy beat``) runs the sweeps that re-queue stalled jobs;
# the status requests of the coordinator's pages run them too, so jobs end without beat.
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-inference-jobs": {"task": "predictions.requeue_stale_jobs", "schedule": 60.0},
    "requeue-stale-exports": {"task": "analysis.requeue_stale_exports", "schedule": 60.0},
}
# Tasks have explicit names ("<app>.<verb>"); the model's ("predictions.*") go to
# READERSTUDY_INFERENCE_QUEUE, the others to Celery's default queue.
CELERY_TASK_ROUTES = ["readerstudy.core.tasks.route"]

# The most an uploaded import zip may unpack to (bytes); the coordinator's page refuses a larger
# upload before unpacking it.
READERSTUDY_IMPORT_MAX_BYTES = env_int("READERSTUDY_IMPORT_MAX_BYTES", 16 * 1024**3)
READERSTUDY_MODEL_DIR = Path(env_str("READERSTUDY_MODEL_DIR", str(VAR_DIR / "models")))
# Inference tasks go to this queue (a GPU worker can consume only it); cases per task.
READERSTUDY_INFERENCE_QUEUE = env_str("READERSTUDY_INFERENCE_QUEUE", "celery")
READERSTUDY_INFERENCE_CHUNK = env_int("READERSTUDY_INFERENCE_CHUNK", 16)
# An active inference job whose work has not moved for this many seconds (no case predicted
# or failed) has lost its tasks and is re-queued: longer than one chunk takes.
READERSTUDY_INFERENCE_STALE_AFTER = env_int("READERSTUDY_INFERENCE_STALE_AFTER", 300)
# After a session passes the whole image access check for a series, its next requests for
# that series skip the check for this many seconds: revoking access (logout, closing a
# study, removing an assignment) reaches image requests within this bound. 0: check always.
READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS = env_int("READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS", 5)

# A shared cache (Redis) when CACHE_URL is set. Sessions are then read from it, not from the
# database, on every request (each frame of the viewer is one). Without it the cache is
# per-process memory, which cannot hold sessions: a logout in one worker would not reach the
# copies in the others.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfiguredEnv(f"CACHE_URL={CACHE_URL!r} is not a redis://, rediss:// or unix:// URL.")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ---- security (docs/deployment.md, "Security settings") ----------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# READERSTUDY_HTTPS=1 (a site served over TLS) turns on every HTTPS setting; each can still be
# set on its own. Off by default so that a laptop (and the demo) serves plain http://127.0.0.1.
READERSTUDY_HTTPS = env_bool("READERSTUDY_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", READERSTUDY_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if READERSTUDY_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", READERSTUDY_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", READERSTUDY_HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", READERSTUDY_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", READERSTUDY_HTTPS)
# Reverse proxies (nginx) in front of Django. They tell the scheme (X-Forwarded-Proto) and
# the client's address (the entries they append to X-Forwarded-For); without one both come
# from the connection itself and those headers are ignored, as a client could forge them.
READERSTUDY_PROXY_COUNT = env_int("READERSTUDY_PROXY_COUNT", 0)
if READERSTUDY_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A signed-in session ends after SESSION_IDLE_TIMEOUT minutes without a request, and in any
# case READERSTUDY_SESSION_MAX_DAYS after signing in (readerstudy/accounts/sessions.py).
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_TIMEOUT", 30))
SESSION_COOKIE_AGE = env_int("READERSTUDY_SESSION_MAX_DAYS", 14) * 24 * 3600
if SESSION_IDLE_TIMEOUT.total_seconds() <= 0 or SESSION_COOKIE_AGE <= 0:
    raise ImproperlyConfiguredEnv("SESSION_IDLE_TIMEOUT and READERSTUDY_SESSION_MAX_DAYS must be positive.")

# Sign-in throttling (django-axes): after READERSTUDY_LOGIN_FAILURE_LIMIT wrong passwords for
# one username from one address, that username is refused from that address for
# READERSTUDY_LOGIN_COOLOFF_MINUTES (0: until a coordinator unlocks it on /coordinator/lockouts/).
# Per username *and* address: readers of one hospital often share one address, and locking a
# username everywhere would let anyone lock a reader out.
AXES_FAILURE_LIMIT = env_int("READERSTUDY_LOGIN_FAILURE_LIMIT", 5)
_COOLOFF_MINUTES = env_int("READERSTUDY_LOGIN_COOLOFF_MINUTES", 30)
AXES_COOLOFF_TIME = timedelta(minutes=_COOLOFF_MINUTES) if _COOLOFF_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "readerstudy.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "readerstudy.accounts.lockout.client_ip"

# Password checks at once, per process (readerstudy/accounts/signin.py): a check is about a
# second of CPU (PBKDF2 at Django's default iterations), so a burst of sign-ins would take every
# server thread. READERSTUDY_SIGNIN_CONCURRENCY checks run at once, READERSTUDY_SIGNIN_QUEUE
# more wait their turn, each for at most READERSTUDY_SIGNIN_WAIT_SECONDS; any other sign-in is
# answered 503 with Retry-After ("Many readers are signing in"). Run gunicorn with more threads
# than CONCURRENCY + QUEUE (docs/deployment.md), so other requests always find one free.
READERSTUDY_SIGNIN_CONCURRENCY = env_int("READERSTUDY_SIGNIN_CONCURRENCY", 1)
READERSTUDY_SIGNIN_QUEUE = env_int("READERSTUDY_SIGNIN_QUEUE", 8)
READERSTUDY_SIGNIN_WAIT_SECONDS = env_int("READERSTUDY_SIGNIN_WAIT_SECONDS", 60)
if READERSTUDY_SIGNIN_CONCURRENCY < 1 or READERSTUDY_SIGNIN_QUEUE < 0 or READERSTUDY_SIGNIN_WAIT_SECONDS < 0:
    raise ImproperlyConfiguredEnv("READERSTUDY_SIGNIN_CONCURRENCY must be at least 1, READERSTUDY_SIGNIN_QUEUE "
                                  "and READERSTUDY_SIGNIN_WAIT_SECONDS at least 0.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
