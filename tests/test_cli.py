"""The command line: every subcommand has --help; `ajanda` and `python cli.py` are the same program."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

COMMANDS = [
    [], ["init"], ["config"], ["config", "check"], ["config", "show"], ["migrate"], ["serve"], ["worker"],
    ["plugins"], ["plugins", "list"], ["audit"], ["audit", "verify"], ["demo"],
    ["user"], ["user", "add"], ["user", "list"], ["user", "disable"],
    ["token"], ["token", "create"], ["token", "list"], ["token", "revoke"],
    ["customers"], ["customers", "import"], ["customers", "export"],
    ["keys"], ["keys", "generate"], ["keys", "rotate"], ["keys", "check"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ajanda")
def test_every_command_has_help(command: list[str], tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *command, "--help"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_installed_command_is_the_same_cli(tmp_path) -> None:
    exe = shutil.which("ajanda", path=str(ROOT.parent / "bin")) or shutil.which("ajanda")
    if exe is None:
        exe_path = __import__("pathlib").Path(sys.executable).parent / "ajanda"
        assert exe_path.exists(), "`pip install` should have created the ajanda command"
        exe = str(exe_path)
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and "audit" in result.stdout and "serve" in result.stdout


def test_migrate_and_demo_on_embedded_defaults(tmp_path) -> None:
    cli = [sys.executable, str(ROOT / "cli.py")]
    migrate = subprocess.run([*cli, "migrate"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    assert "applying core:m0001_core" in migrate.stdout
    assert (tmp_path / "var" / "ajanda.sqlite3").exists() and (tmp_path / "var" / "secrets.toml").exists()
    again = subprocess.run([*cli, "migrate"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "database is up to date" in again.stdout
    demo = subprocess.run([*cli, "demo"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "demo business loaded" in demo.stdout, demo.stderr
    data = (tmp_path / "var" / "ajanda.sqlite3").read_bytes()
    assert b"+905321110001" not in data and b"selin.yildiz@example.com" not in data


def test_serve_with_demo_on_embedded_defaults(tmp_path) -> None:
    """`serve --demo` with no config: migrates SQLite, loads the demo, serves HTTP and runs a worker."""
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.load(response)
                if health["workers_alive"]:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health is not None and health["database"] is True and health["workers_alive"] == 1
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "embedded defaults" in output
    assert "demo business loaded" in output
    # uvicorn re-raises SIGTERM after a graceful shutdown; the worker's last words prove the grace.
    assert server.returncode in (0, -15)
    assert "stopped" in output and "Application shutdown complete" in output
