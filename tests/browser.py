"""Real pages in a real browser: Debian's Chromium driven by playwright-python, against a real
`python cli.py serve --demo` process on 127.0.0.1 (SQLite or PostgreSQL, as the run's engine).

Without /usr/bin/chromium the browser tests are skipped with the reason, so the README's test line
still works on a machine with only Python; CI sets AJANDA_REQUIRE_BROWSER=1 (after installing the
`chromium` package), where a missing browser is a failure. Screenshots land in
`test-artifacts/screenshots/` (or $AJANDA_ARTIFACTS/screenshots), one per test and step.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import generate_secrets
from tests.conftest import ENGINE, ROOT, _pg_admin, _pg_url
from tests.messaging import free_port
from tests.plugin_install import CLI, run_cli, write_config

CHROMIUM = os.environ.get("AJANDA_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("AJANDA_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("AJANDA_ARTIFACTS", ROOT / "test-artifacts"))
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
# The flags this machine needs (../shared/design/pitfalls.md): no sandbox as root, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OWNER = ("patron", "Demo-parola-2026!")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (Debian package `chromium`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def need_browser() -> None:
    """Skip (or fail, when the run requires a browser) when Chromium or playwright is missing."""
    missing = _missing()
    if missing is None:
        return
    if REQUIRED:
        pytest.fail(f"browser tests required (AJANDA_REQUIRE_BROWSER=1) but {missing}")
    pytest.skip(missing)


@dataclass
class DemoServer:
    url: str
    config: Path
    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")

    def demo_login(self) -> tuple[str, str]:
        """The demo owner account `serve --demo` printed (username, password)."""
        found = re.search(r"sign in at /login as (\S+) / (\S+)", self.log())
        assert found, self.log()
        return found.group(1), found.group(2)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--config", str(self.config), cwd=self.folder)


def _pg(sql: str) -> None:
    """Run a statement on the admin database from a thread of its own: playwright's sync API keeps an
    event loop running in this one, where asyncio.run() is refused."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _pg_admin(sql)).result()


def _database(folder: Path) -> tuple[str, str | None]:
    if ENGINE == "sqlite":
        return f"sqlite:///{folder / 'ajanda.sqlite3'}", None
    name = f"ajanda_web_{uuid.uuid4().hex[:12]}"
    _pg(f'CREATE DATABASE "{name}"')
    return _pg_url(name), name


def start_demo_server(folder: Path, **sections: dict[str, Any]) -> Iterator[DemoServer]:
    """Serve the demo business from a fresh database; stop the process and drop the database after."""
    folder.mkdir(parents=True, exist_ok=True)
    url, pg_name = _database(folder)
    port = free_port()
    config = write_config(
        folder / "config.toml",
        security=generate_secrets(),
        database={"url": url},
        server={"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        **sections,
    )
    try:
        if ENGINE != "sqlite":
            done = run_cli("migrate", "--config", str(config), cwd=folder, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
        log = (folder / "server.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, str(CLI), "serve", "--demo", "--config", str(config)],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = DemoServer(f"http://127.0.0.1:{port}", config, folder, process)
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}\n{server.log()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer /healthz in 60 s\n{server.log()}")
            time.sleep(0.2)
        added = subprocess.run(
            [sys.executable, str(CLI), "user", "add", OWNER[0], "--role", "owner", "--name", "Demo Patron",
             "--config", str(config)],
            cwd=folder, env={**os.environ, "AJANDA_NEW_PASSWORD": OWNER[1]},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        yield server
    finally:
        if "process" in locals():
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if pg_name is not None:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """One demo business per test module (the tests of a module share its bookings)."""
    need_browser()
    yield from start_demo_server(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Per module, not per session: while playwright's sync API runs it keeps an event loop running in
    the main thread, and the async tests of a later module could not start their own."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Shots:
    """Screenshots of one test, numbered in the order taken."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / "screenshots"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)[:120]
        self.count = 0

    def take(self, page: Any, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def new_page(chromium: Any, *, javascript: bool = True, language: str = "tr", mobile: bool = False) -> Any:
    """A fresh browser context (no cookies): a new visitor. `language` is the Accept-Language."""
    context = chromium.new_context(
        java_script_enabled=javascript,
        locale="tr-TR" if language == "tr" else "en-GB",
        extra_http_headers={"Accept-Language": "tr-TR,tr;q=0.9" if language == "tr" else "en-GB,en;q=0.9"},
        viewport={"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the current page, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def sign_in(page: Any, server: DemoServer) -> None:
    """Sign in as the demo owner through the sign-in form."""
    page.goto(f"{server.url}/login")
    page.fill("#username", OWNER[0])
    page.fill("#password", OWNER[1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin.*"))
