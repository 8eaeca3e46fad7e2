"""Every text a page shows exists in Turkish: each message id used in a template (any theme) or in
Python (`_()`, `gettext()`) has a Turkish translation with the same placeholders, and every catalog
parses. English needs no catalog: the message ids are the English text."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.locale.catalogs import CORE_LOCALE, po_files, translations
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_messages() -> dict[str, str]:
    """{message id: where it is used} from the templates of every theme and from the core's Python."""
    found: dict[str, str] = {}
    sources = [
        (ROOT / "themes", [("**/templates/**.html", "jinja2.ext:babel_extract")], {"**.html": {}}),
        (ROOT / "core", [("**.py", "python")], {}),
        (ROOT / "plugins", [("**.py", "python")], {}),
    ]
    for folder, method_map, options in sources:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map, options_map=options
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, f"{folder.name}/{filename}:{lineno}")
    return found


def test_every_page_text_has_a_turkish_translation_with_the_same_placeholders() -> None:
    used = used_messages()
    assert len(used) > 20, "the extraction found almost nothing: is it still reading the templates?"
    turkish = translations("tr")
    missing = [
        f"{where}: {msgid!r}" for msgid, where in sorted(used.items()) if turkish.gettext(msgid) == msgid
    ]
    assert not missing, f"{len(missing)} text(s) without Turkish:\n" + "\n".join(missing)
    wrong = [
        f"{where}: {msgid!r}"
        for msgid, where in sorted(used.items())
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(turkish.gettext(msgid)))
    ]
    assert not wrong, "placeholders differ between English and Turkish:\n" + "\n".join(wrong)


def test_catalogs_parse_and_agree_with_no_fuzzy_or_empty_entries() -> None:
    files = po_files("tr", [CORE_LOCALE, *sorted((ROOT / "themes").glob("*/locale"))])
    assert files
    problems: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for path in files:
        with Path(path).open("rb") as handle:
            catalog = read_po(handle, locale="tr")
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                problems.append(f"{path.name}: fuzzy {message.id!r}")
            if not message.string:
                problems.append(f"{path.name}: empty {message.id!r}")
            # One English text, one Turkish text: which file wins must not change what a page says.
            earlier = seen.setdefault(str(message.id), (path.name, str(message.string)))
            if earlier[1] != message.string:
                problems.append(
                    f"{message.id!r}: {earlier[0]} says {earlier[1]!r}, {path.name} says {message.string!r}"
                )
    assert not problems, "\n".join(problems)
