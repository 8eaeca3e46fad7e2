"""The plugin loader against a real installed distribution (`ajanda-hello`, see plugin_install.py).

What matters to an operator: installed is not enabled (a disabled plugin's code never runs, not even
its imports), and every start-up failure names the plugin and, for configuration, the key path, both
from Python and from `ajanda config check`.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core.config import Settings, generate_secrets, settings_from_dict
from core.context import build_context
from core.errors import PluginError
from core.plugins import discover, load_plugins
from tests.plugin_install import DIST_NAME, hello_dist, run_cli, write_config

__all__ = ["hello_dist"]  # the imported fixture is used through pytestmark

pytestmark = pytest.mark.usefixtures("hello_dist")

HELLO_NAMES = ("hello", "hello_broken", "hello_nospec", "hello_needy")


def hello_modules() -> set[str]:
    """Top-level modules behind the distribution's entry points (read from metadata, not imported)."""
    dist = importlib.metadata.distribution(DIST_NAME)
    return {ep.value.split(":")[0].split(".")[0] for ep in dist.entry_points}


def loader_settings(tmp_path: Path, **sections: Any) -> Settings:
    """Settings for tests of the loader alone: it never touches the database, so no server is needed."""
    raw: dict[str, Any] = {
        "security": generate_secrets(),
        "database": {"url": f"sqlite:///{tmp_path / 'unused.sqlite3'}"},
        **sections,
    }
    return settings_from_dict(raw, tmp_path, None, env={})


def enabled(*names: str, **plugin_sections: dict[str, Any]) -> dict[str, Any]:
    sections: dict[str, Any] = {"plugins": {"enabled": list(names)}}
    if plugin_sections:
        sections["plugin"] = plugin_sections
    return sections


class ImportRecorder(importlib.abc.MetaPathFinder):
    """Notes every attempt to import one of `roots` (it finds nothing itself, so imports go on)."""

    def __init__(self, roots: set[str]) -> None:
        self.roots = roots
        self.attempts: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in self.roots:
            self.attempts.append(fullname)
        return None


@pytest.fixture
def import_recorder(monkeypatch: pytest.MonkeyPatch) -> ImportRecorder:
    """Forget the plugin's modules for this test and record any attempt to import them."""
    roots = hello_modules()
    for name in list(sys.modules):
        if name.split(".")[0] in roots:
            monkeypatch.delitem(sys.modules, name)
    recorder = ImportRecorder(roots)
    monkeypatch.setattr(sys, "meta_path", [recorder, *sys.meta_path])
    return recorder


# ==================================================================================================
# Discovery


def test_discover_names_the_distribution_and_version(import_recorder: ImportRecorder) -> None:
    found = discover()
    version = importlib.metadata.version(DIST_NAME)
    for name in HELLO_NAMES:
        assert found[name].origin == DIST_NAME
        assert found[name].version == version
    assert found["hello"].module == "ajanda_hello"
    assert found["hello"].description == importlib.metadata.metadata(DIST_NAME)["Summary"]
    assert found["audit_jsonl"].origin == "built-in"
    assert found["audit_jsonl"].module == "plugins.audit_jsonl"
    assert found["audit_jsonl"].description.startswith("Copies every audit event")
    assert import_recorder.attempts == []  # described from metadata, never imported


def test_disabled_plugins_are_never_imported(tmp_path: Path, import_recorder: ImportRecorder) -> None:
    plugin_set = load_plugins(loader_settings(tmp_path, **enabled("audit_jsonl")))
    assert plugin_set.names == ["audit_jsonl"]
    for name in HELLO_NAMES:
        assert plugin_set.pm.is_blocked(name)
    assert import_recorder.attempts == []
    assert not [m for m in sys.modules if m.split(".")[0] in import_recorder.roots]


def test_the_import_recorder_does_see_an_enabled_plugin(
    tmp_path: Path, import_recorder: ImportRecorder
) -> None:
    """Guards the test above: were the loader to import hello_broken, the recorder would say so."""
    with pytest.raises(PluginError):
        load_plugins(loader_settings(tmp_path, **enabled("hello_broken")))
    assert import_recorder.attempts == ["ajanda_hello_broken"]


def test_requires_registers_the_dependency_first(tmp_path: Path) -> None:
    plugin_set = load_plugins(loader_settings(tmp_path, **enabled("hello_needy", "hello")))
    assert plugin_set.names == ["hello", "hello_needy"]
    assert [s.app for s in plugin_set.migration_sources()] == ["hello"]
    assert [p.origin for p in plugin_set.loaded] == [DIST_NAME, DIST_NAME]
    config = plugin_set.config("hello")
    assert (config.greeting, config.times) == ("Merhaba", 1)  # defaults from the plugin's Struct


def test_plugin_config_section_is_converted_to_the_plugins_struct(tmp_path: Path) -> None:
    settings = loader_settings(tmp_path, **enabled("hello", hello={"greeting": "Selam", "times": 3}))
    config = build_context(settings).plugin_config("hello")
    assert type(config).__name__ == "HelloConfig"
    assert config.text() == "Selam Selam Selam"


# ==================================================================================================
# Start-up failures name the plugin

FAILURES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("unknown", enabled("hullo"), "hullo", ["is not installed", "hello", "audit_jsonl"]),
    ("missing requirement", enabled("hello_needy"), "hello_needy", ["requires plugin 'hello'"]),
    (
        "import error",
        enabled("hello_broken"),
        "hello_broken",
        ["import failed", "RuntimeError", "cannot be imported (on purpose)"],
    ),
    ("config below minimum", enabled("hello", hello={"times": 0}), "hello", ["plugin.hello.times"]),
    (
        "config unknown key",
        enabled("hello", hello={"colour": "red", "times": 2}),
        "hello",
        ["plugin.hello.colour: unknown key"],
    ),
    (
        "config for a plugin without one",
        enabled("hello_needy", "hello", hello_needy={"x": 1}),
        "hello_needy",
        ["plugin.hello_needy: this plugin takes no configuration"],
    ),
    ("hook without a spec", enabled("hello_nospec"), "hello_nospec", ["booking_creatd"]),
]


@pytest.mark.parametrize(
    ("sections", "plugin", "fragments"),
    [pytest.param(s, p, f, id=case) for case, s, p, f in FAILURES],
)
def test_start_up_failure_names_the_plugin(
    tmp_path: Path, sections: dict[str, Any], plugin: str, fragments: list[str]
) -> None:
    settings = loader_settings(tmp_path, **sections)
    with pytest.raises(PluginError) as caught:
        build_context(settings)
    assert caught.value.plugin == plugin
    message = str(caught.value)
    assert message.startswith(f"plugin {plugin!r}: ")
    for fragment in fragments:
        assert fragment in message


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    settings = loader_settings(tmp_path, **enabled("hello", hello={"times": 0, "colour": "red"}))
    with pytest.raises(PluginError) as caught:
        load_plugins(settings)
    assert "plugin.hello.times: expected int >= 1" in str(caught.value)
    assert "plugin.hello.colour: unknown key" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sections", "plugin", "fragments"),
    [pytest.param(s, p, f, id=case) for case, s, p, f in FAILURES],
)
def test_config_check_prints_one_line_naming_the_plugin(
    tmp_path: Path, sections: dict[str, Any], plugin: str, fragments: list[str]
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=generate_secrets(),
        database={"url": "sqlite:///var/ajanda.sqlite3"},
        **sections,
    )
    done = run_cli("config", "check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: plugin {plugin!r}: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (tmp_path / "var").exists()  # checking a config never creates a database


# ==================================================================================================
# `ajanda plugins list`


@pytest.mark.slow
def test_plugins_list_json_shows_origin_and_enabled_flags(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=generate_secrets(),
        database={"url": "sqlite:///var/ajanda.sqlite3"},
        plugins={"enabled": ["hello"]},
    )
    done = run_cli("plugins", "list", "--json", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "hooks" not in out
    plugins = {p["name"]: p for p in out["plugins"]}
    assert plugins["hello"] == {
        "name": "hello",
        "version": importlib.metadata.version(DIST_NAME),
        "origin": DIST_NAME,
        "enabled": True,
        "description": importlib.metadata.metadata(DIST_NAME)["Summary"],
    }
    assert plugins["audit_jsonl"]["enabled"] is False
    assert plugins["audit_jsonl"]["origin"] == "built-in"
    for name in ("hello_broken", "hello_nospec", "hello_needy"):
        assert plugins[name]["enabled"] is False  # listed from metadata although unimportable


@pytest.mark.slow
def test_plugins_list_hooks_shows_hellos_implementations_in_call_order(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=generate_secrets(),
        database={"url": "sqlite:///var/ajanda.sqlite3"},
        plugins={"enabled": ["audit_jsonl", "hello"]},
        plugin={"audit_jsonl": {"path": "audit.jsonl"}},
    )
    done = run_cli("plugins", "list", "--json", "--hooks", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    hooks = json.loads(done.stdout)["hooks"]
    implemented = {name for name, hook in hooks.items() if "hello" in hook["implementations"]}
    assert implemented == {
        "startup",
        "register_routes",
        "audit_event",
        "register_job_handlers",
        "register_cli_commands",
    }
    # Last registered is called first (pluggy's order), and both audit sinks are listed.
    assert hooks["audit_event"]["implementations"] == ["hello", "audit_jsonl"]
    assert hooks["audit_event"]["timing"] == "after-commit"

    text = run_cli("plugins", "list", "--hooks", "--config", str(config), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert f"enabled   hello {importlib.metadata.version(DIST_NAME)} ({DIST_NAME})" in text.stdout
    assert "audit_event [all, isolate, after-commit]: hello, audit_jsonl" in text.stdout


@pytest.mark.slow
def test_config_check_passes_with_hello_enabled(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=generate_secrets(),
        database={"url": "sqlite:///var/ajanda.sqlite3"},
        plugins={"enabled": ["hello_needy", "hello"]},
        plugin={"hello": {"greeting": "Selam", "times": 2}},
    )
    done = run_cli("config", "check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{config}: ok (2 plugins enabled)"
