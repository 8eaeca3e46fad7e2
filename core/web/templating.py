"""The Jinja environment of the pages: the theme chain, gettext, and the locale's dates and money.

Templates are rendered with the reader's translations in their context (`translations`), so one
environment serves every language at once; `_()`, `gettext()`, `ngettext()` and `{% trans %}` read it.
Autoescaping is on for every page; an undefined variable is an error, so a typo fails the tests
instead of showing an empty field.
"""

from __future__ import annotations

import gettext as gettext_module
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from core.locale import formats
from core.themes import ThemeChain

_NULL = gettext_module.NullTranslations()


def _translations(context: Any) -> gettext_module.NullTranslations:
    found = context.get("translations")
    return found if isinstance(found, gettext_module.NullTranslations) else _NULL


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return _translations(context).gettext(message)


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return _translations(context).ngettext(singular, plural, n)


@jinja2.pass_context
def _money(context: Any, amount: Any, currency: str) -> str:
    return formats.money(amount, currency, context.get("lang", "tr"))


@jinja2.pass_context
def _long_date(context: Any, day: date | datetime) -> str:
    return formats.long_date(day.date() if isinstance(day, datetime) else day, context.get("lang", "tr"))


@jinja2.pass_context
def _short_date(context: Any, day: date | datetime) -> str:
    return formats.short_date(day.date() if isinstance(day, datetime) else day, context.get("lang", "tr"))


@jinja2.pass_context
def _clock(context: Any, moment: datetime) -> str:
    return formats.clock_time(moment, context.get("lang", "tr"))


def local(moment: datetime, zone: ZoneInfo | str) -> datetime:
    return moment.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone))


def boosted() -> Markup:
    """The attributes of a wrapper whose links and forms htmx follows in place: the server answers
    with the whole page and htmx takes its #main. Without JavaScript they are plain links and forms."""
    return Markup('hx-boost="true" hx-target="#main" hx-select="#main" hx-swap="outerHTML show:window:top"')


def page_environment(chain: ThemeChain, asset_version: str) -> jinja2.Environment:
    """Templates from the chain, best first; `name:file.html` reaches one link of it directly."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(p) for p in chain.folders("templates")]),
            jinja2.PrefixLoader(
                {name: jinja2.FileSystemLoader(str(p)) for name, p in chain.named("templates").items()},
                delimiter=":",
            ),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(money=_money, long_date=_long_date, short_date=_short_date, clock=_clock, local=local)
    env.globals["static"] = lambda path: f"/static/{path}?v={asset_version}"
    env.globals["boosted"] = boosted
    return env


def page_engine(chain: ThemeChain, asset_version: str) -> JinjaTemplateEngine:
    return JinjaTemplateEngine.from_environment(page_environment(chain, asset_version))
