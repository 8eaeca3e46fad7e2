"""Messages to customers and staff, every attempt to deliver them, and the business's template edits."""

from piccolo.columns import BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Message(Table, tablename="message"):
    """One message (booking x kind x offset...), whatever number of attempts it takes."""

    dedupe_key = Varchar(length=200, unique=True)
    kind = Varchar(length=40)
    category = Varchar(length=15)  # transactional | commercial
    recipient = Varchar(length=10)  # customer | staff
    customer = BigInt(null=True, default=None)
    booking = BigInt(null=True, default=None)
    staff = BigInt(null=True, default=None)
    # queued -> sending -> sent | retrying -> ... -> failed; or suppressed (with the reason in detail)
    status = Varchar(length=12)
    channel = Varchar(length=60, null=True, default=None)
    medium = Varchar(length=20, null=True, default=None)
    language = Varchar(length=5, default="tr")
    detail = Varchar(length=200, default="")  # a reason code, never personal data
    attempts = Integer(default=0)
    payload = Text(default="{}")  # the job's payload, for "resend" (ids and reason codes only)
    due_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class MessageAttempt(Table, tablename="message_attempt"):
    """One try on one channel; the provider's refusal is kept encrypted (it may quote the address)."""

    message = ForeignKey(references=Message)
    channel = Varchar(length=60)
    medium = Varchar(length=20)
    status = Varchar(length=10)  # sending | sent | failed
    error_enc = Text(null=True, default=None)
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class MessageTemplate(Table, tablename="message_template"):
    """A template part the business rewrote; it wins over the theme's file of the same name."""

    kind = Varchar(length=40)
    part = Varchar(length=10)  # subject | text | short | html
    language = Varchar(length=5)
    body = Text()
    updated_at = Timestamptz()
    updated_by = Varchar(length=120)
