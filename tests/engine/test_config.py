"""Settings: defaults, TOML, env overrides, and errors that name the key."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.config import load_settings, read_tokens
from engine.errors import ConfigError
from engine.scheduler import backoff


def test_defaults_are_valid_and_paths_derive_from_the_data_dir(tmp_path: Path) -> None:
    s = load_settings(None, overrides={"engine.data_dir": str(tmp_path)}, environ={})
    assert s.db_path == tmp_path / "shiftboss.db"
    assert s.socket_path == tmp_path / "engine.sock"
    assert s.store.synchronous == "FULL"
    assert list(s.pools) == ["default", "pow", "kale"]
    assert s.pools["pow"].kinds == ["pow.kale", "pow.structs", "pow.hashcash"] and s.pools["pow"].threads == 0


def test_every_field_is_documented() -> None:
    from engine import config

    for section in (config.EngineSettings, config.StoreSettings, config.ApiSettings, config.SchedulerSettings,
                     config.PoolSettings, config.DemoSettings):
        for name, field in section.model_fields.items():
            assert field.description, f"{section.__name__}.{name} has no docstring"


def test_env_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[store]\nsynchronous = "FULL"\n[pools.default]\nconcurrency = 4\n')
    env = {"SHIFTBOSS_STORE__SYNCHRONOUS": "NORMAL", "SHIFTBOSS_POOLS__DEFAULT__CONCURRENCY": "9",
           "SHIFTBOSS_POOLS__DEFAULT__KINDS": '["noop", "sleep"]', "SHIFTBOSS_SOCKET": "/ignored/by/config"}
    s = load_settings(path, environ=env)
    assert s.store.synchronous == "NORMAL"
    assert s.pools["default"].concurrency == 9
    assert s.pools["default"].kinds == ["noop", "sleep"]


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[scheduler]\nbackoff_base = -1\nclaim_batch = "many"\n[nonsense]\nx = 1\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={"SHIFTBOSS_STORE__LEASE_TTL": "0"})
    keys = [k for k, _ in info.value.problems]
    assert sorted(keys) == ["nonsense", "scheduler.backoff_base", "scheduler.claim_batch", "store.lease_ttl"]
    reasons = dict(info.value.problems)
    assert "[from SHIFTBOSS_STORE__LEASE_TTL]" in reasons["store.lease_ttl"]
    assert reasons["nonsense"] == "unknown key"


def test_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[store\nsynchronous = 1\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_settings(bad, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_tokens_come_from_files_or_env_never_the_toml(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("abc\n")
    s = load_settings(None, overrides={"api.token_file": str(tmp_path / "t"), "api.tcp": "127.0.0.1:1"}, environ={})
    assert read_tokens(s, environ={}) == ("abc", None)
    s = load_settings(None, environ={"SHIFTBOSS_API_TOKEN": "from-env"}, overrides={"api.tcp": "127.0.0.1:1"})
    assert read_tokens(s, environ={"SHIFTBOSS_API_TOKEN": "from-env"})[0] == "from-env"
    with pytest.raises(ConfigError, match="secrets are never read from the TOML"):
        load_settings(None, overrides={"api.token": "x"}, environ={})


@pytest.mark.parametrize("attempt", [1, 2, 3, 10, 100])
def test_backoff_doubles_is_capped_and_jitters_within_half(attempt: int) -> None:
    rng = random.Random(attempt)
    delays = [backoff(attempt, 1.0, 60.0, rng) for _ in range(500)]
    nominal = min(60.0, 2.0 ** (attempt - 1))
    assert all(nominal / 2 <= d <= nominal for d in delays)
    assert max(delays) - min(delays) > nominal / 4  # it really jitters


def test_an_env_override_of_one_pool_merges_into_the_default_pools() -> None:
    s = load_settings(None, environ={"SHIFTBOSS_POOLS__DEFAULT__CONCURRENCY": "8"})
    assert s.pools["default"].concurrency == 8 and s.pools["default"].kinds == ["*"]
    assert s.pools["pow"].kinds == ["pow.kale", "pow.structs", "pow.hashcash"]  # not dropped


@pytest.mark.parametrize(("key", "value", "why"), [
    ("API__TCP", "127.0.0.1:99999", "between 0 and 65535"),
    ("SCHEDULER__BACKOFF_CAP", "inf", "finite"),
    ("SCHEDULER__BACKOFF_BASE", "1e300", "less than or equal to 86400"),
    ("SCHEDULER__DEFAULT_TIMEOUT", "nan", "finite"),
])
def test_out_of_range_numbers_are_refused_with_the_key(key: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={f"SHIFTBOSS_{key}": value})
    ((name, reason),) = info.value.problems
    assert name == key.lower().replace("__", ".") and why in reason and f"SHIFTBOSS_{key}" in reason


def test_a_postgresql_url_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(None, overrides={"store.url": "postgresql://shiftboss:hunter2@db/shiftboss"}, environ={})
    assert refused.value.problems[0][0] == "store.url" and "store.password_env" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ConfigError):
        load_settings(None, overrides={"store.url": "mysql://db/x"}, environ={})
    ok = load_settings(None, overrides={"store.url": "postgresql://shiftboss@db/shiftboss",
                                        "store.password_env": "PGPW"}, environ={"PGPW": "s3cret"})
    assert ok.store_target == "postgresql://shiftboss@db/shiftboss"
