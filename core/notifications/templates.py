"""Message templates: the business's edits (database) over its template directory over the theme.

Templates run in Jinja's sandbox because the business edits them through the admin: a template can
format what it is given and nothing more (no attribute walks into Python internals). Parts per kind and
language: `subject`, `text` (the e-mail), `short` (SMS, WhatsApp, chat) and optionally `html`; without an
`html` part the e-mail's HTML is its text, paragraphed and linked, inside the theme's `_email.html`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from core.errors import FieldError
from core.notifications.channels import EMAIL
from core.notifications.kinds import KINDS, LANGUAGES, PARTS
from core.themes import THEME_TEMPLATES

if TYPE_CHECKING:
    from core.context import AppContext

_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def template_name(kind: str, part: str, language: str) -> str:
    extension = "html" if part == "html" else "txt"
    return f"messages/{kind}/{part}.{language}.{extension}"


def text_to_html(text: str) -> Markup:
    """Paragraphs for blank lines, <br> for line breaks, links made clickable; everything escaped."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [
            _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', str(escape(line)))
            for line in block.splitlines()
        ]
        paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(paragraphs))


class Templates:
    """One sandboxed environment per version of the business's edits (rebuilt when they change)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._version: tuple[Any, ...] | None = None
        self._env: SandboxedEnvironment | None = None

    async def _environment(self) -> SandboxedEnvironment:
        rows = await self.ctx.db.fetch("SELECT COUNT(*) AS n, MAX(updated_at) AS at FROM message_template")
        version = (int(rows[0]["n"] or 0), str(rows[0]["at"]))
        if self._env is None or version != self._version:
            edits = await self.ctx.db.fetch("SELECT kind, part, language, body FROM message_template")
            self._env = environment(
                {template_name(r["kind"], r["part"], r["language"]): r["body"] for r in edits},
                self.ctx.settings.messages.templates_dir,
                self.ctx.settings.base_dir,
            )
            self._version = version
        return self._env

    async def render(self, kind: str, medium: str, language: str, variables: dict[str, Any]) -> Rendered:
        env = await self._environment()
        language = language if language in LANGUAGES else self.ctx.settings.business.default_language
        values = {**variables, "lang": language, "kind": kind}

        def part(name: str) -> str:
            return env.get_template(template_name(kind, name, language)).render(values).strip()

        subject = " ".join(part("subject").split())
        if medium != EMAIL:
            return Rendered(subject, part("short"), None)
        text = part("text")
        try:
            html = part("html")
        except jinja2.TemplateNotFound:
            layout = env.get_template("messages/_email.html")
            html = layout.render({**values, "subject": subject, "body_html": text_to_html(text)})
        return Rendered(subject, text, html)


def environment(
    edits: dict[str, str], templates_dir: str, base_dir: str, strict: bool = False
) -> SandboxedEnvironment:
    """Sending is lenient (an optional value that is absent prints nothing); checking an edit is
    strict, so a misspelt variable or a reach for an unsafe attribute is refused before it is kept."""
    loaders: list[jinja2.BaseLoader] = [jinja2.DictLoader(edits)]
    if templates_dir:
        path = Path(templates_dir)
        loaders.append(jinja2.FileSystemLoader(path if path.is_absolute() else Path(base_dir) / path))
    loaders.append(jinja2.FileSystemLoader(THEME_TEMPLATES))
    return SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined if strict else jinja2.ChainableUndefined,
    )


def shipped_environment(ctx: AppContext) -> SandboxedEnvironment:
    """The files a message falls back to when the business has not edited it: its directory, the theme."""
    return environment({}, ctx.settings.messages.templates_dir, ctx.settings.base_dir)


def check_names(kind: str, part: str, language: str) -> None:
    """A template's address: a known kind, part and language, or a 422 naming which is not."""
    if kind not in KINDS:
        raise FieldError("kind", f"unknown message kind {kind!r}; one of {', '.join(KINDS)}")
    if part not in PARTS:
        raise FieldError("part", f"unknown part {part!r}; one of {', '.join(PARTS)}")
    if language not in LANGUAGES:
        raise FieldError("language", f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")


def check_template(kind: str, part: str, language: str, body: str) -> None:
    """Refuse an edit that would break sending: unknown kind/part/language, bad syntax, or a
    template that fails on a sample message (the error names the line)."""
    check_names(kind, part, language)
    env = environment({}, "", ".", strict=True)
    try:
        env.from_string(body).render(SAMPLE)
    except jinja2.TemplateSyntaxError as err:
        raise FieldError("body", f"line {err.lineno}: {err.message}") from None
    except Exception as err:
        raise FieldError("body", f"the template fails on a sample message: {err}") from None


# A complete sample message context: the template check renders with it, and the docs list its keys.
SAMPLE: dict[str, Any] = {
    "business": {"name": "Salon Ajanda"},
    "customer": {"name": "Ayşe Yılmaz", "first_name": "Ayşe"},
    "booking": {
        "id": 42, "service": "Saç kesimi", "staff": "Elif", "location": "Kadıköy",
        "address": "Moda Cad. 1, İstanbul", "date": "25 Kasım 2026 Çarşamba", "time": "14:30",
        "when": "25 Kasım 2026 Çarşamba 14:30", "duration_min": 45, "price": "750.00", "currency": "TRY",
        "deposit_due": "200.00", "hold_expires": "24 Kasım 2026 Salı 18:00", "customer": "Ayşe Yılmaz",
    },
    "previous": {"date": "24 Kasım 2026 Salı", "time": "10:00", "when": "24 Kasım 2026 Salı 10:00"},
    "reason": "", "offset_hours": 48, "offer": {"expires": "24 Kasım 2026 Salı 18:00"},
    "service": "Cilt bakımı", "change": "created", "lang": "tr", "kind": "confirmation",
    "last_visit": {
        "date": "1 Ağustos 2026 Cumartesi", "time": "10:00", "when": "1 Ağustos 2026 Cumartesi 10:00",
    },
    "links": {
        "manage": "https://example.com/self/abc", "feedback": "https://example.com/feedback/abc",
        "book": "https://example.com/book", "pay": "", "unsubscribe": "",
    },
}  # fmt: skip
