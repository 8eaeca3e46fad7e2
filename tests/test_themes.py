"""Themes: the configured theme wins over the plugins, which win over the default theme; an override
can extend the file it replaces; `[web] theme` selects a shipped theme or a folder of one's own."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core import PluginMeta, hookimpl
from core.app import create_app
from core.config import Settings
from core.context import AppContext, build_context
from core.errors import ConfigError
from tests.conftest import api_client


def theme_plugin(folder: Path) -> types.ModuleType:
    """A plugin whose `web/` folder overrides the frame and the error page and adds a stylesheet."""
    (folder / "templates").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "templates" / "layout.html").write_text(
        '{% extends "core:layout.html" %}{% block header %}PLUGIN-FRAME {{ super() }}{% endblock %}'
    )
    (folder / "templates" / "error.html").write_text(
        '{% extends "core:error.html" %}{% block main %}PLUGIN-ERROR {{ super() }}{% endblock %}'
    )
    (folder / "static" / "plugin.css").write_text("body { margin: 0 }")
    module = types.ModuleType("skin")
    module.PLUGIN = PluginMeta(name="skin", version="1")  # type: ignore[attr-defined]

    def register_theme_dirs(context: AppContext) -> list[Path]:
        return [folder]

    module.register_theme_dirs = hookimpl(register_theme_dirs)  # type: ignore[attr-defined]
    return module


async def get(ctx: AppContext, path: str) -> Any:
    async with api_client(ctx) as client:
        return await client.get(path, headers={"accept-language": "en"})


async def test_default_theme_serves_its_frame_and_static_files(open_context: AppContext) -> None:
    login = await get(open_context, "/login")
    assert login.status_code == 200
    assert "/static/ajanda.css?v=" in login.text and "contrast.css" not in login.text
    css = await get(open_context, "/static/ajanda.css")
    assert css.status_code == 200 and "--accent" in css.text
    assert "max-age" in css.headers["cache-control"]
    assert (await get(open_context, "/static/htmx.min.js")).status_code == 200


async def test_contrast_theme_overrides_a_few_files_and_falls_back_to_the_default(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx = await start_context(make_settings(web={"theme": "contrast"}))
    login = await get(ctx, "/login")
    assert "/static/contrast.css?v=" in login.text  # the theme's frame
    assert "/static/ajanda.css?v=" in login.text  # ...extends the default one
    assert 'id="username"' in login.text  # the login page itself is the default theme's
    assert (await get(ctx, "/static/contrast.css")).status_code == 200
    assert (await get(ctx, "/static/ajanda.css")).status_code == 200
    missing = await get(ctx, "/feedback/not-a-token")
    assert missing.status_code == 404
    assert "please call us" in missing.text  # the theme's error page, extending the core one
    assert "Not found" in missing.text


async def test_chain_is_theme_then_plugin_then_core(
    make_settings: Callable[..., Settings], start_context: Any, tmp_path: Path
) -> None:
    plugin = theme_plugin(tmp_path / "skin")
    alone = await start_context(make_settings(plugins={"enabled": ["skin"]}), {"skin": plugin})
    page = await get(alone, "/feedback/not-a-token")
    assert "PLUGIN-FRAME" in page.text  # the plugin's frame wins over the core's
    assert "PLUGIN-ERROR" in page.text and "Not found" in page.text  # and extends it
    assert (await get(alone, "/static/plugin.css")).status_code == 200
    await alone.stop()

    themed = await start_context(
        make_settings(plugins={"enabled": ["skin"]}, web={"theme": "contrast"}), {"skin": plugin}
    )
    page = await get(themed, "/feedback/not-a-token")
    assert "PLUGIN-FRAME" not in page.text  # the theme's frame wins over the plugin's
    assert "contrast.css" in page.text
    assert "PLUGIN-ERROR" not in page.text  # the theme's error page too
    assert "please call us" in page.text


async def test_a_theme_folder_of_ones_own_and_an_unknown_theme(
    make_settings: Callable[..., Settings], start_context: Any, tmp_path: Path
) -> None:
    own = tmp_path / "my-theme"
    (own / "templates").mkdir(parents=True)
    (own / "templates" / "login.html").write_text(
        '{% extends "core:login.html" %}{% block title %}OUR SALON{% endblock %}'
    )
    ctx = await start_context(make_settings(web={"theme": str(own)}))
    assert "<title>OUR SALON</title>" in (await get(ctx, "/login")).text

    settings = make_settings(web={"theme": "neon"})
    with pytest.raises(ConfigError, match=r"web\.theme: no theme 'neon'.*contrast, default"):
        create_app(settings, context=build_context(settings), run_worker=False, migrate_on_start=False)
