"""Rendering a page: the reader's language (remembered), the translations, and who is signed in.

Every server-rendered page goes through `page()`, so the language switch, the business name and the
template variables every layout needs are the same everywhere. Page routes carry `opt={"page": True}`:
their errors are shown as a page in the reader's language (a sign-in for 401), not as problem JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from core.locale.catalogs import translations
from core.locale.language import LANG_COOKIE, LANGUAGES, language
from core.web.auth import context_of

PAGE = {"page": True}
# A page that shows or posts a form: the CSRF middleware sets its cookie and checks the token.
PAGE_FORM = {"page": True, "form": True}


def page_language(request: Request[Any, Any, Any], fallback: str | None = None) -> str:
    """`?lang=`, the remembered switch, the browser, then `fallback` (a customer's own language) or
    the business default."""
    ctx = context_of(request)
    return language(
        request.query_params.get("lang"),
        request.headers.get("accept-language", "") if fallback is None else "",
        fallback or ctx.settings.business.default_language,
        request.cookies.get(LANG_COOKIE),
    )


Gettext = Callable[[str], str]


def gettext_for(request: Request[Any, Any, Any], lang: str | None = None) -> Gettext:
    """`_` for texts built in Python (form errors): the same catalogs as the templates, in `lang` or
    the page's language."""
    chosen = lang or page_language(request)
    return translations(chosen, request.app.state.get("locale_dirs", ())).gettext


def _switch_links(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The current address with `lang=<other>`: the switch keeps the visitor where they are."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {code: f"{quote(request.url.path)}?{urlencode([*params, ('lang', code)])}" for code in LANGUAGES}


def is_page(request: Request[Any, Any, Any]) -> bool:
    handler = request.scope.get("route_handler")
    return handler is not None and bool(handler.opt.get("page"))


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    lang: str | None = None,
    **values: Any,
) -> Template:
    """Render `template` for this reader. `lang` overrides the choice (a customer's own link)."""
    ctx = context_of(request)
    chosen = lang or page_language(request)
    principal = request.scope.get("state", {}).get("ajanda_principal")
    context: dict[str, Any] = {
        "lang": chosen,
        "translations": translations(chosen, request.app.state.get("locale_dirs", ())),
        "business": ctx.settings.business.name,
        "principal": principal,
        "path": request.url.path,
        "lang_links": _switch_links(request),
        **values,
    }
    cookies = []
    requested = request.query_params.get("lang")
    if requested in LANGUAGES and requested != request.cookies.get(LANG_COOKIE):
        cookies.append(
            Cookie(
                key=LANG_COOKIE,
                value=requested,
                path="/",
                max_age=365 * 86400,
                samesite="lax",
                secure=ctx.settings.access.secure_cookies,
            )
        )
    return Template(template_name=template, context=context, status_code=status, cookies=cookies)


def error_page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    """A page route's error as a page; an anonymous visitor of a signed-in page goes to the sign-in."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?{urlencode({'next': target})}", status_code=303)
    _ = gettext_for(request)
    titles = {
        403: _("You may not do this"),
        404: _("Not found"),
        409: _("This could not be done"),
        422: _("Please check what you entered"),
        429: _("Too many requests: please wait a minute and try again"),
    }
    title = titles.get(status, _("Something went wrong"))
    # The detail of a 5xx may say things the visitor need not know; the log has them.
    shown = detail if status < 500 else ""
    return page(request, "error.html", status=status, title=title, detail=shown)
