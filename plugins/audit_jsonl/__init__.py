"""Copies every audit event to a JSON-lines file, so the log survives outside the database."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import msgspec

from core import AuditRecord, PluginMeta, hookimpl
from core.context import AppContext


class AuditJsonlConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # File the events are appended to; relative paths are relative to the config file's folder.
    path: str = "var/audit.jsonl"
    # fsync after each line: survives power loss, costs a disk flush per event.
    fsync: bool = False


PLUGIN = PluginMeta(
    name="audit_jsonl",
    version="1.0",
    description="Copies every audit event to a JSON-lines file.",
    config=AuditJsonlConfig,
)

_encoder = msgspec.json.Encoder()


class _Sink:
    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self.lock = asyncio.Lock()

    def write(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(line + b"\n")
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())


@hookimpl
def startup(context: AppContext) -> None:
    config: AuditJsonlConfig = context.plugin_config("audit_jsonl")
    path = Path(config.path)
    if not path.is_absolute():
        path = Path(context.settings.base_dir) / path
    context.plugin_state["audit_jsonl"] = _Sink(path, config.fsync)


@hookimpl
async def audit_event(record: AuditRecord, context: AppContext) -> None:
    sink: _Sink | None = context.plugin_state.get("audit_jsonl")
    if sink is None:  # events from before start-up (e.g. `ajanda migrate`)
        return
    line = _encoder.encode(record)
    async with sink.lock:
        await asyncio.to_thread(sink.write, line)
