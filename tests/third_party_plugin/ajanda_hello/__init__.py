"""ajanda-hello: a small third-party Ajanda plugin that exercises every way a plugin plugs in.

It is installed by the test suite as a real distribution, so the loader sees it exactly as it would see
a plugin from PyPI: through the `ajanda.plugins` entry-point group, with its own config section, table,
migration, routes, audit sink, outbox job and CLI command. Everything the plugin keeps at run time
lives in `context.plugin_state["hello"]`, never in module globals, because one process may run
several Ajanda instances (the tests do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ajanda_hello.commands import hello_group
from ajanda_hello.config import HelloConfig
from ajanda_hello.jobs import RECORD_VISIT, record_visit
from ajanda_hello.routes import route_handlers
from ajanda_hello.state import HelloState, state_of
from ajanda_hello.tables import HelloVisit
from core import AuditRecord, PluginMeta, hookimpl

if TYPE_CHECKING:
    import click

    from core.context import AppContext
    from core.hookspecs import JobHandler

__version__ = "0.3.1"

PLUGIN = PluginMeta(
    name="hello",
    version=__version__,
    description="Says hello and counts visits.",
    config=HelloConfig,
    tables=(HelloVisit,),
    migrations="ajanda_hello.migrations",
)


@hookimpl
def startup(context: AppContext) -> None:
    """Give this app instance fresh state, so a restarted context starts counting from zero."""
    context.plugin_state["hello"] = HelloState()


@hookimpl
def register_routes(context: AppContext) -> list[Any]:
    """Mounted by the core under /p/hello/."""
    return route_handlers(context)


@hookimpl
def audit_event(record: AuditRecord, context: AppContext) -> None:
    """Count committed audit rows per instance: proves the hook fires once per row, after commit."""
    state = state_of(context)
    state.audit_events += 1
    state.last_audit = record


@hookimpl
def register_job_handlers() -> dict[str, JobHandler]:
    return {RECORD_VISIT: record_visit}


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    cli.add_command(hello_group)
