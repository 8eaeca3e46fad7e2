"""Installs `tests/third_party_plugin` (the `ajanda-hello` distribution) for the plugin tests.

The plugin is installed for real, with pip, so the loader finds it through its entry points exactly as
it finds a plugin from PyPI. The source is copied to a temporary folder first so no build/ or
egg-info lands in the repository. Installation happens once per session, whichever test module asks
first (each module that imports the fixture gets its own fixture definition, so the work is guarded
by the config stash), and is undone when the session ends.

Not a conftest fixture on purpose: only the tests that need the plugin pay for installing it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parent / "third_party_plugin"
DIST_NAME = "ajanda-hello"
ROOT = SOURCE.parent.parent
CLI = ROOT / "cli.py"

_INSTALLED = pytest.StashKey[str]()


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300, check=False
    )


def _can_build_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1 on; older ones need the `wheel` package."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _install() -> str:
    if not _can_build_wheels():
        pytest.fail(
            "cannot build ajanda-hello offline: `pip install --no-build-isolation` needs setuptools>=70.1"
            " or the `wheel` package in this environment",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="ajanda-hello-src-") as tmp:
        copy = Path(tmp) / "ajanda-hello"
        shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        done = _pip("install", "--no-deps", "--no-build-isolation", "-q", str(copy))
    if done.returncode != 0:
        pytest.fail(f"pip could not install {DIST_NAME}:\n{done.stdout}{done.stderr}", pytrace=False)
    importlib.invalidate_caches()
    return importlib.metadata.version(DIST_NAME)


def _uninstall() -> None:
    _pip("uninstall", "-y", "-q", DIST_NAME)
    importlib.invalidate_caches()


@pytest.fixture(scope="session")
def hello_dist(request: pytest.FixtureRequest) -> Iterator[str]:
    """The installed version of ajanda-hello; installed on first use, uninstalled at session end."""
    stash = request.config.stash
    if _INSTALLED not in stash:
        stash[_INSTALLED] = _install()
        request.config.add_cleanup(_uninstall)
    yield stash[_INSTALLED]


# --------------------------------------------------------------------------------------------------
# Helpers for tests that drive the installed plugin through real config files and the real CLI.


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (e.g. one channel of a plugin's list)
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_tables(prefix: str, table: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if prefix and (scalars or not table):
        out.append(f"[{prefix}]")
    out.extend(f"{key} = {_toml_value(value)}" for key, value in scalars.items())
    for key, value in table.items():
        if isinstance(value, dict):
            _toml_tables(f"{prefix}.{key}" if prefix else key, value, out)


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    """Write a config.toml from sections (`plugin={"hello": {...}}` becomes `[plugin.hello]`)."""
    lines: list[str] = []
    _toml_tables("", sections, lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python cli.py ARGS` as a user would run it, in `cwd` (where `var/` would be created).

    `env` adds variables to this process's environment.
    """
    return subprocess.run(
        [sys.executable, str(CLI), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
