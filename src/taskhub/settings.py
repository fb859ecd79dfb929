"""Configuration: one pydantic-settings class, the only place that reads the environment."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

MIN_SECRET_BYTES = 32
SECRET_FILE_NAME = "secret_key"  # noqa: S105 (a file name)
ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


class ConfigError(Exception):
    """A configuration value that start-up must refuse, with a one-line reason."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKHUB_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    secret_key: SecretStr | None = None
    data_dir: Path = Path(".taskhub")
    rate_limit_per_minute: int = Field(default=600, ge=0)

    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    login_failures_per_email: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)

    # Argon2 cost. The defaults are pwdlib's recommended ones; tests lower them to stay fast.
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # NoDecode: a plain comma-separated list is accepted as well as a JSON array.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_log: bool = True
    # Cookies (the admin's session) marked Secure: set behind HTTPS.
    secure_cookies: bool = False
    # Cache hot reads in this process when there is no Redis. Only correct while one
    # process serves the data: `serve --workers N` turns it off unless Redis is set.
    local_cache: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Overflow connections are closed on return, so a pool smaller than the load churns
    # connections (measured: ~150 new PostgreSQL backends per 10 s at 64 clients). Size
    # the pool for the concurrency and let bursts queue instead.
    db_pool_size: int = Field(default=16, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    embedded_migrate: bool = True
    # Where Alembic's scripts live when the package is installed outside the repository
    # (the Docker image sets /app/migrations); default: the repository's migrations/.
    migrations_dir: Path | None = None

    # Celery broker and retry timings (see jobs/celery_app.py); the defaults are the
    # production values. Tests shorten them to seconds; the queue name lets several
    # deployments share one broker.
    celery_queue: str = "taskhub"
    celery_visibility_timeout: int = Field(default=120, ge=1)
    celery_restore_interval: int = Field(default=10, ge=1)
    celery_retry_backoff_max: int = Field(default=60, ge=1)

    # prometheus_client's own variable, read here so that /metrics knows whether to
    # aggregate the per-process files (`serve --workers N` sets it; see cli.py).
    metrics_multiproc_dir: Path | None = Field(
        default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR"
    )

    # Import/export (SPEC §10): POST /api/v1/import is the one route allowed a body
    # over max_body_bytes, up to this; larger uploads get 413 before they are read.
    max_import_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("postgresql://", "postgres://")):
            # Accept the URL people copy from their provider; we always talk asyncpg.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql+asyncpg:// or sqlite+aiosqlite://")
        return value

    @field_validator("celery_queue")
    @classmethod
    def _queue_or_default(cls, value: str) -> str:
        return value.strip() or "taskhub"  # an empty override means the default queue

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                raise ValueError("must be a JSON array or a comma-separated list") from None
        return [origin.strip() for origin in text.split(",") if origin.strip()]

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        # A browser sends `Origin: https://host[:port]`: a path or a trailing slash would
        # never match, silently leaving CORS closed.
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return origins

    @property
    def is_embedded(self) -> bool:
        """True when no external database is configured (SQLite in the data dir)."""
        return self.database_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'taskhub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    # Search and AI (SPEC §7, issue 10). `openai` needs _URL and _MODEL; the LLM is for /ask.
    embeddings: Literal["local", "openai", "off"] = "local"
    embeddings_url: str | None = None
    embeddings_model: str | None = None
    embeddings_api_key: SecretStr | None = None
    embeddings_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None

    # Webhooks and live events (SPEC §9, issue 13).
    # Private/loopback targets are for tests and private deployments only.
    webhooks_allow_private: bool = False
    webhooks_concurrency: int = Field(default=8, ge=1, le=256)  # deliveries in flight per worker
    # Multiplies the whole retry schedule: below 1 only to let tests see retries quickly.
    webhooks_retry_scale: float = Field(default=1.0, gt=0, le=1)
    events_max_streams_per_user: int = Field(default=5, ge=1, le=1000)  # per instance
    events_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # How long an open stream trusts the memberships it read (0: ask for every event).
    events_roles_ttl_seconds: float = Field(default=5.0, ge=0, le=300)


def _persisted_secret(data_dir: Path) -> str:
    """Read the embedded secret key, creating it (mode 0600) on first start."""
    path = data_dir / SECRET_FILE_NAME
    try:
        if not path.exists():
            _create_secret(data_dir, path)
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"TASKHUB_DATA_DIR: cannot keep the secret key in {path}: {exc.strerror or exc}"
        ) from None
    if len(key.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"TASKHUB_SECRET_KEY: the stored key in {path} is shorter than "
            f"{MIN_SECRET_BYTES} bytes; delete the file to generate a new one"
        )
    return key


def _create_secret(data_dir: Path, path: Path) -> None:
    """Write a fresh key atomically: written in full under a temporary name, then linked.

    The link fails if another process got there first; its key then wins, so every
    worker started at once ends up signing with the same key.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = data_dir / f".{SECRET_FILE_NAME}.{secrets.token_hex(8)}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def finalize(settings: Settings) -> Settings:
    """Apply the cross-field rules: secret key presence and strength."""
    if settings.secret_key is not None:
        if len(settings.secret_key.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"TASKHUB_SECRET_KEY: must be at least {MIN_SECRET_BYTES} bytes "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return settings
    if settings.database_url is not None and not settings.is_sqlite:
        raise ConfigError(
            "TASKHUB_SECRET_KEY: required when TASKHUB_DATABASE_URL points at a server database"
        )
    secret = _persisted_secret(settings.data_dir)
    return settings.model_copy(update={"secret_key": SecretStr(secret)})


def load_settings(**overrides: object) -> Settings:
    """Read the environment, validate, and raise ConfigError with one line naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TASKHUB_" + str(first["loc"][0]).upper() if first["loc"] else "TASKHUB_*"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
    except SettingsError as exc:
        # Raised before validation, e.g. a list variable that is not valid JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = "TASKHUB_" + field.group(1).upper() if field else "TASKHUB_*"
        raise ConfigError(f"{name}: cannot be parsed ({exc})".replace("\n", " ")) from None
    return finalize(settings)


def secret_of(settings: Settings) -> str:
    """The signing secret; finalize() guarantees it is set."""
    if settings.secret_key is None:
        raise ConfigError("TASKHUB_SECRET_KEY: not set (call finalize first)")
    return settings.secret_key.get_secret_value()
