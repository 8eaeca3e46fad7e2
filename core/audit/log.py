"""The audit log: who changed what, written in the same transaction as the change, hash-chained.

Entries are buffered on the transaction and appended just before it commits, so the chain is extended
in commit order and the serialising lock (a row lock on the one-row `ajanda_audit_head`; SQLite's single
writer) is held only for the append itself. Each row's hash covers its content and the previous row's
hash, and `seq` has no gaps, so an edited or deleted row is found by `verify`, and so are newest rows cut
off without also rewinding the head row. Cutting both is only detectable against a copy kept elsewhere:
that is what `audit_event` sinks are for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.audit.records import Actor, AuditRecord, current_actor
from core.db.database import Database, Tx

if TYPE_CHECKING:
    from core.hooks import Hooks

GENESIS = "0" * 64
INSERT_BATCH = 500
REDACTED = "[redacted]"


@dataclass
class _Pending:
    actor: Actor
    entity: str
    entity_id: str
    action: str
    changes: str
    notify: bool


def canonical_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(
    seq: int, at: datetime, actor_kind: str, actor_id: str, entity: str, entity_id: str,
    action: str, changes: str, prev_hash: str,
) -> str:  # fmt: skip
    at_text = at.astimezone(UTC).isoformat()
    material = "\x1f".join(
        [str(seq), at_text, actor_kind, actor_id, entity, entity_id, action, changes, prev_hash]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def redact(changes: Mapping[str, Any], personal: Iterable[str]) -> dict[str, Any]:
    """Replace the values of personal fields; the record still says that they changed."""
    hidden = set(personal)
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in hidden:
            out[key] = [REDACTED, REDACTED] if isinstance(value, list | tuple) else REDACTED
        else:
            out[key] = value
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value differs."""
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


class AuditLog:
    def __init__(self, db: Database, hooks: Hooks | None = None) -> None:
        self.db = db
        self.hooks = hooks

    async def record(
        self,
        entity: str,
        entity_id: object,
        action: str,
        changes: Mapping[str, Any] | None = None,
        personal: Iterable[str] = (),
        actor: Actor | None = None,
        notify: bool = True,
    ) -> None:
        """Add an audit row to the current transaction (or to a new one when there is none)."""
        tx = self.db.current_tx
        if tx is None:
            async with self.db.transaction():
                await self.record(entity, entity_id, action, changes, personal, actor, notify)
            return
        pending = _Pending(
            actor=actor or current_actor(),
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            changes=canonical_json(redact(changes or {}, personal)),
            notify=notify,
        )
        buffer: list[_Pending] | None = tx.state.get("audit")
        if buffer is None:
            buffer = tx.state["audit"] = []
            tx.before_commit(self._flusher(tx))
        buffer.append(pending)

    def _flusher(self, tx: Tx) -> Callable[[], Any]:
        async def flush() -> None:
            await self._append(tx.state.pop("audit", []))

        return flush

    async def _append(self, entries: list[_Pending]) -> None:
        if not entries:
            return
        # The head row is the chain's lock: a second writer waits here until the first commits, then
        # reads the head that writer left (PostgreSQL re-reads a row it waited for). SQLite's single
        # writer needs no row lock.
        lock = " FOR UPDATE" if self.db.kind == "postgres" else ""
        head = await self.db.fetch(f"SELECT seq, hash FROM ajanda_audit_head WHERE id = 1{lock}")
        seq, prev = int(head[0]["seq"]), str(head[0]["hash"])
        at = datetime.now(UTC)
        rows: list[tuple[Any, ...]] = []
        for entry in entries:
            seq += 1
            digest = chain_hash(
                seq, at, entry.actor.kind, entry.actor.id, entry.entity, entry.entity_id,
                entry.action, entry.changes, prev,
            )  # fmt: skip
            rows.append(
                (seq, at, entry.actor.kind, entry.actor.id, entry.entity, entry.entity_id,
                 entry.action, entry.changes, prev, digest)
            )  # fmt: skip
            prev = digest
        # Several rows per statement, few enough to stay under both engines' 32,766 parameters.
        # Every statement here is a round trip while all other writers wait, so on PostgreSQL the
        # last INSERT and the head's UPDATE are one statement (SQLite has no INSERT inside WITH).
        move_head = "UPDATE ajanda_audit_head SET seq = ?, hash = ? WHERE id = 1"
        for first in range(0, len(rows), INSERT_BATCH):
            batch = rows[first : first + INSERT_BATCH]
            insert = (
                "INSERT INTO ajanda_audit (seq, at, actor_kind, actor_id, entity, entity_id, action,"
                " changes, prev_hash, hash) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(batch))
            )
            values = [value for row in batch for value in row]
            if self.db.kind == "postgres" and first + INSERT_BATCH >= len(rows):
                await self.db.execute(f"WITH appended AS ({insert}) {move_head}", *values, seq, prev)
            else:
                await self.db.execute(insert, *values)
        if self.db.kind == "sqlite":
            await self.db.execute(move_head, seq, prev)
        if self.hooks is None or not self.hooks.implementations("audit_event"):
            return
        for entry, row in zip(entries, rows, strict=True):
            if entry.notify:
                record = AuditRecord(
                    seq=row[0],
                    at=at,
                    actor=entry.actor,
                    entity=entry.entity,
                    entity_id=entry.entity_id,
                    action=entry.action,
                    changes=json.loads(entry.changes),
                    hash=row[9],
                )
                await self.hooks.call("audit_event", record=record)

    async def hook_failed(self, hook: str, plugin: str, err: BaseException) -> None:
        """Audit an isolated hook failure (without the message, which may hold personal data)."""
        await self.record(
            "plugin",
            plugin,
            "hook_failed",
            {"hook": hook, "error": type(err).__name__},
            actor=Actor("plugin", plugin),
            # A failing audit sink must not be told about its own failure in a loop.
            notify=hook != "audit_event",
        )


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None = None


async def verify(
    db: Database, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the chain in order; report the first broken link."""
    expected_seq = 1
    prev = GENESIS
    checked = 0
    while True:
        rows = await db.fetch(
            "SELECT seq, at, actor_kind, actor_id, entity, entity_id, action, changes,"
            " prev_hash, hash FROM ajanda_audit WHERE seq >= ? ORDER BY seq LIMIT ?",
            expected_seq,
            batch,
        )
        if not rows:
            break
        for row in rows:
            seq = int(row["seq"])
            if seq != expected_seq:
                return VerifyResult(
                    False, checked, expected_seq - 1, prev,
                    f"seq {expected_seq}: row missing (deleted?); the chain continues at seq {seq}",
                )  # fmt: skip
            if row["prev_hash"] != prev:
                return VerifyResult(
                    False, checked, seq - 1, prev,
                    f"seq {seq}: prev_hash does not match the hash of seq {seq - 1}",
                )  # fmt: skip
            at = row["at"]
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            digest = chain_hash(
                seq, at, row["actor_kind"], row["actor_id"], row["entity"], row["entity_id"],
                row["action"], row["changes"], row["prev_hash"],
            )  # fmt: skip
            if digest != row["hash"]:
                return VerifyResult(
                    False, checked, seq - 1, prev,
                    f"seq {seq}: content does not match its hash (row edited)",
                )  # fmt: skip
            prev = row["hash"]
            expected_seq += 1
            checked += 1
        if progress:
            progress(checked)
    head = await db.fetch("SELECT seq, hash FROM ajanda_audit_head WHERE id = 1")
    if head and (int(head[0]["seq"]), head[0]["hash"]) != (expected_seq - 1, prev):
        return VerifyResult(
            False, checked, expected_seq - 1, prev,
            f"the chain ends at seq {expected_seq - 1} but its head records seq {int(head[0]['seq'])}"
            " (newest rows deleted?)",
        )  # fmt: skip
    return VerifyResult(True, checked, expected_seq - 1, prev)
