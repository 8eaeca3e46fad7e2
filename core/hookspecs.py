"""Every extension point of Ajanda, in one place.

Each spec carries three properties the dispatcher (`core/hooks.py`) obeys:

- mode: `all` (a list with every implementation's result), `collect` (lists flattened into one), or
  `first` (sync-only; the first non-None result wins);
- policy: `propagate` (an exception aborts the operation, e.g. a validation veto) or `isolate` (the
  failure is logged and audited, the other implementations still run, nothing is rolled back);
- timing: `immediate`, `in-tx` (must be called inside the write transaction), or `after-commit` (when
  called inside a transaction, runs only after it commits; never after a rollback).

Implementations may be plain functions or coroutines; the dispatcher awaits what needs awaiting. An
implementation may accept any subset of a spec's arguments. `context` (the AppContext of the instance
that fires the hook) is passed by the dispatcher itself.
Documentation: docs/plugin_hooks.md has one section per hook headed by its exact signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pluggy

from core.audit.records import Actor, AuditRecord
from core.bookings.snapshot import BookingSnapshot
from core.customers.snapshot import CustomerSnapshot
from core.notifications.snapshot import MessageSnapshot

if TYPE_CHECKING:
    import click

    from core.context import AppContext
    from core.notifications.channels import Channel

PROJECT = "ajanda"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Mode = Literal["all", "collect", "first"]
Policy = Literal["propagate", "isolate"]
Timing = Literal["immediate", "in-tx", "after-commit"]

JobHandler = Callable[[dict[str, Any], "AppContext"], Awaitable[None] | None]


@dataclass(frozen=True)
class HookPolicy:
    mode: Mode
    policy: Policy
    timing: Timing


F = TypeVar("F", bound=Callable[..., Any])


def spec(mode: Mode, policy: Policy, timing: Timing) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        fn.ajanda_policy = HookPolicy(mode, policy, timing)  # type: ignore[attr-defined]
        return hookspec(fn)

    return mark


def policy_of(fn: Callable[..., Any]) -> HookPolicy:
    found: HookPolicy = fn.ajanda_policy  # type: ignore[attr-defined]
    return found


# ==================================================================================================
# Bootstrapping and web


@spec(mode="collect", policy="propagate", timing="immediate")
def register_routes(context: AppContext) -> list[Any] | None:
    """Return Litestar route handlers, controllers or routers for this plugin (synchronously).

    They are mounted under `/p/<plugin name>/`. Each handler declares who may call it:
    `opt=requires(Permission.X)` or `opt=PUBLIC` (both from `core`); the app refuses to start with a
    handler that declares neither.
    """


@spec(mode="collect", policy="propagate", timing="immediate")
def register_theme_dirs(context: AppContext) -> list[Path] | None:
    """Return folders laid out like a theme (`templates/`, `static/`, either may be missing), synchronously.

    Their templates and static files rank below the configured theme and above the core's default
    theme, so a plugin can add pages and override a core template while a theme still wins. Read once
    when the app is built.
    """


@spec(mode="all", policy="propagate", timing="immediate")
def register_cli_commands(cli: click.Group) -> None:
    """Add click commands or groups to the `ajanda` command line (`cli.add_command(...)`), synchronously.

    The loaded settings and plugins are in click's context object: `click.get_current_context().obj`
    is `{"settings": Settings, "plugins": PluginSet}`.
    """


@spec(mode="all", policy="propagate", timing="immediate")
def register_job_handlers() -> dict[str, JobHandler] | None:
    """Return `{job kind: handler}` for outbox jobs this plugin runs (synchronously; handlers may be async).

    A handler receives `(payload, context)`; raising means the attempt failed and will be retried
    with backoff. Kinds are global: prefix them with the plugin name. Delivery is at-least-once (a
    worker killed mid-job leaves it to be claimed again when its lease expires), so make side
    effects idempotent. A coroutine handler is cancelled after 0.8 x `[worker] lease` seconds and
    the attempt counts as failed; keep jobs short or raise the lease.
    """


@spec(mode="all", policy="propagate", timing="immediate")
def startup(context: AppContext) -> Awaitable[None] | None:
    """Called once when the app or worker starts, after migrations; a failure stops start-up."""


@spec(mode="all", policy="isolate", timing="immediate")
def shutdown(context: AppContext) -> Awaitable[None] | None:
    """Called once when the app or worker stops; failures are logged and audited."""


# ==================================================================================================
# Booking lifecycle


@spec(mode="all", policy="propagate", timing="in-tx")
def booking_validate(
    booking: BookingSnapshot, action: Literal["create", "reschedule"], context: AppContext
) -> Awaitable[None] | None:
    """Inspect a booking about to be created or moved, inside its transaction.

    Raise `core.Vetoed(reason)` to refuse it; the reason is shown to whoever asked. Database work done
    here (e.g. reserving stock) commits or rolls back with the booking.
    """


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_created(booking: BookingSnapshot, context: AppContext) -> Awaitable[None] | None:
    """A booking was created (pending or confirmed) and committed."""


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_confirmed(booking: BookingSnapshot, context: AppContext) -> Awaitable[None] | None:
    """A pending booking became confirmed."""


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_rescheduled(
    booking: BookingSnapshot, previous: BookingSnapshot, context: AppContext
) -> Awaitable[None] | None:
    """A booking moved; `previous` holds its former times, staff and resources."""


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_cancelled(
    booking: BookingSnapshot, reason: str | None, by: Actor, context: AppContext
) -> Awaitable[None] | None:
    """A booking was cancelled by a customer, staff member or the system (expired hold)."""


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_completed(booking: BookingSnapshot, context: AppContext) -> Awaitable[None] | None:
    """The visit took place."""


@spec(mode="all", policy="isolate", timing="after-commit")
def booking_no_show(booking: BookingSnapshot, context: AppContext) -> Awaitable[None] | None:
    """The customer did not come."""


# ==================================================================================================
# Customer lifecycle


@spec(mode="all", policy="propagate", timing="in-tx")
def customer_validate(
    customer: CustomerSnapshot, action: Literal["create", "update"], context: AppContext
) -> Awaitable[None] | None:
    """Inspect a customer about to be created or changed; raise `core.Vetoed(reason)` to refuse."""


@spec(mode="all", policy="isolate", timing="after-commit")
def customer_created(customer: CustomerSnapshot, context: AppContext) -> Awaitable[None] | None:
    """A customer card was created."""


@spec(mode="all", policy="isolate", timing="after-commit")
def customer_updated(
    customer: CustomerSnapshot, changed: tuple[str, ...], context: AppContext
) -> Awaitable[None] | None:
    """A customer card changed; `changed` names the fields."""


@spec(mode="all", policy="isolate", timing="after-commit")
def customer_merged(
    customer: CustomerSnapshot, merged_ids: tuple[int, ...], context: AppContext
) -> Awaitable[None] | None:
    """Duplicates `merged_ids` were merged into `customer`, keeping all their history."""


# ==================================================================================================
# Audit


@spec(mode="all", policy="isolate", timing="after-commit")
def audit_event(record: AuditRecord, context: AppContext) -> Awaitable[None] | None:
    """An audit row was committed; sinks forward it elsewhere (file, SIEM, another database)."""


# ==================================================================================================
# Notifications


@spec(mode="collect", policy="propagate", timing="immediate")
def register_notification_channels(context: AppContext) -> list[Channel] | None:
    """Return the channels this plugin provides (objects following `core.notifications.channels.Channel`),
    synchronously, once at start-up. Channel names must be unique across plugins."""


@spec(mode="all", policy="isolate", timing="immediate")
def notification_before_send(
    message: MessageSnapshot, context: AppContext
) -> Awaitable[str | None] | str | None:
    """Called before each message is sent; return a short reason (e.g. "no KVKK consent") to suppress it.

    The message is then logged as suppressed with that reason and never sent. Return None to let it go.
    A failing implementation is logged and audited and does not stop the message.
    """


@spec(mode="all", policy="isolate", timing="after-commit")
def notification_sent(message: MessageSnapshot, context: AppContext) -> Awaitable[None] | None:
    """A message was delivered to its provider (`message.channel`, `message.sent_at` are set)."""
