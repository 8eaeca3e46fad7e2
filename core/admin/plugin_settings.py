"""A plugin's settings form, generated from its config Struct, and saving it into config.toml.

Each field of `PluginMeta.config` becomes an input by its type (msgspec.inspect): text, a number with
the Struct's bounds, a checkbox, a select for a Literal or an enum, a textarea with one value per line
for a list of strings or choices, a password input for a `Secret` (never filled in: left empty, the
current value is kept). A list of Structs (notify_apprise's channels) is edited as TOML in a textarea,
with literal secrets shown as "***" (kept when left so) and `$env`/`$file` references shown as they are.

Saving checks the table with `core.config.problems` against the Struct, then rewrites only
`[plugin.<name>]` in the config file with tomlkit, so comments and other sections stay; keys whose
value did not change are not touched. The running process keeps the configuration it started with.
"""

from __future__ import annotations

import enum
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import tomlkit
from msgspec import inspect as mi

from core.config import Secret, problems
from core.plugins import Discovered, PluginMeta, PluginSet, _import

MASK = "***"
# A placeholder standing for a kept secret while the table is checked (its type is all that matters).
KEPT = "kept-secret"


@dataclass
class PluginField:
    """One input of the generated form."""

    name: str
    kind: str  # text | number | checkbox | select | lines | secret | toml
    required: bool
    default: Any = None
    options: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    step: str = "1"
    max_length: int | None = None
    optional: bool = False  # `X | None`: empty means none
    item: Any = None  # the msgspec type of a list's item (lines, toml)
    has_secrets: bool = False  # a toml field whose Structs hold Secret fields


def _unwrap(typ: Any) -> tuple[Any, bool]:
    if isinstance(typ, mi.UnionType):
        rest = [t for t in typ.types if not isinstance(t, mi.NoneType)]
        if len(rest) == 1:
            return rest[0], True
    return typ, False


def _secret_names(struct: mi.StructType) -> list[str]:
    return [f.encode_name for f in struct.fields if isinstance(_unwrap(f.type)[0], mi.CustomType)
            and _unwrap(f.type)[0].cls is Secret]  # fmt: skip


def describe(config: type[msgspec.Struct]) -> list[PluginField]:
    """The form's fields, in the Struct's order."""
    info = mi.type_info(config)
    assert isinstance(info, mi.StructType)
    out: list[PluginField] = []
    for f in info.fields:
        typ, optional = _unwrap(f.type)
        default = None
        if f.default is not mi.NODEFAULT:
            default = f.default
        elif f.default_factory is not mi.NODEFAULT:
            default = f.default_factory()
        entry = PluginField(f.encode_name, "text", f.required, default, optional=optional)
        if isinstance(typ, mi.BoolType):
            entry.kind = "checkbox"
        elif isinstance(typ, mi.IntType | mi.FloatType):
            entry.kind = "number"
            entry.step = "1" if isinstance(typ, mi.IntType) else "any"
            entry.minimum = typ.ge if typ.ge is not None else typ.gt
            entry.maximum = typ.le if typ.le is not None else typ.lt
        elif isinstance(typ, mi.LiteralType):
            entry.kind, entry.options = "select", [str(v) for v in typ.values]
        elif isinstance(typ, mi.EnumType):
            entry.kind, entry.options = "select", [str(m.value) for m in typ.cls]
        elif isinstance(typ, mi.CustomType) and typ.cls is Secret:
            entry.kind = "secret"
        elif isinstance(typ, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            item, _ = _unwrap(typ.item_type)
            entry.item = item
            if isinstance(item, mi.StructType):
                entry.kind, entry.has_secrets = "toml", bool(_secret_names(item))
            elif isinstance(item, mi.StrType | mi.LiteralType | mi.IntType | mi.FloatType | mi.EnumType):
                entry.kind = "lines"
                if isinstance(item, mi.LiteralType):
                    entry.options = [str(v) for v in item.values]
            else:
                entry.kind = "toml"
        elif isinstance(typ, mi.StrType):
            entry.max_length = typ.max_length
        elif not isinstance(typ, mi.StrType):
            entry.kind = "toml"
        out.append(entry)
    return out


# -------------------------------------------------------------------------------------------------
# Which plugin, and its current values


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    description: str
    origin: str
    enabled: bool
    config: type[msgspec.Struct] | None
    error: str = ""  # the plugin could not be imported (its form cannot be shown)


def plugin_list(plugins: PluginSet) -> list[PluginInfo]:
    """Enabled plugins first (in registration order), then the other discovered ones."""
    out = [
        PluginInfo(p.meta.name, p.meta.version, p.meta.description, p.origin, True, p.meta.config)
        for p in plugins.loaded
    ]
    for name, found in plugins.discovered.items():
        if name not in plugins.names:
            out.append(PluginInfo(name, found.version, found.description, found.origin, False, None))
    return out


def plugin_info(plugins: PluginSet, name: str) -> PluginInfo | None:
    """An enabled plugin, or a discovered one imported for its config Struct (to prepare its table
    before enabling it)."""
    for p in plugins.loaded:
        if p.meta.name == name:
            return PluginInfo(name, p.meta.version, p.meta.description, p.origin, True, p.meta.config)
    found: Discovered | None = plugins.discovered.get(name)
    if found is None:
        return None
    try:
        _module, meta = _import(name, found)
    except Exception as err:  # a broken plugin's page says so instead of failing
        return PluginInfo(name, found.version, found.description, found.origin, False, None, str(err))
    return _info_from(meta, found)


def _info_from(meta: PluginMeta, found: Discovered) -> PluginInfo:
    return PluginInfo(meta.name, meta.version, meta.description, found.origin, False, meta.config)


def file_table(source: str | None, name: str) -> dict[str, Any]:
    """`[plugin.<name>]` as written in the file (secret references unresolved)."""
    if source is None:
        return {}
    try:
        with open(source, "rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = raw.get("plugin", {}).get(name, {})
    return table if isinstance(table, dict) else {}


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) in ({"$env"}, {"$file"})


def _masked_items(items: list[Any], secrets: list[str]) -> list[Any]:
    """Struct items for the TOML textarea: literal secrets as "***", references as they are."""
    out = []
    for item in items:
        if isinstance(item, dict):
            item = {k: (MASK if k in secrets and isinstance(v, str) else v) for k, v in item.items()}
        out.append(item)
    return out


def _toml_text(name: str, items: list[Any]) -> str:
    if not items:
        return ""
    doc = tomlkit.document()
    array = tomlkit.aot()
    for item in items:
        array.append(tomlkit.item(item))
    doc[name] = array
    return tomlkit.dumps(doc).strip()


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value, enc_hook=lambda v: MASK if isinstance(v, Secret) else str(v))
    return value


def form_values(
    fields: list[PluginField], current: dict[str, Any], written: dict[str, Any]
) -> dict[str, str]:
    """Text for each input: the current value (running config), a secret never; list-of-Struct
    fields from the file as written (references kept), with literal secrets masked."""
    values: dict[str, str] = {}
    for f in fields:
        value = current.get(f.name, f.default)
        if f.kind == "secret":
            values[f.name] = ""
        elif f.kind == "checkbox":
            values[f.name] = "1" if value else "0"
        elif f.kind == "lines":
            values[f.name] = "\n".join(str(_plain(v)) for v in (value or []))
        elif f.kind == "toml":
            items = written[f.name] if f.name in written else (value or [])
            plain = [i if isinstance(i, dict) else _plain(i) for i in items]
            secrets = _secret_names(f.item) if isinstance(f.item, mi.StructType) else []
            values[f.name] = _toml_text(f.name, _masked_items(plain, secrets))
        else:
            values[f.name] = "" if value is None else str(_plain(value))
    return values


# -------------------------------------------------------------------------------------------------
# Posted form -> the table to check and the table to write


def _scalar(f: PluginField, text: str) -> Any:
    """The typed value of one input (a wrong one is left as text for `problems` to name)."""
    if f.kind == "number":
        try:
            return int(text) if f.step == "1" else float(text)
        except ValueError:
            return text
    return text


def _lines(f: PluginField, text: str) -> list[Any]:
    values = [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(f.item, mi.IntType | mi.FloatType):
        number = PluginField(f.name, "number", True, step="1" if isinstance(f.item, mi.IntType) else "any")
        return [_scalar(number, v) for v in values]
    return values


@dataclass
class Parsed:
    check: dict[str, Any]  # with kept secrets as a placeholder: what `problems` reads
    write: dict[str, Any]  # with kept secrets as written in the file (references untouched)
    errors: dict[str, str]


def parse(fields: list[PluginField], posted: dict[str, str], written: dict[str, Any]) -> Parsed:
    """The posted inputs as a TOML table. An input left at its default and absent from the file is
    not added, so the file only grows by what was set."""
    check: dict[str, Any] = {}
    write: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        text = posted.get(f.name, "")
        if f.kind == "secret":
            if text:
                check[f.name] = write[f.name] = text
            elif f.name in written:
                check[f.name], write[f.name] = KEPT, written[f.name]
            continue
        if f.kind == "checkbox":
            value: Any = text in ("1", "on", "true")
        elif f.kind == "lines":
            value = _lines(f, text)
        elif f.kind == "toml":
            try:
                loaded = tomllib.loads(text) if text.strip() else {}
            except tomllib.TOMLDecodeError as err:
                errors[f.name] = f"TOML: {err}"
                continue
            unknown = [k for k in loaded if k != f.name]
            if unknown:
                errors[f.name] = f"TOML: [[{f.name}]] only (found {', '.join(unknown)})"
                continue
            value = loaded.get(f.name, [])
            secrets = _secret_names(f.item) if isinstance(f.item, mi.StructType) else []
            before = written.get(f.name, [])
            kept_check: list[Any] = []
            kept_write: list[Any] = []
            for i, item in enumerate(value if isinstance(value, list) else []):
                if not isinstance(item, dict):
                    kept_check.append(item)
                    kept_write.append(item)
                    continue
                as_checked, as_written = dict(item), dict(item)
                for key in secrets:
                    old = before[i].get(key) if i < len(before) and isinstance(before[i], dict) else None
                    if item.get(key) == MASK and old is not None:
                        as_checked[key], as_written[key] = KEPT, old
                    elif _is_reference(item.get(key)):
                        as_checked[key] = KEPT
                kept_check.append(as_checked)
                kept_write.append(as_written)
            if isinstance(value, list):
                check[f.name], write[f.name] = kept_check, kept_write
            else:
                check[f.name] = write[f.name] = value
            if not text.strip() and f.name not in written:
                del check[f.name], write[f.name]
            continue
        elif f.optional and not text.strip():
            if f.name in written:
                errors[f.name] = "remove this key from the file to leave it unset"
            continue
        else:
            value = _scalar(f, text)
        if f.name not in written and value == f.default and not f.required:
            continue
        check[f.name] = write[f.name] = value
    return Parsed(check, write, errors)


def table_problems(
    config: type[msgspec.Struct], name: str, table: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """Each field's first problem: (where inside the field, e.g. "[0].url", or "", the message)."""
    found: dict[str, tuple[str, str]] = {}
    prefix = f"plugin.{name}."
    for problem in problems(table, config, f"plugin.{name}"):
        path, _sep, message = problem.partition(": ")
        key = path.removeprefix(prefix).split("[", 1)[0].split(".", 1)[0]
        where = path.removeprefix(prefix)[len(key) :]
        found.setdefault(key, (where.lstrip("."), message))
    return found


def write_table(source: str, name: str, table: dict[str, Any]) -> None:
    """Rewrite `[plugin.<name>]` in the file: unchanged keys are left as they are (with their
    comments), changed ones replaced, removed ones dropped; the rest of the file is untouched.
    Written to a temporary file and renamed, so a crash never leaves half a config."""
    path = Path(source)
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    if "plugin" not in doc:
        doc.add("plugin", tomlkit.table(is_super_table=True))
    plugins = doc["plugin"]
    assert isinstance(plugins, dict)
    if name not in plugins:
        plugins[name] = tomlkit.table()
    current = plugins[name]
    assert isinstance(current, dict)
    for key in [k for k in current if k not in table]:
        del current[key]
    for key, value in table.items():
        if key in current and _unwrapped(current[key]) == value:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            array = tomlkit.aot()
            for item in value:
                array.append(tomlkit.item(item))
            current[key] = array
        else:
            current[key] = value
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(doc))
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _unwrapped(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value
