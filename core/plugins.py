"""Plugin discovery and loading: built-ins in `plugins/` and distributions in `ajanda.plugins`.

Discovery never imports anything: built-ins are found as modules and described from their docstring,
third-party plugins from their distribution metadata. Only the names in `[plugins] enabled` are then
imported, validated and registered; every other discovered name is blocked in the plugin manager.
Start-up is strict: every failure names the plugin.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pluggy

from core import hookspecs
from core.config import Settings, convert, problems
from core.db.migrate import MigrationSource
from core.errors import PluginError

ENTRY_POINT_GROUP = "ajanda.plugins"
ESSENTIAL = ("core.bookings.hooks", "core.notifications.hooks")
BUILTIN_PACKAGE = "plugins"


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin declares about itself as `PLUGIN = PluginMeta(...)` in its module."""

    name: str
    version: str
    description: str = ""
    # msgspec Struct for the `[plugin.<name>]` section (use forbid_unknown_fields=True).
    config: type[msgspec.Struct] | None = None
    # Plugins that must be enabled too; they are registered (and migrated) first.
    requires: tuple[str, ...] = ()
    # Plugins that, when enabled, are registered (and migrated) first.
    after: tuple[str, ...] = ()
    # Piccolo Table classes the plugin owns (names prefixed with the plugin name).
    tables: tuple[type, ...] = ()
    # Dotted package holding the plugin's `mNNNN_*.py` migrations.
    migrations: str | None = None


@dataclass(frozen=True)
class Discovered:
    name: str
    module: str
    origin: str  # "built-in" or the distribution name
    version: str
    description: str


@dataclass
class LoadedPlugin:
    meta: PluginMeta
    module: ModuleType
    origin: str
    config: Any


@dataclass
class PluginSet:
    """The enabled plugins of one app instance, in registration order, and its plugin manager."""

    pm: pluggy.PluginManager
    loaded: list[LoadedPlugin] = field(default_factory=list)
    discovered: dict[str, Discovered] = field(default_factory=dict)

    def config(self, name: str) -> Any:
        for plugin in self.loaded:
            if plugin.meta.name == name:
                return plugin.config
        raise KeyError(name)

    def tables(self) -> list[type]:
        return [t for p in self.loaded for t in p.meta.tables]

    def migration_sources(self) -> list[MigrationSource]:
        return [MigrationSource(p.meta.name, p.meta.migrations) for p in self.loaded if p.meta.migrations]

    @property
    def names(self) -> list[str]:
        return [p.meta.name for p in self.loaded]


def core_version() -> str:
    try:
        return importlib.metadata.version("ajanda")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+source"


def _docstring_summary(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def discover() -> dict[str, Discovered]:
    """Every installed plugin, without importing any of them."""
    found: dict[str, Discovered] = {}
    spec = importlib.util.find_spec(BUILTIN_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        version = core_version()
        for info in pkgutil.iter_modules(spec.submodule_search_locations):
            if info.name.startswith("_"):
                continue
            base = Path(info.module_finder.path)  # type: ignore[union-attr]
            source = base / info.name / "__init__.py" if info.ispkg else base / f"{info.name}.py"
            found[info.name] = Discovered(
                info.name,
                f"{BUILTIN_PACKAGE}.{info.name}",
                "built-in",
                version,
                _docstring_summary(source),
            )
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        origin = dist.name if dist is not None else "unknown distribution"
        if ep.name in found:
            other = found[ep.name].origin
            raise PluginError(ep.name, f"provided by both {other} and {origin}")
        found[ep.name] = Discovered(
            ep.name,
            ep.value.split(":")[0],
            origin,
            dist.version if dist is not None else "?",
            (dist.metadata["Summary"] or "") if dist is not None else "",
        )
    return dict(sorted(found.items()))


def _import(name: str, discovered: Discovered) -> tuple[ModuleType, PluginMeta]:
    try:
        module = importlib.import_module(discovered.module)
    except Exception as err:
        raise PluginError(name, f"import failed: {type(err).__name__}: {err}") from err
    meta = getattr(module, "PLUGIN", None)
    if not isinstance(meta, PluginMeta):
        raise PluginError(name, f"{discovered.module} has no PLUGIN = PluginMeta(...)")
    if meta.name != name:
        raise PluginError(name, f"PLUGIN.name is {meta.name!r}, expected {name!r}")
    return module, meta


def _plugin_config(name: str, meta: PluginMeta, settings: Settings) -> Any:
    section = settings.plugin.get(name, {})
    path = f"plugin.{name}"
    if meta.config is None:
        if section:
            raise PluginError(name, f"{path}: this plugin takes no configuration")
        return None
    found = problems(section, meta.config, path)
    if found:
        raise PluginError(name, "invalid configuration: " + "; ".join(found))
    return convert(section, meta.config, path)


def _order(metas: dict[str, PluginMeta]) -> list[str]:
    """Registration order: dependencies first, ties by the order in `enabled`."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise PluginError(name, "circular requires/after")
        visiting.add(name)
        meta = metas[name]
        for dep in (*meta.requires, *meta.after):
            if dep in metas:
                visit(dep)
        visiting.discard(name)
        ordered.append(name)

    for name in metas:
        visit(name)
    return ordered


def load_plugins(settings: Settings, extra: dict[str, ModuleType] | None = None) -> PluginSet:
    """Import, validate and register the enabled plugins into a new plugin manager.

    `extra` registers ready modules under a name (tests and embedding applications use it); they
    count as enabled.
    """
    discovered = discover()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    # The core's own features use the same hooks as plugins, registered first and always.
    for essential in ESSENTIAL:
        pm.register(importlib.import_module(essential), name=essential)
    enabled = list(dict.fromkeys(settings.plugins.enabled))
    for name in enabled:
        if name not in discovered and name not in (extra or {}):
            known = ", ".join(discovered) or "none"
            raise PluginError(name, f"is not installed (installed plugins: {known})")
    for name in discovered:
        if name not in enabled:
            pm.set_blocked(name)

    modules: dict[str, tuple[ModuleType, PluginMeta, str]] = {}
    for name in enabled:
        if extra and name in extra:
            module = extra[name]
            meta = getattr(module, "PLUGIN", None)
            if not isinstance(meta, PluginMeta):
                raise PluginError(name, "has no PLUGIN = PluginMeta(...)")
            modules[name] = (module, meta, "embedded")
        else:
            module, meta = _import(name, discovered[name])
            modules[name] = (module, meta, discovered[name].origin)
    for name, (_module, meta, _origin) in modules.items():
        for required in meta.requires:
            if required not in modules:
                raise PluginError(name, f"requires plugin {required!r}, which is not enabled")

    plugin_set = PluginSet(pm=pm, discovered=discovered)
    metas = {name: meta for name, (_m, meta, _o) in modules.items()}
    for name in _order(metas):
        module, meta, origin = modules[name]
        config = _plugin_config(name, meta, settings)
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as err:
            raise PluginError(name, f"invalid hook implementation: {err}") from err
        plugin_set.loaded.append(LoadedPlugin(meta, module, origin, config))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        plugin_name = pm.get_name(err.plugin) or "?"
        unknown = sorted(
            caller.name for caller in pm.hook.__dict__.values()
            if isinstance(caller, pluggy.HookCaller) and caller.spec is None
            and any(impl.plugin_name == plugin_name for impl in caller.get_hookimpls())
        )  # fmt: skip
        raise PluginError(
            plugin_name, f"implements unknown hook(s) {', '.join(unknown) or '?'} (no such hookspec)"
        ) from err
    return plugin_set
