"""Dates, times and money as each reader writes them (CLDR data through Babel).

Babel is imported when first used: start-up stays light for a worker that never formats anything.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo


def when(moment: datetime, zone: ZoneInfo, language: str) -> dict[str, str]:
    """{"date": "25 Kasım 2026 Çarşamba", "time": "10:00", "when": both} in the given zone."""
    local = moment.astimezone(zone)
    day = long_date(local.date(), language)
    clock = clock_time(local, language)
    return {"date": day, "time": clock, "when": f"{day} {clock}"}


def long_date(day: date, language: str) -> str:
    from babel.dates import format_date

    return format_date(day, format="full" if language == "en" else "d MMMM y EEEE", locale=language)


def short_date(day: date, language: str) -> str:
    """ "Wed 25 Nov" / "25 Kas Çar": for date pickers and calendar headers."""
    from babel.dates import format_date

    return format_date(day, format="EEE d MMM" if language == "en" else "d MMM EEE", locale=language)


def clock_time(moment: datetime, language: str) -> str:
    from babel.dates import format_time

    return format_time(moment.time(), format="HH:mm", locale=language)


def money(amount: str | Decimal | int, currency: str, language: str) -> str:
    """ "1.234,50 TL" in Turkish (the way Turkish prices are written), "₺1,234.50" in English."""
    from babel.numbers import format_currency, format_decimal

    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if currency == "TRY":
        return f"{format_decimal(value, format='#,##0.00', locale=language)} TL"
    return format_currency(value, currency, locale=language)
