"""AppContext: everything one Ajanda instance owns (settings, database, plugins, hooks, audit, outbox).

There is no module-global state of Ajanda's own: the HTTP app, the worker and the CLI each build a
context, so tests can run several side by side with different plugins. (Piccolo binds its engine to the
table classes, so contexts open at the same time in one process must share one database.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.audit.log import AuditLog
from core.clock import Clock
from core.config import Settings
from core.db.database import Database
from core.db.migrate import Migration, MigrationSource, migrate
from core.errors import PluginError
from core.hooks import Hooks
from core.hookspecs import JobHandler
from core.outbox.queue import Outbox
from core.plugins import PluginSet, load_plugins
from core.privacy.crypto import FieldCipher
from core.tables import CORE_TABLES

if TYPE_CHECKING:
    from core.notifications.sender import Notifications

CORE_MIGRATIONS = MigrationSource("core", "core.db.migrations")


@dataclass
class AppContext:
    settings: Settings
    plugins: PluginSet
    db: Database
    hooks: Hooks
    audit: AuditLog
    outbox: Outbox
    job_handlers: dict[str, JobHandler] = field(default_factory=dict)
    # Per-instance state of plugins, keyed by plugin name (plugins keep no module globals).
    plugin_state: dict[str, Any] = field(default_factory=dict)
    # What time it is for time-driven work (due jobs, reminders); tests move it.
    clock: Clock = field(default_factory=Clock)
    started: bool = False

    @functools.cached_property
    def cipher(self) -> FieldCipher:
        """Encrypts personal data at rest with this instance's data key; opens values still sealed under
        a previous key until `ajanda keys rotate` has rewritten them."""
        security = self.settings.security
        return FieldCipher(security.data_key.reveal(), [k.reveal() for k in security.previous_data_keys])

    @functools.cached_property
    def notifications(self) -> Notifications:
        """Channels, templates and the send job of this instance (built on first use)."""
        from core.notifications.sender import Notifications

        return Notifications(self)

    def plugin_config(self, name: str) -> Any:
        """The validated config Struct of an enabled plugin."""
        return self.plugins.config(name)

    def migration_sources(self) -> list[MigrationSource]:
        return [CORE_MIGRATIONS, *self.plugins.migration_sources()]

    async def migrate(self, progress: Callable[[Migration], None] | None = None) -> list[Migration]:
        return await migrate(self.db, self.migration_sources(), progress, self.cipher)

    async def open(self) -> None:
        """Open the database and bind every table to it, without starting plugins (CLI work)."""
        self.db.bind([*CORE_TABLES, *self.plugins.tables()])
        await self.db.open()

    async def start(self, run_migrations: bool = False) -> None:
        """Open the database, optionally migrate, then let plugins start."""
        await self.open()
        if run_migrations:
            await self.migrate()
        self.job_handlers = self._collect_job_handlers()
        await self.hooks.call("startup", context=self)
        self.notifications.channels()  # a broken channel plugin stops the start, not the first send
        self.started = True

    async def stop(self) -> None:
        if self.started:
            await self.hooks.call("shutdown", context=self)
            self.started = False
        await self.db.close()

    def _collect_job_handlers(self) -> dict[str, JobHandler]:
        handlers: dict[str, JobHandler] = {}
        owners: dict[str, str] = {}
        for impl in self.hooks.implementations("register_job_handlers"):
            provided: dict[str, JobHandler] = impl.function() or {}  # type: ignore[assignment]
            for kind, handler in provided.items():
                if kind in handlers:
                    raise PluginError(
                        impl.plugin_name, f"job kind {kind!r} is already handled by {owners[kind]}"
                    )
                handlers[kind] = handler
                owners[kind] = impl.plugin_name
        return handlers


def build_context(settings: Settings, extra_plugins: dict[str, ModuleType] | None = None) -> AppContext:
    """Load plugins and wire the services; nothing touches the database until `start()`."""
    plugins = load_plugins(settings, extra_plugins)
    db = Database(settings)
    hooks = Hooks(plugins.pm, db)
    audit = AuditLog(db, hooks)
    hooks.on_failure = audit.hook_failed
    clock = Clock()
    outbox = Outbox(db, settings.worker.max_attempts, clock)
    context = AppContext(settings, plugins, db, hooks, audit, outbox, clock=clock)
    hooks.context = context
    return context
