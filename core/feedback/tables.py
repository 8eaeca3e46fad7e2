"""What customers said about a visit, through the link in the thank-you message."""

from piccolo.columns import BigInt, Integer, Text, Timestamptz
from piccolo.table import Table


class BookingFeedback(Table, tablename="booking_feedback"):
    booking = BigInt(unique=True)  # one per visit; answering again replaces it
    customer = BigInt(null=True, default=None)
    rating = Integer()  # 1..5
    comment_enc = Text(null=True, default=None)  # free text may name people: encrypted
    created_at = Timestamptz()
    updated_at = Timestamptz()
