"""Production-shaped settings for the DRF peer: DEBUG off, persistent connections.

Everything the harness varies comes from the environment (DRF_DB_* and DRF_SECRET_KEY).
"""

import os

SECRET_KEY = os.environ.get("DRF_SECRET_KEY", "bench-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    "tasks",
]

# An API with token authentication needs no sessions, messages or CSRF middleware.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "drfpeer.urls"
WSGI_APPLICATION = "drfpeer.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DRF_DB_NAME", "taskhub_bench_drf"),
        "USER": os.environ.get("DRF_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("DRF_DB_PASSWORD", ""),
        "HOST": os.environ.get("DRF_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DRF_DB_PORT", "5432"),
        # Persistent connections: each sync worker keeps its connection across requests.
        "CONN_MAX_AGE": 600,
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tasks.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
