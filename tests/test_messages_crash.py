"""`kill -9` of a real worker process in the middle of a batch of messages, then a restart: every due
message reaches the SMTP server, and none twice (on both engines).

The only message that can arrive twice is one the server accepted in the instant before the killed
worker recorded it; that attempt is then marked "interrupted" in the log, so the test allows a
duplicate exactly where the log admits one, and never elsewhere.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.bookings.service import BookingService, NewBooking
from core.config import load_settings
from core.context import AppContext
from tests import business as biz
from tests.messaging import SmtpServer, smtp_server
from tests.plugin_install import write_config
from tests.test_messages import customer, day_at
from tests.test_outbox_crash import Workers, kill9, wait_until, workers

__all__ = ["smtp_server", "workers"]  # fixtures

pytestmark = pytest.mark.slow

COUNT = 120


async def test_kill_9_mid_batch_then_restart_delivers_every_message_once(
    tmp_path: Path,
    database_url: str,
    secrets_: dict[str, str],
    start_context: Callable[..., Any],
    workers: Callable[[Path], Workers],
    smtp_server: SmtpServer,
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=secrets_,
        database={"url": database_url},
        plugins={"enabled": ["notify_apprise"]},
        plugin={
            "notify_apprise": {"channels": [{"name": "mail", "medium": "email", "url": smtp_server.url()}]}
        },
        worker={
            "lease": 2.0,
            "poll_interval": 0.2,
            "backoff_base": 0.2,
            "backoff_max": 1.0,
            "batch_size": 20,
        },
        # Quiet hours off: the test must not depend on the hour it runs at.
        messages={"quiet_start": "00:00", "quiet_end": "00:00", "disabled_kinds": ["staff_notice"]},
        logging={"level": "INFO", "access_log": False},
    )
    ctx: AppContext = await start_context(load_settings(config))
    shop = await biz.build(staff=6, hours=("08:00", "20:00"))
    cut = await biz.add_service(shop, "Haircut")
    service = BookingService(ctx)
    for i in range(COUNT):
        who = await customer(ctx, f"Customer {i}", email=f"c{i}@example.com", language="en")
        await service.create(
            NewBooking(service_id=cut, start=day_at(3 + i // 60, 8 + (i % 60) // 6), customer_id=who)
        )

    group = workers(config)
    first = group.start()

    async def some_delivered() -> bool:
        return len(smtp_server.mailbox.messages) >= 15

    await wait_until(some_delivered, "the first confirmations", group)
    kill9(first)
    delivered_before = len(smtp_server.mailbox.messages)
    assert delivered_before < COUNT, "the worker finished before it could be killed mid-batch"

    group.start()

    async def all_sent() -> bool:
        value = await ctx.db.fetchval("SELECT COUNT(*) FROM message WHERE status = 'sent'")
        return int(value or 0) == COUNT

    await wait_until(all_sent, "every confirmation", group)
    await asyncio.sleep(0.5)  # nothing else should arrive
    received = Counter(r[0] for r in smtp_server.mailbox.recipients)
    assert set(received) == {f"c{i}@example.com" for i in range(COUNT)}
    twice = {address for address, n in received.items() if n > 1}
    interrupted = await ctx.db.fetch(
        "SELECT m.customer FROM message_attempt a JOIN message m ON m.id = a.message"
        " WHERE a.status = 'failed' AND a.error_enc IS NOT NULL"
    )
    assert len(twice) <= len(interrupted) <= 1, (twice, len(interrupted), group.output())
    assert max(received.values()) <= 2
