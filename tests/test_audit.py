"""The audit log: written with the change, hash-chained, redacted, and tamper-evident."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.audit.log import verify
from core.audit.records import Actor, acting_as
from core.context import AppContext
from tests.conftest import ROOT


async def test_rows_are_written_in_the_transaction_with_actor_and_redaction(context: AppContext) -> None:
    with pytest.raises(RuntimeError):
        async with context.db.transaction():
            await context.audit.record("customer", 1, "created", {"name": "x"})
            raise RuntimeError
    assert await context.db.fetchval("SELECT COUNT(*) FROM ajanda_audit") == 0

    with acting_as(Actor("user", "7")):
        await context.audit.record(
            "customer", 1, "updated", {"phone": ["+905550000001", "+905550000002"], "tags": [[], ["vip"]]},
            personal=("phone",),
        )  # fmt: skip
    row = (await context.db.fetch("SELECT * FROM ajanda_audit"))[0]
    assert (row["actor_kind"], row["actor_id"], row["entity"], row["action"]) == (
        "user", "7", "customer", "updated",
    )  # fmt: skip
    assert json.loads(row["changes"]) == {"phone": ["[redacted]", "[redacted]"], "tags": [[], ["vip"]]}
    assert "+90555" not in row["changes"]


async def _three_rows(context: AppContext) -> None:
    for i in range(3):
        await context.audit.record("thing", i, "created", {"n": i})


async def test_an_intact_chain_verifies(context: AppContext) -> None:
    await _three_rows(context)
    result = await verify(context.db)
    assert result.ok and result.checked == 3 and result.head_seq == 3


async def test_an_edited_row_is_detected(context: AppContext) -> None:
    await _three_rows(context)
    async with context.db.transaction():
        await context.db.execute("UPDATE ajanda_audit SET changes = ? WHERE seq = 2", '{"n":42}')
    result = await verify(context.db)
    assert not result.ok
    assert result.problem is not None and result.problem.startswith("seq 2:")
    assert "edited" in result.problem


async def test_a_deleted_row_is_detected(context: AppContext) -> None:
    await _three_rows(context)
    async with context.db.transaction():
        await context.db.execute("DELETE FROM ajanda_audit WHERE seq = 2")
    result = await verify(context.db)
    assert not result.ok and result.problem is not None and "seq 2" in result.problem


async def test_cut_off_newest_rows_are_detected(context: AppContext) -> None:
    await _three_rows(context)
    async with context.db.transaction():
        await context.db.execute("DELETE FROM ajanda_audit WHERE seq = 3")
    result = await verify(context.db)
    assert not result.ok and result.checked == 2
    assert result.problem is not None and "head records seq 3" in result.problem


async def test_a_large_transaction_appends_every_row_in_order(context: AppContext) -> None:
    async with context.db.transaction():
        for i in range(1201):  # more rows than one INSERT statement carries
            await context.audit.record("thing", i, "created", {"n": i})
    result = await verify(context.db)
    assert result.ok and result.checked == 1201 and result.head_seq == 1201
    last = await context.db.fetchval("SELECT entity_id FROM ajanda_audit WHERE seq = 1201")
    assert last == "1200"


async def test_concurrent_writers_keep_one_unbroken_chain(context: AppContext) -> None:
    import asyncio

    async def write(i: int) -> None:
        async with context.db.transaction():
            await context.audit.record("thing", i, "created", {"n": i})
            await context.audit.record("thing", i, "updated", {"n": i + 1})

    await asyncio.gather(*(write(i) for i in range(30)))
    result = await verify(context.db)
    assert result.ok and result.checked == 60


async def test_audit_jsonl_sink_receives_committed_events(
    make_settings, start_context, tmp_path: Path
) -> None:
    target = tmp_path / "audit.jsonl"
    ctx = await start_context(
        make_settings(plugins={"enabled": ["audit_jsonl"]}, plugin={"audit_jsonl": {"path": str(target)}})
    )
    with pytest.raises(RuntimeError):
        async with ctx.db.transaction():
            await ctx.audit.record("thing", 1, "created", {"n": 1})
            raise RuntimeError
    assert not target.exists()
    await ctx.audit.record("thing", 2, "created", {"n": 2})
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(e["entity_id"], e["seq"]) for e in lines] == [("2", 1)]
    assert lines[0]["hash"] == (await verify(ctx.db)).head_hash


def test_cli_audit_verify_reports_the_broken_link(make_settings, tmp_path: Path) -> None:
    import asyncio

    from core.context import build_context

    settings = make_settings()
    config = tmp_path / "config.toml"
    sec = settings.security
    token = sec.admin_token.reveal() if sec.admin_token else ""
    config.write_text(
        f'[security]\nsecret_key = "{sec.secret_key.reveal()}"\ndata_key = "{sec.data_key.reveal()}"\n'
        f'admin_token = "{token}"\n[database]\nurl = "{settings.database.url.reveal()}"\n'
    )

    async def prepare(tamper: bool) -> None:
        ctx = build_context(settings)
        await ctx.start(run_migrations=True)
        try:
            if tamper:
                async with ctx.db.transaction():
                    await ctx.db.execute("UPDATE ajanda_audit SET actor_id = 'someone' WHERE seq = 1")
            else:
                await _three_rows(ctx)
        finally:
            await ctx.stop()

    asyncio.run(prepare(tamper=False))
    cmd = [sys.executable, str(ROOT / "cli.py"), "audit", "verify", "--config", str(config)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "audit chain ok: 3 rows" in ok.stdout
    asyncio.run(prepare(tamper=True))
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "seq 1" in bad.stderr and "edited" in bad.stderr
