"""Translations of what pages say, from gettext `.po` catalogs (English message ids, Turkish catalogs).

The `.po` files are the source: they are compiled in memory when first needed, so there is no build
step and no binary `.mo` file to keep in step. Each area of the product has its own file (`booking.po`,
`manage.po`, `admin.po`...) so areas can change independently; all files of a language are merged.
A theme or plugin folder with `locale/<lang>/LC_MESSAGES/*.po` adds or overrides wording.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterable
from pathlib import Path

from core.locale.language import LANGUAGES

CORE_LOCALE = Path(__file__).resolve().parent


def _compiled(po_file: Path, lang: str) -> gettext.GNUTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def translations(lang: str, extra: tuple[Path, ...] = ()) -> gettext.NullTranslations:
    """The merged catalogs of one language; English falls back to the message ids themselves.

    `extra` folders come first (a theme's or plugin's wording wins over the core's)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    merged: gettext.NullTranslations = gettext.NullTranslations()
    files = [*po_files(lang, extra), *po_files(lang, (CORE_LOCALE,))]
    for po_file in reversed(files):  # later (better) catalogs are added as the primary
        compiled = _compiled(po_file, lang)
        compiled.add_fallback(merged)
        merged = compiled
    return merged


def po_files(lang: str, folders: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        found.extend(sorted((folder / lang / "LC_MESSAGES").glob("*.po")))
    return found
