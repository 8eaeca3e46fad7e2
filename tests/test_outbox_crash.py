"""The outbox survives `kill -9` of a real worker process (`python cli.py worker`), on both engines.

A worker that dies mid-job leaves its claim behind; once the lease runs out another worker claims the
job again and finishes it. Nothing is lost, nothing that finished is run twice. The job used is the
installed hello plugin's `hello.record`, whose `sleep_once` marker makes the first attempt hang
(the worker is killed while it sleeps, before it writes anything) and the retry run straight through.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, load_settings
from core.context import AppContext
from tests.plugin_install import CLI, hello_dist, write_config

__all__ = ["hello_dist"]  # the imported fixture is used through pytestmark

pytestmark = [pytest.mark.usefixtures("hello_dist"), pytest.mark.slow]

LEASE = 2.0
WAIT = 30.0  # upper bound for any single wait; a healthy run needs a few seconds


class Workers:
    """Worker processes started by one test; every one of them is killed when the test ends."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker{len(self.procs) + 1}.log", "wb")
        with log:
            proc = subprocess.Popen(
                [sys.executable, str(CLI), "worker", "--config", str(self.config)],
                cwd=self.config.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')}"
            for path in sorted(self.logs.glob("worker*.log"))
        )

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Path], Workers]]:
    made: list[Workers] = []

    def make(config: Path) -> Workers:
        made.append(Workers(config, tmp_path))
        return made[-1]

    try:
        yield make
    finally:
        for group in made:
            group.kill_all()


@pytest.fixture
def crash_config(tmp_path: Path, database_url: str, secrets_: dict[str, str]) -> Path:
    """A config file the worker processes and the test share: short lease, fast polls, tiny backoff."""
    return write_config(
        tmp_path / "config.toml",
        security=secrets_,
        database={"url": database_url},
        plugins={"enabled": ["hello"]},
        worker={"lease": LEASE, "poll_interval": 0.2, "backoff_base": 0.2, "backoff_max": 1.0},
        logging={"level": "INFO", "access_log": False},
    )


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, workers: Workers) -> None:
    """Poll `check` until it holds; fail (with the workers' logs) after WAIT s or if a worker died."""
    deadline = time.monotonic() + WAIT
    while not await check():
        for proc in workers.procs:
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                pytest.fail(f"worker exited with {proc.returncode} waiting for {what}\n{workers.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT:.0f} s waiting for {what}\n{workers.output()}")
        await asyncio.sleep(0.02)


async def jobs(ctx: AppContext) -> dict[int, Any]:
    rows = await ctx.db.fetch("SELECT id, status, attempts, locked_by, last_error FROM ajanda_job")
    return {int(r["id"]): r for r in rows}


async def visit_names(ctx: AppContext) -> list[str]:
    return [r["name"] for r in await ctx.db.fetch("SELECT name FROM hello_visit ORDER BY id")]


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


async def stop_gracefully(proc: subprocess.Popen[bytes], workers: Workers) -> None:
    """SIGTERM: the worker finishes its poll, removes its heartbeat and exits 0."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(proc.wait, 15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker did not stop on SIGTERM\n{workers.output()}")
    assert code == 0, workers.output()


async def test_job_of_a_killed_worker_is_finished_by_the_next_one(
    crash_config: Path, tmp_path: Path, start_context: Callable[..., Any], workers: Callable[[Path], Workers]
) -> None:
    settings: Settings = load_settings(crash_config)
    ctx: AppContext = await start_context(settings)  # migrates core and hello
    marker = tmp_path / "first-attempt-started"
    job_id = await ctx.outbox.enqueue(
        "hello.record", {"name": "crash", "sleep": 30, "sleep_once": str(marker)}
    )
    assert job_id is not None
    group = workers(crash_config)

    first = group.start()

    async def first_attempt_sleeping() -> bool:
        return marker.exists() and (await jobs(ctx))[job_id]["status"] == "running"

    await wait_until(first_attempt_sleeping, "the first attempt to start", group)
    kill9(first)
    killed = (await jobs(ctx))[job_id]
    # Killed mid-job: still claimed by the dead worker (not failed by the handler timeout), nothing written.
    assert (killed["status"], killed["attempts"]) == ("running", 1), group.output()
    assert killed["locked_by"] is not None and f":{first.pid}:" in killed["locked_by"]
    assert await visit_names(ctx) == []

    second = group.start()

    async def job_done() -> bool:
        return (await jobs(ctx))[job_id]["status"] == "done"

    await wait_until(job_done, "the job to be done by the second worker", group)
    await stop_gracefully(second, group)
    finished = (await jobs(ctx))[job_id]
    assert (finished["status"], finished["attempts"]) == ("done", 2)
    assert finished["locked_by"] is None and finished["last_error"] is None
    assert await visit_names(ctx) == ["crash"]
    # The gracefully stopped worker removed its heartbeat; the killed one could not.
    heartbeats = await ctx.db.fetch("SELECT pid FROM ajanda_worker")
    assert [int(r["pid"]) for r in heartbeats] == [first.pid]


async def test_kill_mid_batch_loses_nothing_and_repeats_nothing(
    crash_config: Path, tmp_path: Path, start_context: Callable[..., Any], workers: Callable[[Path], Workers]
) -> None:
    """20 jobs claimed in one batch; the worker dies while running one of them (the 8th enqueued).

    The restart must finish every claimed job the dead worker had not finished, and must not run
    again the ones it had. (Which jobs ran before the sleeper depends on the order the claim returns
    them in, so the assertions hold for any order.)
    """
    settings: Settings = load_settings(crash_config)
    ctx: AppContext = await start_context(settings)
    marker = tmp_path / "job-8-started"
    names = [f"visit-{n:02d}" for n in range(1, 21)]
    name_of: dict[int, str] = {}
    async with ctx.db.transaction():
        for n, name in enumerate(names, start=1):
            payload: dict[str, Any] = {"name": name}
            if n == 8:
                payload |= {"sleep": 30, "sleep_once": str(marker)}
            job_id = await ctx.outbox.enqueue("hello.record", payload)
            assert job_id is not None
            name_of[job_id] = name
    sleeper = next(i for i, name in name_of.items() if name == "visit-08")
    group = workers(crash_config)

    first = group.start()

    async def sleeper_started() -> bool:
        return marker.exists()

    await wait_until(sleeper_started, "the 8th job to start", group)
    kill9(first)
    state = await jobs(ctx)
    done_before = {i for i, row in state.items() if row["status"] == "done"}
    unfinished = set(name_of) - done_before
    assert sleeper in unfinished
    for i in unfinished:  # the whole batch was claimed by the worker that died
        assert state[i]["status"] == "running", group.output()
        assert f":{first.pid}:" in state[i]["locked_by"]
    assert all(state[i]["attempts"] == 1 for i in name_of)
    assert sorted(await visit_names(ctx)) == sorted(name_of[i] for i in done_before)

    second = group.start()

    async def all_done() -> bool:
        return all(row["status"] == "done" for row in (await jobs(ctx)).values())

    await wait_until(all_done, "all 20 jobs to be done", group)
    await stop_gracefully(second, group)
    state = await jobs(ctx)
    assert {i: state[i]["attempts"] for i in name_of} == {i: 1 if i in done_before else 2 for i in name_of}
    visited = await visit_names(ctx)
    assert len(visited) == 20
    assert sorted(visited) == names  # every job exactly once: none lost, none repeated
