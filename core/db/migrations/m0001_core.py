"""Core bookkeeping: audit log, outbox jobs, worker heartbeats."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE ajanda_audit (
                id {d.pk},
                seq {d.bigint} NOT NULL UNIQUE,
                at TIMESTAMPTZ NOT NULL,
                actor_kind VARCHAR(20) NOT NULL,
                actor_id VARCHAR(100) NOT NULL,
                entity VARCHAR(60) NOT NULL,
                entity_id VARCHAR(100) NOT NULL,
                action VARCHAR(60) NOT NULL,
                changes TEXT NOT NULL,
                prev_hash VARCHAR(64) NOT NULL,
                hash VARCHAR(64) NOT NULL)""",
            "CREATE INDEX ajanda_audit_entity ON ajanda_audit (entity, entity_id)",
            f"""CREATE TABLE ajanda_job (
                id {d.pk},
                kind VARCHAR(100) NOT NULL,
                payload TEXT NOT NULL,
                status VARCHAR(10) NOT NULL,
                run_at TIMESTAMPTZ NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                last_error TEXT,
                locked_by VARCHAR(100),
                locked_until TIMESTAMPTZ,
                dedupe_key VARCHAR(200),
                created_at TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ)""",
            "CREATE INDEX ajanda_job_due ON ajanda_job (status, run_at)",
            "CREATE UNIQUE INDEX ajanda_job_dedupe ON ajanda_job (dedupe_key)",
            f"""CREATE TABLE ajanda_worker (
                id {d.pk},
                worker_id VARCHAR(100) NOT NULL UNIQUE,
                host VARCHAR(200) NOT NULL,
                pid INTEGER NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                seen_at TIMESTAMPTZ NOT NULL)""",
        ]
    )
