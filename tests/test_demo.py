"""The demo business loads into an empty database, with encrypted contact data, and only once."""

from __future__ import annotations

from datetime import UTC, datetime

from core.context import AppContext
from core.customers.tables import Customer
from core.demo.loader import CUSTOMERS, load_demo
from core.privacy.crypto import FieldCipher
from core.scheduling.tables import Closure, Service, ServiceResource, Staff, WorkingHours


async def test_demo_loads_once_with_encrypted_contacts(context: AppContext) -> None:
    message = await load_demo(context)
    assert "demo business loaded" in message
    assert await Staff.count() == 4
    assert await Service.count() == 7
    assert await ServiceResource.count() == 2  # skincare and laser need their rooms
    assert await WorkingHours.count() == 4 * 6
    assert await Closure.count() == 7

    cipher = FieldCipher(context.settings.security.data_key.reveal())
    rows = await Customer.select(Customer.name, Customer.phone_enc, Customer.phone_idx)
    assert len(rows) == len(CUSTOMERS)
    first = next(r for r in rows if r["name"] == CUSTOMERS[0][0])
    assert CUSTOMERS[0][1] not in first["phone_enc"]
    assert cipher.decrypt(first["phone_enc"], "customer.phone") == CUSTOMERS[0][1]
    assert first["phone_idx"] == cipher.blind_index(CUSTOMERS[0][1], "customer.phone")

    changes = [r["changes"] for r in await context.db.fetch("SELECT changes FROM ajanda_audit")]
    assert any('"phone":"[redacted]"' in c for c in changes)
    assert not any(CUSTOMERS[0][1] in c for c in changes)

    statuses = {
        r["status"]: int(r["n"])
        for r in await context.db.fetch("SELECT status, COUNT(*) AS n FROM booking GROUP BY status")
    }
    assert statuses["completed"] > statuses["no_show"] > 0 and statuses["cancelled"] > 0
    assert statuses["confirmed"] > 0  # the weeks ahead
    future = await context.db.fetchval(
        "SELECT COUNT(*) FROM booking WHERE status = 'confirmed' AND start_at > ?", datetime.now(UTC)
    )
    assert future == statuses["confirmed"]
    assert "not loaded" in await load_demo(context)
    assert await Staff.count() == 4
