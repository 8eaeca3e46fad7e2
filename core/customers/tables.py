"""Customer cards. Contact data is stored encrypted; `*_idx` columns are blind indexes for lookups."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Customer(Table, tablename="customer"):
    name = Varchar(length=200)
    phone_enc = Text(null=True, default=None)
    phone_idx = Varchar(length=40, null=True, default=None)
    phone_tail_idx = Varchar(length=40, null=True, default=None)  # last four digits, for search
    email_enc = Text(null=True, default=None)
    email_idx = Varchar(length=40, null=True, default=None)
    name_idx = Varchar(length=40, null=True, default=None)  # folded name, for near matches
    notes_enc = Text(null=True, default=None)
    language = Varchar(length=5, default="tr")
    preferred_channel = Varchar(length=20, null=True, default=None)
    tags = Text(default="[]")  # JSON list
    source = Varchar(length=20, default="staff")  # web | staff | api | import | demo
    merged_into = Integer(null=True, default=None)  # the card that now holds this one's history
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CustomerConsent(Table, tablename="customer_consent"):
    """Marketing consent per channel, as a ledger: the newest row per channel is the current state."""

    customer = ForeignKey(references=Customer)
    channel = Varchar(length=20)  # sms | whatsapp | email | call
    granted = Boolean()
    at = Timestamptz()
    source = Varchar(length=20)
    actor = Varchar(length=100)


class CustomerReview(Table, tablename="customer_review"):
    """A suspected duplicate pair (customer_a < customer_b, unique: raw DDL in m0012)."""

    customer_a = ForeignKey(references=Customer)
    customer_b = ForeignKey(references=Customer)
    reason = Varchar(length=200)  # comma-separated codes, see core/customers/duplicates.py
    status = Varchar(length=10, default="open")  # open | merged | dismissed
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = Varchar(length=120, null=True, default=None)
