"""Which language a reader gets: what they asked for, what they chose before, what their browser says."""

from __future__ import annotations

LANGUAGES = ("tr", "en")
# The language a visitor picked with the switch, remembered for a year.
LANG_COOKIE = "ajanda_lang"


def language(requested: str | None, accept_language: str, default: str, remembered: str | None = None) -> str:
    """`?lang=` first, then the remembered choice, then the browser's first supported language, then
    the business default."""
    for choice in (requested, remembered):
        if choice in LANGUAGES:
            return str(choice)
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default if default in LANGUAGES else "tr"
