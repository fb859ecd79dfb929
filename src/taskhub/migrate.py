"""Alembic, driven from code: the only way the schema is created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from taskhub.settings import Settings


def migrations_dir() -> Path:
    """The repository's migrations/ (src/taskhub/ sits two levels below it)."""
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str, scripts: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts or migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(settings.effective_database_url, settings.migrations_dir)
    command.upgrade(config, revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrated schema differ (alembic check)."""
    command.check(alembic_config(database_url))


def downgrade(database_url: str, revision: str = "base") -> None:
    """Undo migrations down to `revision` (`base`: an empty schema)."""
    command.downgrade(alembic_config(database_url), revision)
