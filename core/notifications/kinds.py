"""The kinds of message Ajanda sends, and what the law and good manners make of each.

Transactional messages (about a booking the customer made) need no marketing consent; commercial ones
(recall, win-back) go only to customers who consented on that channel, and in Turkey through the IYS
filter. Capped kinds count against the per-customer frequency cap; a reminder never does, because
missing it costs the customer their appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["transactional", "commercial"]
Recipient = Literal["customer", "staff"]


@dataclass(frozen=True)
class MessageKind:
    name: str
    category: Category
    recipient: Recipient
    capped: bool = False
    # Tied to a booking's time: useless once the booking has started.
    before_start: bool = False


KINDS: dict[str, MessageKind] = {
    k.name: k
    for k in (
        MessageKind("confirmation", "transactional", "customer", before_start=True),
        MessageKind("reminder", "transactional", "customer", before_start=True),
        MessageKind("rescheduled", "transactional", "customer", before_start=True),
        MessageKind("cancelled", "transactional", "customer"),
        MessageKind("waitlist_offer", "transactional", "customer", before_start=True),
        MessageKind("deposit_request", "transactional", "customer", before_start=True),
        MessageKind("thanks", "transactional", "customer", capped=True),
        MessageKind("recall", "commercial", "customer", capped=True),
        MessageKind("winback", "commercial", "customer", capped=True),
        MessageKind("staff_notice", "transactional", "staff"),
    )
}

# Template parts: the e-mail subject and text (its HTML is the text in the theme's layout unless the
# business wrote an `html` part), and the short text for SMS, WhatsApp and chat channels.
PARTS = ("subject", "text", "short", "html")
LANGUAGES = ("tr", "en")
