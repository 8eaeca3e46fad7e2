"""The durable outbox: jobs written in the same transaction as the change that causes them."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Job(Table, tablename="ajanda_job"):
    kind = Varchar(length=100)
    payload = Text()
    # pending -> running -> done | dead (a failed attempt goes back to pending with a later run_at)
    status = Varchar(length=10)
    run_at = Timestamptz()
    attempts = Integer()
    max_attempts = Integer()
    last_error = Text(null=True, default=None)
    locked_by = Varchar(length=100, null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    # At most one job per key: a crash that replays the causing change never enqueues twice.
    dedupe_key = Varchar(length=200, null=True, default=None)
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class WorkerHeartbeat(Table, tablename="ajanda_worker"):
    worker_id = Varchar(length=100, unique=True)
    host = Varchar(length=200)
    pid = Integer()
    started_at = Timestamptz()
    seen_at = Timestamptz()
