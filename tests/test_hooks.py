"""The hook dispatcher: modes, policies, timing, isolation and auditing of failures."""

from __future__ import annotations

import types
from datetime import UTC, datetime

import pytest

from core import BookingSnapshot, PluginMeta, Vetoed, hookimpl
from core.context import AppContext
from core.hooks import HookOutsideTransaction


def make_plugin(name: str, **impls: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.PLUGIN = PluginMeta(name=name, version="1")  # type: ignore[attr-defined]
    for hook, fn in impls.items():
        setattr(module, hook, hookimpl(fn))  # type: ignore[arg-type]
    return module


def booking(status: str = "confirmed") -> BookingSnapshot:
    now = datetime(2030, 1, 7, 9, tzinfo=UTC)
    return BookingSnapshot(
        id=1, status=status, location_id=1, service_ids=(1,), staff_id=1,  # type: ignore[arg-type]
        customer_id=1, start=now, end=now,
    )  # fmt: skip


async def test_after_commit_hooks_fire_only_after_commit(make_settings, start_context) -> None:
    seen: list[int] = []
    plugin = make_plugin("watcher", booking_created=lambda booking: seen.append(booking.id))
    ctx: AppContext = await start_context(
        make_settings(plugins={"enabled": ["watcher"]}), {"watcher": plugin}
    )

    with pytest.raises(RuntimeError):
        async with ctx.db.transaction():
            await ctx.hooks.call("booking_created", booking=booking())
            assert seen == []  # deferred, not run inside the transaction
            raise RuntimeError("rolled back")
    assert seen == []

    async with ctx.db.transaction():
        await ctx.hooks.call("booking_created", booking=booking())
        assert seen == []
    assert seen == [1]


async def test_isolated_failure_is_audited_and_others_still_run(make_settings, start_context) -> None:
    seen: list[str] = []

    def explode(booking: BookingSnapshot) -> None:
        raise ValueError("customer +905551112233 not found")  # personal data in the message

    async def record(booking: BookingSnapshot) -> None:
        seen.append("second")

    first = make_plugin("first", booking_cancelled=explode)
    second = make_plugin("second", booking_cancelled=record)
    ctx = await start_context(
        make_settings(plugins={"enabled": ["first", "second"]}), {"first": first, "second": second}
    )
    from core.audit.records import SYSTEM

    await ctx.hooks.call("booking_cancelled", booking=booking("cancelled"), reason=None, by=SYSTEM)
    assert seen == ["second"]
    rows = await ctx.db.fetch("SELECT entity, entity_id, action, changes FROM ajanda_audit")
    assert [(r["entity"], r["entity_id"], r["action"]) for r in rows] == [("plugin", "first", "hook_failed")]
    assert "booking_cancelled" in rows[0]["changes"]
    assert "+905551112233" not in rows[0]["changes"]


async def test_propagating_hook_aborts_and_rolls_back(make_settings, start_context) -> None:
    def veto(booking: BookingSnapshot, action: str) -> None:
        raise Vetoed("closed for inventory", field="start")

    ctx = await start_context(
        make_settings(plugins={"enabled": ["gate"]}), {"gate": make_plugin("gate", booking_validate=veto)}
    )
    with pytest.raises(Vetoed, match="inventory"):
        async with ctx.db.transaction():
            await ctx.outbox.enqueue("test.kind")
            await ctx.hooks.call("booking_validate", booking=booking(), action="create")
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM ajanda_job") == 0


async def test_in_transaction_hook_refuses_to_run_outside_one(context: AppContext) -> None:
    with pytest.raises(HookOutsideTransaction):
        await context.hooks.call("booking_validate", booking=booking(), action="create")


async def test_call_order_sync_and_async_and_context_injection(make_settings, start_context) -> None:
    order: list[str] = []

    def one(booking: BookingSnapshot, context: AppContext) -> str:
        order.append("one")
        assert context is not None
        return "one"

    async def two(booking: BookingSnapshot) -> str:
        order.append("two")
        return "two"

    ctx = await start_context(
        make_settings(plugins={"enabled": ["one", "two"]}),
        {"one": make_plugin("one", booking_completed=one), "two": make_plugin("two", booking_completed=two)},
    )
    # pluggy calls the last registered first.
    assert await ctx.hooks.call("booking_completed", booking=booking("completed")) == ["two", "one"]
    assert order == ["two", "one"]


async def test_unknown_arguments_are_rejected(context: AppContext) -> None:
    with pytest.raises(TypeError, match="booking_no_show"):
        await context.hooks.call("booking_no_show", booking=booking(), extra=1)


LIFECYCLE_CALLS = {
    "booking_created": {"booking": booking()},
    "booking_confirmed": {"booking": booking()},
    "booking_rescheduled": {"booking": booking(), "previous": booking()},
    "booking_completed": {"booking": booking("completed")},
    "booking_no_show": {"booking": booking("no_show")},
}


@pytest.mark.parametrize("hook", sorted(LIFECYCLE_CALLS))
async def test_booking_hooks_reach_plugins_after_commit(hook: str, make_settings, start_context) -> None:
    got: list[object] = []
    plugin = make_plugin("listener", **{hook: lambda booking: got.append(booking.id)})
    ctx = await start_context(make_settings(plugins={"enabled": ["listener"]}), {"listener": plugin})
    async with ctx.db.transaction():
        await ctx.hooks.call(hook, **LIFECYCLE_CALLS[hook])
        assert got == []
    assert got == [1]


async def test_customer_hooks_validate_in_transaction_and_notify_after(make_settings, start_context) -> None:
    from core import CustomerSnapshot

    events: list[str] = []

    def customer_validate(customer: CustomerSnapshot, action: str) -> None:
        if customer.name == "":
            raise Vetoed("a customer needs a name", field="name")
        events.append(f"validate:{action}")

    ctx = await start_context(
        make_settings(plugins={"enabled": ["crm"]}),
        {
            "crm": make_plugin(
                "crm",
                customer_validate=customer_validate,
                customer_created=lambda customer: events.append("created"),
                customer_updated=lambda customer, changed: events.append(f"updated:{','.join(changed)}"),
                customer_merged=lambda customer, merged_ids: events.append(f"merged:{merged_ids}"),
            )
        },
    )
    card = CustomerSnapshot(id=5, name="Ayşe")
    async with ctx.db.transaction():
        await ctx.hooks.call("customer_validate", customer=card, action="create")
        await ctx.hooks.call("customer_created", customer=card)
        await ctx.hooks.call("customer_updated", customer=card, changed=("phone",))
        await ctx.hooks.call("customer_merged", customer=card, merged_ids=(6, 7))
        assert events == ["validate:create"]
    assert events == ["validate:create", "created", "updated:phone", "merged:(6, 7)"]
    with pytest.raises(Vetoed, match="needs a name"):
        async with ctx.db.transaction():
            await ctx.hooks.call(
                "customer_validate", customer=CustomerSnapshot(id=0, name=""), action="update"
            )


async def test_startup_and_shutdown_hooks_run_once_each(make_settings) -> None:
    from core.context import build_context

    calls: list[str] = []

    async def startup(context: AppContext) -> None:
        calls.append("startup")

    def shutdown(context: AppContext) -> None:
        calls.append("shutdown")
        raise RuntimeError("isolated: shutting down continues")

    ctx = build_context(
        make_settings(plugins={"enabled": ["life"]}),
        {"life": make_plugin("life", startup=startup, shutdown=shutdown)},
    )
    await ctx.start(run_migrations=True)
    assert calls == ["startup"]
    await ctx.stop()
    assert calls == ["startup", "shutdown"]


async def test_a_consent_change_fires_customer_updated_with_the_channel(make_settings, start_context) -> None:
    from core.customers.consent import record_consent
    from core.customers.service import create_card, new_customer

    changes: list[tuple[int, tuple[str, ...]]] = []
    plugin = make_plugin(
        "crm", customer_updated=lambda customer, changed: changes.append((customer.id, changed))
    )
    ctx = await start_context(make_settings(plugins={"enabled": ["crm"]}), {"crm": plugin})
    card_id, _ = await create_card(ctx, new_customer(ctx, "Nur Ak", "0532 765 43 21", None, "staff"))
    await record_consent(ctx, card_id, "whatsapp", True, "web", datetime.now(UTC))
    assert changes == [(card_id, ("consent.whatsapp",))]
