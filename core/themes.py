"""Where pages and messages find their templates and static files: theme -> plugins -> core.

A theme is a folder with `templates/` and `static/`; it may hold only the few files it changes. The
default theme is complete and is always last in the chain, so a theme or a plugin that lacks a file
falls back to it. Each link of the chain is also reachable by name (`core:`, `theme:`, `<plugin>:`)
so an override can extend the template it replaces: `{% extends "core:booking/layout.html" %}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.context import AppContext

THEMES_ROOT = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = THEMES_ROOT / "default"
THEME_TEMPLATES = DEFAULT_THEME / "templates"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class ThemeChain:
    """The folders to search, best first, each with the name an override uses to reach it."""

    links: tuple[tuple[str, Path], ...] = field(default_factory=tuple)

    def folders(self, kind: str) -> list[Path]:
        """Existing `templates` or `static` folders, best first."""
        return [folder / kind for _name, folder in self.links if (folder / kind).is_dir()]

    def named(self, kind: str) -> dict[str, Path]:
        return {name: folder / kind for name, folder in self.links if (folder / kind).is_dir()}


def theme_folder(theme: str, base_dir: str) -> Path:
    """The configured theme's folder: a name under themes/, or a path (relative to the config file)."""
    folder = THEMES_ROOT / theme if _NAME.match(theme) else Path(base_dir) / theme
    if not ((folder / "templates").is_dir() or (folder / "static").is_dir()):
        known = sorted(p.name for p in THEMES_ROOT.iterdir() if (p / "templates").is_dir())
        raise ConfigError(
            [
                f"web.theme: no theme {theme!r} (a folder with templates/ or static/);"
                f" shipped: {', '.join(known)}"
            ]
        )
    return folder


def theme_chain(ctx: AppContext) -> ThemeChain:
    settings = ctx.settings
    links: list[tuple[str, Path]] = []
    chosen = theme_folder(settings.web.theme, settings.base_dir)
    if chosen.resolve() != DEFAULT_THEME:
        links.append(("theme", chosen))
    for plugin, folders in ctx.hooks.per_plugin_sync("register_theme_dirs", context=ctx):
        for i, folder in enumerate(folders):
            links.append((plugin if i == 0 else f"{plugin}{i}", Path(folder)))
    links.append(("core", DEFAULT_THEME))
    return ThemeChain(tuple(links))
