"""Start-up configuration: a bad value stops `taskhub` with one clear line; the secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from taskhub.settings import ConfigError, load_settings, secret_of
from tests.ops.support import cli_env, run_cli

STRONG_SECRET = "k" * 40


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("serve", "TASKHUB_RATE_LIMIT_PER_MINUTE", "abc"),
        ("migrate", "TASKHUB_RATE_LIMIT_PER_MINUTE", "-1"),
        ("migrate", "TASKHUB_DATABASE_URL", "mysql://root@127.0.0.1/taskhub"),
        ("serve", "TASKHUB_LOG_LEVEL", "loud"),
        ("migrate", "TASKHUB_CORS_ORIGINS", '["https://unclosed.example"'),
    ],
)
async def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    tmp_path: Path, command: str, variable: str, value: str
) -> None:
    env = cli_env(tmp_path / "data", TASKHUB_SECRET_KEY=STRONG_SECRET, **{variable: value})

    result = await run_cli(command, env=env)

    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert result.stdout == ""


async def test_a_server_database_without_a_secret_key_is_refused(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data", TASKHUB_DATABASE_URL="postgresql+asyncpg://taskhub@127.0.0.1/taskhub"
    )

    result = await run_cli("serve", env=env)

    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TASKHUB_SECRET_KEY" in lines[0]


async def test_a_secret_key_under_32_bytes_is_refused_without_printing_it(tmp_path: Path) -> None:
    weak = "weak-Secret-31-bytes-long-xxxxx"
    assert len(weak.encode()) == 31
    env = cli_env(tmp_path / "data", TASKHUB_SECRET_KEY=weak)

    result = await run_cli("migrate", env=env)

    assert result.code != 0
    assert "TASKHUB_SECRET_KEY" in result.stderr
    assert "32" in result.stderr
    assert weak not in result.stderr + result.stdout


async def test_an_unusable_data_dir_is_refused_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = cli_env(blocker / "data")

    result = await run_cli("migrate", env=env, cwd=tmp_path)

    assert result.code != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "TASKHUB_DATA_DIR" in result.stderr


async def test_an_unreachable_database_stops_migrate_with_one_line(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data",
        TASKHUB_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/unreachable",
        TASKHUB_SECRET_KEY=STRONG_SECRET,
    )

    result = await run_cli("migrate", env=env)

    assert result.code != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "database" in result.stderr


async def test_the_embedded_secret_is_generated_once_with_mode_0600_and_reused(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = cli_env(data_dir)

    first = await run_cli("migrate", env=env)
    key_file = data_dir / "secret_key"
    generated = key_file.read_text()
    second = await run_cli("migrate", env=env)

    assert (first.code, second.code) == (0, 0)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(generated.strip().encode()) >= 32
    assert key_file.read_text() == generated


def _embedded(data_dir: Path) -> dict[str, object]:
    """Overrides that make load_settings independent of the developer's environment."""
    return {"data_dir": data_dir, "database_url": None, "secret_key": None, "_env_file": None}


def test_load_settings_reuses_the_stored_embedded_secret(tmp_path: Path) -> None:
    first = load_settings(**_embedded(tmp_path))

    second = load_settings(**_embedded(tmp_path))

    assert secret_of(first) == secret_of(second)


def test_a_truncated_stored_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short")

    with pytest.raises(ConfigError, match="TASKHUB_SECRET_KEY"):
        load_settings(**_embedded(tmp_path))


def test_an_explicit_secret_key_writes_no_key_file(tmp_path: Path) -> None:
    settings = load_settings(**{**_embedded(tmp_path), "secret_key": STRONG_SECRET})

    assert secret_of(settings) == STRONG_SECRET
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ('["https://a.example"]', ["https://a.example"]),
        ("", []),
    ],
)
def test_cors_origins_accept_a_comma_separated_list_or_json(
    tmp_path: Path, raw: str, expected: list[str]
) -> None:
    settings = load_settings(**{**_embedded(tmp_path), "cors_origins": raw})

    assert settings.cors_origins == expected


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "https://app.example.com/path"]
)
def test_a_cors_origin_that_no_browser_would_send_is_refused(tmp_path: Path, origin: str) -> None:
    with pytest.raises(ConfigError, match="TASKHUB_CORS_ORIGINS"):
        load_settings(**{**_embedded(tmp_path), "cors_origins": origin})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgres://u@db/app", "postgresql+asyncpg://u@db/app"),
    ],
)
def test_a_plain_postgres_url_is_driven_by_asyncpg(tmp_path: Path, url: str, expected: str) -> None:
    settings = load_settings(
        **{**_embedded(tmp_path), "database_url": url, "secret_key": STRONG_SECRET}
    )

    assert settings.effective_database_url == expected


def test_celery_timings_and_queue_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKHUB_CELERY_QUEUE", "staging")
    monkeypatch.setenv("TASKHUB_CELERY_VISIBILITY_TIMEOUT", "5")
    monkeypatch.setenv("TASKHUB_CELERY_RESTORE_INTERVAL", "1")
    monkeypatch.setenv("TASKHUB_CELERY_RETRY_BACKOFF_MAX", "2")

    settings = load_settings(**_embedded(tmp_path))

    assert (
        settings.celery_queue,
        settings.celery_visibility_timeout,
        settings.celery_restore_interval,
        settings.celery_retry_backoff_max,
    ) == ("staging", 5, 1, 2)


def test_an_empty_celery_queue_means_the_default_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKHUB_CELERY_QUEUE", "")

    assert load_settings(**_embedded(tmp_path)).celery_queue == "taskhub"


def test_a_celery_timing_that_is_not_a_positive_number_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKHUB_CELERY_VISIBILITY_TIMEOUT", "0")

    with pytest.raises(ConfigError, match="TASKHUB_CELERY_VISIBILITY_TIMEOUT"):
        load_settings(**_embedded(tmp_path))


def test_the_prometheus_multiprocess_directory_is_read_under_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))

    assert load_settings(**_embedded(tmp_path)).metrics_multiproc_dir == tmp_path / "metrics"
