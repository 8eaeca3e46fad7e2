"""Rotating the data key: several keys in the cipher, `ajanda keys rotate/check/generate`, and the
registry of encrypted columns and blind indexes they read (core/privacy/registry.py)."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, generate_secrets
from core.context import AppContext
from core.errors import ConfigError
from core.privacy.crypto import CipherError, FieldCipher, UnknownKeyError, key_id, new_data_key
from core.privacy.registry import BLIND_INDEXES, ENCRYPTED_COLUMNS
from core.privacy.rotation import KeyRotationError, Tally, check, ensure_quiet, rotate, rotate_table
from tests.business import add_service, build
from tests.conftest import ROOT, admin_headers, api_client

OLD, NEW, OTHER = new_data_key(), new_data_key(), new_data_key()
PEOPLE = [
    {"name": "Derya Kocabaş", "phone": "0532 764 19 58", "email": "Derya.K@example.org", "notes": "lanolin"},
    {"name": "Emre Aydın", "phone": "0533 618 27 49", "notes": "prefers mornings"},
    {"name": "Selin Tan", "email": "selin.tan@example.net"},
]
BOOKER = {"name": "Murat Öz", "phone": "0535 402 71 36", "email": "murat.oz@example.com"}


def legacy(token: str) -> str:
    """The same ciphertext as written before key ids existed (`v1:` + the same body)."""
    return "v1:" + token.partition(":")[2]


# ==================================================================================================
# The cipher with several keys


def test_tokens_name_their_key_and_every_configured_key_opens() -> None:
    old, new = FieldCipher(OLD), FieldCipher(NEW, [OLD])
    token = old.encrypt("+905327641958", "customer.phone")
    assert (
        token is not None
        and token.startswith(f"{key_id(OLD)}:")
        and re.fullmatch(r"k[0-9a-f]{8}", key_id(OLD))
    )
    assert new.decrypt(token, "customer.phone") == "+905327641958"
    assert new.decrypt(legacy(token), "customer.phone") == "+905327641958"  # v1: tried against every key
    fresh = new.encrypt("+905327641958", "customer.phone")
    assert fresh is not None and fresh.startswith(f"{key_id(NEW)}:")  # always sealed under the current key
    opened = new.open(token, "customer.phone")
    assert (opened.key_id, opened.current) == (key_id(OLD), False)
    assert new.open(fresh, "customer.phone").current
    assert new.open(legacy(fresh), "customer.phone").legacy  # right key, old format: rotate rewrites it
    # The index key is the current one only.
    assert new.blind_index("x", "f") == FieldCipher(NEW).blind_index("x", "f") != old.blind_index("x", "f")


def test_a_value_under_a_key_not_configured_is_a_clear_error() -> None:
    token = FieldCipher(OTHER).encrypt("+905327641958", "customer.phone")
    assert token is not None
    with pytest.raises(UnknownKeyError, match=f"customer.phone: sealed under key {key_id(OTHER)}") as err:
        FieldCipher(NEW, [OLD]).decrypt(token, "customer.phone")
    assert "5327641958" not in str(err.value)
    with pytest.raises(CipherError, match="no configured key opens"):
        FieldCipher(NEW, [OLD]).decrypt(legacy(token), "customer.phone")
    with pytest.raises(CipherError, match="does not authenticate"):
        FieldCipher(OTHER).decrypt(token, "customer.email")  # another column's value
    with pytest.raises(CipherError, match="unknown ciphertext version"):
        FieldCipher(NEW).decrypt("v9:AAAA", "customer.phone")


def test_previous_data_keys_are_validated(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().security.previous_data_keys == []
    settings = make_settings(security={"previous_data_keys": [OLD, OTHER]})
    assert [k.reveal() for k in settings.security.previous_data_keys] == [OLD, OTHER]
    assert repr(settings.security.previous_data_keys) == "[Secret('***'), Secret('***')]"
    with pytest.raises(ConfigError) as bad:
        make_settings(security={"previous_data_keys": [OLD, "too short"]})
    assert bad.value.problems == ["security.previous_data_keys: entry 2 must be 32 bytes in URL-safe base64"]
    current = generate_secrets()["data_key"]
    with pytest.raises(ConfigError) as same:
        make_settings(security={"data_key": current, "previous_data_keys": [current]})
    assert same.value.problems == [
        "security.previous_data_keys: entry 1 is the current data_key (put the new key in data_key)"
    ]


# ==================================================================================================
# The registry


SOURCE_DIRS = [ROOT / "core", ROOT / "plugins"]
SEALED = re.compile(
    r"\.(?:encrypt|decrypt|blind_index)\((?:[^()]|\([^()]*\))*?,\s*\"([a-z_]+\.[a-z_]+)\"\s*\)"
)


def test_every_field_the_code_seals_or_indexes_is_in_the_registry() -> None:
    """A column sealed or indexed outside the registry would be left under the old key by rotation."""
    registered = {c.field for c in ENCRYPTED_COLUMNS} | {i.field for i in BLIND_INDEXES}
    found: dict[str, str] = {}
    for folder in SOURCE_DIRS:
        for path in folder.rglob("*.py"):
            for field in SEALED.findall(path.read_text(encoding="utf-8")):
                found.setdefault(field, str(path.relative_to(ROOT)))
    assert {"customer.phone", "customer.email", "customer.notes", "booking.notes"} <= set(found)
    missing = {field: where for field, where in found.items() if field not in registered}
    assert not missing, f"sealed or indexed but not in core/privacy/registry.py: {missing}"


async def test_registry_matches_the_schema_and_the_app(context: AppContext) -> None:
    from core.customers.duplicates import name_index
    from core.customers.service import email_index, phone_index, phone_tail_index

    for item in (*ENCRYPTED_COLUMNS, *BLIND_INDEXES):
        await context.db.fetch(f"SELECT id, {item.column} FROM {item.table} WHERE 1 = 0")
    for index in BLIND_INDEXES:
        await context.db.fetch(f"SELECT {index.source} FROM {index.table} WHERE 1 = 0")
    by_name = {i.name: i for i in BLIND_INDEXES}
    cipher = context.cipher
    assert by_name["customer.phone_idx"].compute(cipher, "+905327641958") == phone_index(
        context, "+905327641958"
    )
    assert by_name["customer.phone_tail_idx"].compute(cipher, "+905327641958") == phone_tail_index(
        context, "1958"
    )
    assert by_name["customer.email_idx"].compute(cipher, "a@example.org") == email_index(
        context, "a@example.org"
    )
    assert by_name["customer.name_idx"].compute(cipher, "AYŞE Yılmaz") == name_index(cipher, "ayse yilmaz")


# ==================================================================================================
# Rotation


async def seed(ctx: AppContext) -> dict[str, Any]:
    """Personal data in every registered column, through the paths the app writes it; returns ids."""
    from core.access.accounts import create_account, start_totp
    from core.access.permissions import Role

    business = await build(staff=1)
    service = await add_service(business, "cut")
    headers = admin_headers(ctx.settings)
    ids: dict[str, Any] = {"customers": []}
    # A message whose provider refused it: the refusal (which may quote the address) is encrypted.
    ctx.notifications._channels = [RefusingChannel()]
    async with api_client(ctx) as client:
        for person in PEOPLE:
            created = await client.post("/api/v1/customers", json=person, headers=headers)
            assert created.status_code == 201, created.text
            ids["customers"].append(created.json()["id"])
        booked = await client.post(
            "/api/v1/bookings",
            json={"service": service, "start": "2031-01-06T09:00:00+03:00", "customer": BOOKER,
                  "notes": "first visit, sensitive scalp"},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text
        ids["booker"] = booked.json()["customer"]
    # A visit that took place, with the customer's comment on it.
    from core.bookings.service import BookingService, NewBooking
    from core.feedback.service import record_feedback

    past = datetime(2024, 3, 4, 9, tzinfo=UTC)
    visit = await BookingService(ctx).create(
        NewBooking(service_id=service, start=past, customer_id=ids["booker"], as_of=past - timedelta(days=1))
    )
    await BookingService(ctx).complete(visit.id)
    await record_feedback(ctx, visit.id, 4, "Elif was lovely")
    # Not an owner: the bootstrap token the tests use works only until an owner account exists.
    account = await create_account(ctx, "manager", "correct horse battery staple", Role.MANAGER)
    ids["totp"], _uri = await start_totp(ctx, account.id)
    # A job that failed: its error text is stored encrypted.
    from core.outbox.worker import Worker

    await ctx.outbox.enqueue("nobody.handles", {}, max_attempts=1)
    await Worker(ctx).run_once()
    return ids


class RefusingChannel:
    """A provider that refuses everything, quoting the address as real ones do."""

    name = "refuser"
    medium = "email"

    def serves(self, kind: str, recipient: str) -> bool:
        return True

    def needs_address(self) -> bool:
        return True

    async def send(self, message: Any) -> str | None:
        from core.notifications.channels import ChannelError

        raise ChannelError(f"mailbox {message.to} is full")


async def snapshot(ctx: AppContext) -> dict[str, dict[int, Any]]:
    """Every registered column's raw value per row id."""
    out: dict[str, dict[int, Any]] = {}
    for item in (*ENCRYPTED_COLUMNS, *BLIND_INDEXES):
        rows = await ctx.db.fetch(f"SELECT id, {item.column} AS v FROM {item.table} ORDER BY id")
        out[item.name] = {int(r["id"]): r["v"] for r in rows}
    return out


def opened(cipher: FieldCipher, raw: dict[str, dict[int, Any]]) -> dict[str, dict[int, str | None]]:
    return {
        c.name: {row: cipher.decrypt(token, c.field) for row, token in raw[c.name].items()}
        for c in ENCRYPTED_COLUMNS
    }


async def make_legacy(ctx: AppContext, table: str, column: str) -> int:
    """Turn a table's non-NULL tokens into `v1:` tokens, as a database from before key ids holds."""
    rows = await ctx.db.fetch(f"SELECT id, {column} AS v FROM {table} WHERE {column} IS NOT NULL")
    async with ctx.db.transaction():
        for row in rows:
            await ctx.db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", legacy(row["v"]), row["id"])
    return len(rows)


async def test_rotation_rewrites_every_value_and_index_and_search_still_finds(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    old_ctx: AppContext = await start_context(
        make_settings(security={"data_key": OLD}, server={"rate_limit_per_minute": 0})
    )
    ids = await seed(old_ctx)
    assert await make_legacy(old_ctx, "customer", "notes_enc") == 2  # a database from before key ids
    before = await snapshot(old_ctx)
    plain = opened(old_ctx.cipher, before)
    for name, values in before.items():
        assert any(v is not None for v in values.values()), f"seed() leaves {name} empty: seed it"
    await old_ctx.stop()

    rotating: AppContext = await start_context(
        make_settings(
            security={"data_key": NEW, "previous_data_keys": [OLD]}, server={"rate_limit_per_minute": 0}
        )
    )
    tally = await rotate(rotating, batch_size=2)
    sealed = sum(1 for c in ENCRYPTED_COLUMNS for v in before[c.name].values() if v is not None)
    indexed = sum(1 for i in BLIND_INDEXES for v in before[i.name].values() if v is not None)
    assert tally.stale_values == sealed and tally.stale_indexes == indexed
    assert tally.rows["customer"] == len(PEOPLE) + 1
    after = await snapshot(rotating)
    for name, values in before.items():
        for row, value in values.items():
            assert (value is None) == (after[name][row] is None)
            assert value is None or after[name][row] != value, f"{name} row {row} not rewritten"
    for column in ENCRYPTED_COLUMNS:
        assert all(v is None or v.startswith(f"{key_id(NEW)}:") for v in after[column.name].values())
    audit = await rotating.db.fetch("SELECT changes FROM ajanda_audit WHERE action = 'rotated'")
    assert len(audit) == 1 and key_id(NEW) in audit[0]["changes"] and key_id(OLD) in audit[0]["changes"]
    await rotating.stop()

    # Only the new key: every value opens, nothing is stale, and lookups find the rotated cards.
    new_ctx: AppContext = await start_context(
        make_settings(security={"data_key": NEW}, server={"rate_limit_per_minute": 0})
    )
    assert opened(new_ctx.cipher, await snapshot(new_ctx)) == plain
    checked = await check(new_ctx)
    assert (checked.unreadable, checked.stale_values, checked.stale_indexes) == (0, 0, 0)
    headers = admin_headers(new_ctx.settings)
    derya = ids["customers"][0]
    async with api_client(new_ctx) as client:
        for query in ("+90 532 764 19 58", "1958", "derya.k@EXAMPLE.org", "Derya"):
            found = await client.get("/api/v1/customers", params={"q": query}, headers=headers)
            assert found.status_code == 200, (query, found.text)
            assert [c["id"] for c in found.json()] == [derya], query
        found = await client.get("/api/v1/customers", params={"q": "0535 402 71 36"}, headers=headers)
        assert [c["id"] for c in found.json()] == [ids["booker"]]
        card = (await client.get(f"/api/v1/customers/{derya}", headers=headers)).json()["customer"]
        assert card["notes"] == "lanolin" and card["email"] == "derya.k@example.org"
        # The same person books again: matched by the rotated index, not given a second card.
        again = await client.post("/api/v1/customers", json=PEOPLE[1], headers=headers)
        assert again.status_code == 200 and again.json()["id"] == ids["customers"][1]
    from core.access.accounts import totp_code, totp_step

    secret = new_ctx.cipher.decrypt(await new_ctx.db.fetchval("SELECT totp_enc FROM account"), "account.totp")
    assert secret == ids["totp"] and totp_step(secret, totp_code(ids["totp"])) is not None

    # Running it again finds nothing to do.
    second = await rotate(new_ctx)
    assert (second.stale_values, second.stale_indexes) == (0, 0)
    assert await snapshot(new_ctx) == after


class Interrupted(Exception):
    pass


async def test_an_interrupted_rotation_is_finished_by_running_it_again(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    old_ctx: AppContext = await start_context(
        make_settings(security={"data_key": OLD}, server={"rate_limit_per_minute": 0})
    )
    await seed(old_ctx)
    plain = opened(old_ctx.cipher, await snapshot(old_ctx))
    await old_ctx.stop()
    ctx: AppContext = await start_context(
        make_settings(
            security={"data_key": NEW, "previous_data_keys": [OLD]}, server={"rate_limit_per_minute": 0}
        )
    )

    def crash_after_first_batch(size: int) -> None:
        raise Interrupted  # after the first batch's commit, as a kill between two batches would

    sealed = sum(1 for values in plain.values() for v in values.values() if v is not None)
    partial = Tally()
    with pytest.raises(Interrupted):
        await rotate_table(ctx, "customer", partial, batch_size=2, advance=crash_after_first_batch)
    assert partial.rows["customer"] == 2 and partial.stale_values > 0
    halfway = await check(ctx)
    assert halfway.unreadable == 0 and halfway.stale_values == sealed - partial.stale_values
    assert halfway.stale_indexes > 0
    assert opened(ctx.cipher, await snapshot(ctx)) == plain  # mixed keys: everything still opens
    done = await rotate(ctx, batch_size=2)
    # The committed batch is not done twice: between them the two runs rewrote each value once.
    assert partial.stale_values + done.stale_values == sealed
    assert opened(FieldCipher(NEW), await snapshot(ctx)) == plain
    final = await check(ctx)
    assert (final.stale_values, final.stale_indexes) == (0, 0)


async def test_a_value_no_key_opens_names_its_column_and_row(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx: AppContext = await start_context(
        make_settings(
            security={"data_key": NEW, "previous_data_keys": [OLD]}, server={"rate_limit_per_minute": 0}
        )
    )
    ids = await seed(ctx)
    stray = ids["customers"][1]
    async with ctx.db.transaction():
        await ctx.db.execute(
            "UPDATE customer SET notes_enc = ? WHERE id = ?",
            FieldCipher(OTHER).encrypt("a secret note", "customer.notes"),
            stray,
        )
    with pytest.raises(KeyRotationError) as err:
        await rotate(ctx)
    message = str(err.value)
    assert message.startswith(f"customer.notes_enc row {stray}: sealed under key {key_id(OTHER)}")
    assert "secret note" not in message
    tally = await check(ctx)
    assert tally.unreadable == 1 and tally.problems == [message]


async def test_rotation_refuses_while_a_worker_is_alive_or_migrations_are_pending(
    context: AppContext,
) -> None:
    await ensure_quiet(context)
    now = datetime.now(UTC)
    async with context.db.transaction():
        await context.db.execute(
            "INSERT INTO ajanda_worker (worker_id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)",
            "host:1:abc", "host", 1, now, now,
        )  # fmt: skip
    with pytest.raises(KeyRotationError, match="stop `ajanda serve`"):
        await ensure_quiet(context)
    async with context.db.transaction():
        await context.db.execute("DELETE FROM ajanda_worker")
        await context.db.execute("DELETE FROM ajanda_migration WHERE name = 'm0011_customer_card'")
    with pytest.raises(KeyRotationError, match="run `ajanda migrate` first"):
        await ensure_quiet(context)


# ==================================================================================================
# The command line


def ajanda(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=120, cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )  # fmt: skip


def write_config(path: Path, url: str, secret_key: str, data_key: str, previous: list[str]) -> Path:
    keys = ", ".join(f'"{k}"' for k in previous)
    path.write_text(
        f'[security]\nsecret_key = "{secret_key}"\ndata_key = "{data_key}"\nprevious_data_keys = [{keys}]\n'
        f'[database]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def opened_context(settings: Settings) -> Any:
    """A started context in a loop of its own, for the synchronous CLI tests."""
    from core.context import build_context

    loop = asyncio.new_event_loop()
    ctx = build_context(settings)
    loop.run_until_complete(ctx.start(run_migrations=True))
    try:
        yield loop, ctx
    finally:
        loop.run_until_complete(ctx.stop())
        loop.close()


def test_keys_generate_prints_a_fresh_key(tmp_path: Path) -> None:
    first, second = ajanda("keys", "generate", cwd=tmp_path), ajanda("keys", "generate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32 and key != second.stdout.strip()
    assert "previous_data_keys" in first.stderr and "keys rotate" in first.stderr


@pytest.mark.slow
def test_keys_check_and_rotate_on_the_command_line(
    make_settings: Callable[..., Settings], database_url: str, secrets_: dict[str, str], tmp_path: Path
) -> None:
    settings = make_settings(security={"data_key": OLD}, server={"rate_limit_per_minute": 0})
    with opened_context(settings) as (loop, ctx):
        ids = loop.run_until_complete(seed(ctx))
    config = tmp_path / "config.toml"
    write_config(config, database_url, secrets_["secret_key"], OLD, [])
    clean = ajanda("keys", "check", "--config", str(config), cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "everything is under data_key" in clean.stdout

    write_config(config, database_url, secrets_["secret_key"], NEW, [OLD])
    stale = ajanda("keys", "check", "--config", str(config), cwd=tmp_path)
    assert stale.returncode == 2, stale.stderr
    assert f"customer.phone_enc: 3 values: 3 under previous_data_keys entry 1 ({key_id(OLD)})" in stale.stdout
    assert "run `ajanda keys rotate`" in stale.stdout

    with opened_context(settings) as (loop, ctx):
        now = datetime.now(UTC)
        loop.run_until_complete(
            ctx.db.execute(
                "INSERT INTO ajanda_worker (worker_id, host, pid, started_at, seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                "host:1:abc", "host", 1, now, now,
            )
        )  # fmt: skip
    refused = ajanda("keys", "rotate", "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 1 and "stop `ajanda serve`" in refused.stderr and "--force" in refused.stderr
    rotated = ajanda("keys", "rotate", "--force", "--batch-size", "2", "--config", str(config), cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "customer.phone_enc: 3 values, 3 re-encrypted" in rotated.stdout
    assert "customer.phone_idx: 3 blind indexes, 3 recomputed" in rotated.stdout
    assert (
        f"can now be removed from security.previous_data_keys: previous_data_keys entry 1 ({key_id(OLD)})"
        in (rotated.stdout)
    )
    again = ajanda("keys", "rotate", "--force", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0 and "done: 0 values re-encrypted and 0 blind indexes" in again.stdout
    done = ajanda("keys", "check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0 and "everything is under data_key" in done.stdout

    # A value under a key nobody configured: one line naming column and row, no traceback.
    with opened_context(make_settings(security={"data_key": NEW})) as (loop, ctx):
        loop.run_until_complete(
            ctx.db.execute(
                "UPDATE customer SET email_enc = ? WHERE id = ?",
                FieldCipher(OTHER).encrypt("x@example.org", "customer.email"),
                ids["customers"][0],
            )
        )
    for command in (["check"], ["rotate", "--force"]):
        broken = ajanda("keys", *command, "--config", str(config), cwd=tmp_path)
        assert broken.returncode == 1, broken.stdout
        assert f"error: customer.email_enc row {ids['customers'][0]}: sealed under key {key_id(OTHER)}" in (
            broken.stderr
        )
        assert "Traceback" not in broken.stderr and "x@example.org" not in broken.stderr + broken.stdout


def test_every_keys_command_has_help(tmp_path: Path) -> None:
    for command in (["keys"], ["keys", "generate"], ["keys", "rotate"], ["keys", "check"]):
        result = ajanda(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage:" in result.stdout, result.stderr
    assert "server stopped" in ajanda("keys", "rotate", "--help", cwd=tmp_path).stdout.replace("\n  ", " ")
