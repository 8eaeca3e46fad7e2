"""Configuration: every problem named by its key path; secrets from env and files; redacted dumps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, dump_redacted, generate_secrets, load_settings, settings_from_dict
from tests.conftest import ROOT


def problems_of(raw: dict, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, Path("."), "config.toml", env=env or {})
    return info.value.problems


def test_every_problem_is_reported_with_its_key_path() -> None:
    found = problems_of(
        {
            "security": generate_secrets(),
            "server": {"port": "eighty", "colour": "blue"},
            "business": {"timezone": "Europe/Atlantis", "currency": "lira"},
            "database": {"url": {"$env": "AJANDA_DB"}},
            "worker": {"max_attempts": 0},
        }
    )
    assert "server.colour: unknown key" in found
    assert "server.port: expected int, got str" in found
    assert "business.timezone: unknown IANA time zone 'Europe/Atlantis'" in found
    assert any(p.startswith("business.currency: expected str matching regex") for p in found)
    assert "database.url: environment variable AJANDA_DB is not set" in found
    assert "worker.max_attempts: expected int >= 1" in found
    assert len(found) == 6


def test_required_sections_and_weak_secrets() -> None:
    assert problems_of({}) == ["security: required key is missing"]
    weak = problems_of({"security": {"secret_key": "short", "data_key": "x"}})
    assert weak == ["security.secret_key: must be at least 32 characters"]


def test_secrets_from_env_and_file_and_redacted_dump(tmp_path: Path) -> None:
    values = generate_secrets()
    (tmp_path / "data.key").write_text(values["data_key"] + "\n")
    raw = {
        "security": {
            "secret_key": {"$env": "S"},
            "data_key": {"$file": "data.key"},
            "admin_token": values["admin_token"],
        },
        "database": {"url": {"$env": "DB"}},
    }
    env = {"S": values["secret_key"], "DB": "postgresql://ajanda:hunter2hunter2@127.0.0.1/ajanda"}
    settings = settings_from_dict(raw, tmp_path, "config.toml", env=env)
    assert settings.security.data_key.reveal() == values["data_key"]
    dumped = json.dumps(dump_redacted(settings))
    for secret in (*values.values(), "hunter2hunter2"):
        assert secret not in dumped
    assert "postgresql://ajanda:***@127.0.0.1/ajanda" in dumped
    assert repr(settings.security.secret_key) == "Secret('***')"


def test_missing_secret_file_is_named(tmp_path: Path) -> None:
    found = problems_of({"security": {**generate_secrets(), "data_key": {"$file": "/nonexistent/key"}}})
    assert found[0].startswith("security.data_key: cannot read secret file /nonexistent/key")


def test_config_file_from_flag_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("[security]\n" + "".join(f'{k} = "{v}"\n' for k, v in generate_secrets().items()))
    assert load_settings(None, env={"AJANDA_CONFIG": str(path)}).source == str(path)
    assert load_settings(path, env={}).source == str(path)
    with pytest.raises(ConfigError, match="TOML syntax error"):
        bad = tmp_path / "bad.toml"
        bad.write_text("[security\n")
        load_settings(bad, env={})


def test_init_writes_a_valid_config_and_never_overwrites(tmp_path: Path) -> None:
    cli = [sys.executable, str(ROOT / "cli.py")]
    first = subprocess.run([*cli, "init", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    written = (tmp_path / "config.toml").read_text()
    assert "@generate@" not in written
    settings = load_settings(tmp_path / "config.toml", env={})
    assert settings.security.admin_token is not None
    assert settings.security.admin_token.reveal() in first.stdout
    check = subprocess.run(
        [*cli, "config", "check", "--config", str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0 and ": ok" in check.stdout
    again = subprocess.run([*cli, "init", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert again.stderr.strip().endswith("already exists; not overwriting it")
    assert (tmp_path / "config.toml").read_text() == written


def test_config_check_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    secrets = "".join(f'{k} = "{v}"\n' for k, v in generate_secrets().items())
    path.write_text(f'[security]\n{secrets}[server]\nport = "x"\nbogus = 1\n')
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "config", "check", "--config", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {path}: server.bogus: unknown key",
        f"error: {path}: server.port: expected int, got str",
    ]


def test_config_show_redacts_plugin_secrets_and_check_warns_about_stray_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    secrets = "".join(f'{k} = "{v}"\n' for k, v in generate_secrets().items())
    path.write_text(
        f'[security]\n{secrets}[plugins]\nenabled = ["audit_jsonl"]\n'
        '[plugin.audit_jsonl]\npath = "audit.jsonl"\n'
        '[plugin.webhook]\nsecret = "whsec_do_not_print_me"\n'
    )
    cli = [sys.executable, str(ROOT / "cli.py")]
    shown = subprocess.run(
        [*cli, "config", "show", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "whsec_do_not_print_me" not in shown.stdout
    data = json.loads(shown.stdout)
    assert data["plugin"]["audit_jsonl"] == {"path": "audit.jsonl", "fsync": False}
    assert data["plugin"]["webhook"] == {"secret": "***"}
    checked = subprocess.run(
        [*cli, "config", "check", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0
    assert "[plugin.webhook] is ignored (no such plugin installed)" in checked.stderr


def test_bad_database_url_is_named() -> None:
    found = problems_of({"security": generate_secrets(), "database": {"url": "mysql://x"}})
    assert found == ["database.url: expected sqlite:///path or postgresql://user:password@host/db"]
