"""ruff (lint and format) and mypy on core/ are part of the tests."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", "core", "plugins", "tests", "bench", "cli.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_core() -> None:
    result = run("mypy", "core")
    assert result.returncode == 0, result.stdout + result.stderr
