"""The documentation keeps up with the code (as datasette's tests/test_docs.py does).

- every hook in core/hookspecs.py has a section in docs/plugin_hooks.md headed by its exact signature,
  and no section documents a hook that does not exist;
- every hook is fired by at least one test (a hookimpl `def <hook>(`, a `make_plugin(..., <hook>=...)`
  keyword, or a `hooks.call("<hook>"`, `call_sync("<hook>"` or `per_plugin_sync("<hook>"` in tests/);
- every key of every core config Struct is in config.example.toml (uncommented) and in
  docs/configuration.md, and the example is a valid configuration;
- every relative link in README.md and docs/*.md points at a file (and heading) that exists.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_origin

import msgspec

from core import hookspecs
from core.config import Settings, generate_secrets, settings_from_dict

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
HOOKS_DOC = DOCS / "plugin_hooks.md"
CONFIG_DOC = DOCS / "configuration.md"
EXAMPLE_CONFIG = ROOT / "config.example.toml"

# Settings fields that are not config sections of the core: per-plugin tables and bookkeeping.
NOT_CORE_KEYS = {"plugin", "source", "base_dir"}


# ==================================================================================================
# Hooks


def hook_specs() -> dict[str, Callable[..., Any]]:
    """Every hookspec: the functions in core/hookspecs.py that carry an `ajanda_policy`."""
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "ajanda_policy")
    }


def _source_annotations(fn: Callable[..., Any]) -> dict[str, str]:
    """Each parameter's annotation exactly as written in the source (whitespace collapsed).

    `from __future__ import annotations` keeps annotations as strings, but the compiler re-spells
    them (`Literal["a"]` becomes `Literal['a']`); the docs quote the source, so take it from there.
    """
    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    node = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == fn.__name__
    )
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    if node.args.vararg:
        args.append(node.args.vararg)
    if node.args.kwarg:
        args.append(node.args.kwarg)
    found = {}
    for arg in args:
        if arg.annotation is not None:
            segment = ast.get_source_segment(source, arg.annotation) or ast.unparse(arg.annotation)
            found[arg.arg] = " ".join(segment.split())
    return found


def hook_signature(name: str, fn: Callable[..., Any]) -> str:
    """`name(arg: Annotation, ...)` from inspect.signature, without the return annotation."""
    written = _source_annotations(fn)
    parts: list[str] = []
    keyword_only_marked = False
    params = list(inspect.signature(fn).parameters.values())
    for index, param in enumerate(params):
        if param.kind is param.KEYWORD_ONLY and not keyword_only_marked:
            parts.append("*")
            keyword_only_marked = True
        prefix = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}.get(param.kind, "")
        if param.kind is param.VAR_POSITIONAL:
            keyword_only_marked = True
        text = prefix + param.name
        if param.annotation is not param.empty:
            reported = param.annotation
            if not isinstance(reported, str):
                reported = inspect.formatannotation(reported)
            annotation = written.get(param.name, reported)
            # The source text and the string inspect reports must be the same expression.
            assert ast.unparse(ast.parse(annotation, mode="eval")) == ast.unparse(
                ast.parse(reported, mode="eval")
            ), f"{name}: annotation of {param.name} differs between source and inspect"
            text += f": {annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        parts.append(text)
        is_last_positional_only = param.kind is param.POSITIONAL_ONLY and (
            index + 1 == len(params) or params[index + 1].kind is not param.POSITIONAL_ONLY
        )
        if is_last_positional_only:
            parts.append("/")
    return f"{name}({', '.join(parts)})"


def _lines(text: str) -> Iterator[tuple[bool, str]]:
    """(inside a fenced code block, line) for each line of a Markdown text."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            yield True, line
        else:
            yield fenced, line


def _prose_lines(text: str) -> Iterator[str]:
    return (line for fenced, line in _lines(text) if not fenced)


def doc_headings(path: Path) -> list[str]:
    """The text of every `## ` heading outside fenced code blocks."""
    lines = _prose_lines(path.read_text(encoding="utf-8"))
    return [line[3:].strip() for line in lines if line.startswith("## ")]


def test_every_hook_is_documented_under_its_exact_signature() -> None:
    specs = hook_specs()
    assert specs, "no hookspecs found in core/hookspecs.py"
    headings = doc_headings(HOOKS_DOC)
    problems: list[str] = []
    for name, fn in sorted(specs.items()):
        expected = hook_signature(name, fn)
        if headings.count(expected) != 1:
            documented = [h for h in headings if h.split("(", 1)[0] == name]
            seen = f" (found: {'; '.join(documented)})" if documented else ""
            problems.append(f"expected exactly one heading `## {expected}`{seen}")
    for heading in headings:
        match = re.match(r"^(\w+)\(", heading)
        if match and match.group(1) not in specs:
            problems.append(f"`## {heading}` documents a hook that does not exist")
    assert not problems, "docs/plugin_hooks.md:\n" + "\n".join(problems)


# --------------------------------------------------------------------------------------------------
# Every hook is fired by a test


FIRING_METHODS = {"call", "call_sync", "per_plugin_sync"}


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def hooks_named_in(source: str) -> set[str]:
    """Names a test file uses as hooks: hookimpl functions, make_plugin keywords, hooks.call names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.Call):
            func = _name_of(node.func)
            if func == "make_plugin":
                for keyword in node.keywords:
                    if keyword.arg is not None:
                        found.add(keyword.arg)
                    elif isinstance(keyword.value, ast.Dict):
                        found.update(
                            k.value
                            for k in keyword.value.keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str)
                        )
            elif isinstance(node.func, ast.Attribute) and func in FIRING_METHODS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def files_to_scan() -> Iterator[Path]:
    """Python files under tests/ (tests/third_party_plugin/ included), except this one and builds."""
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS)
        if path.resolve() == Path(__file__).resolve():
            continue
        if any(part in {"build", "__pycache__"} or part.endswith(".egg-info") for part in relative.parts):
            continue
        yield path


def test_every_hook_is_fired_by_a_test() -> None:
    used: set[str] = set()
    for path in files_to_scan():
        try:
            used |= hooks_named_in(path.read_text(encoding="utf-8"))
        except SyntaxError as err:
            raise AssertionError(f"{path.relative_to(ROOT)} cannot be parsed: {err}") from err
    missing = sorted(set(hook_specs()) - used)
    assert not missing, (
        f"{len(missing)} hook(s) without a test that fires them: {', '.join(missing)}. A test file fires"
        " a hook when it defines `def <hook>(`, passes `<hook>=` to make_plugin(...), or calls"
        ' hooks.call("<hook>", ...), call_sync("<hook>", ...) or per_plugin_sync("<hook>", ...).'
    )


# ==================================================================================================
# Configuration keys


def _struct_type(typ: Any) -> type[msgspec.Struct] | None:
    """The Struct inside `typ` (plain, Annotated or Optional), if there is one."""
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        return typ
    if get_origin(typ) is not None:
        for arg in get_args(typ):
            found = _struct_type(arg)
            if found is not None:
                return found
    return None


def config_keys(
    struct: type[msgspec.Struct] = Settings, section: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """(section..., key) for every leaf key of the core config, walking nested Structs."""
    keys: list[tuple[str, ...]] = []
    for field in msgspec.structs.fields(struct):
        if not section and field.encode_name in NOT_CORE_KEYS:
            continue
        nested = _struct_type(field.type)
        if nested is not None:
            keys.extend(config_keys(nested, (*section, field.encode_name)))
        else:
            keys.append((*section, field.encode_name))
    return keys


def doc_sections(path: Path) -> dict[str, str]:
    """`## ` heading -> the text under it, up to the next `## ` heading."""
    sections: dict[str, str] = {}
    heading = ""
    for fenced, line in _lines(path.read_text(encoding="utf-8")):
        if not fenced and line.startswith("## "):
            heading = line[3:].strip()
            sections[heading] = ""
        elif heading:
            sections[heading] += line + "\n"
    return sections


def test_config_keys_are_walked() -> None:
    keys = config_keys()
    assert ("server", "port") in keys and ("security", "secret_key") in keys
    assert not any(key[0] in NOT_CORE_KEYS for key in keys)


def test_every_config_key_is_in_the_example_file() -> None:
    example = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    missing = []
    for key in config_keys():
        table: Any = example
        for part in key:
            if not isinstance(table, dict) or part not in table:
                missing.append(".".join(key))
                break
            table = table[part]
    assert not missing, f"config.example.toml lacks (uncommented): {', '.join(missing)}"


def test_the_example_file_is_a_valid_config() -> None:
    """What `ajanda init` writes from the example must load: no stale or misspelt keys."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    for key, value in generate_secrets().items():
        text = text.replace(f'{key} = "@generate@"', f'{key} = "{value}"')
    settings_from_dict(tomllib.loads(text), ROOT, str(EXAMPLE_CONFIG), env={})


def test_every_config_key_is_in_the_configuration_doc() -> None:
    sections = doc_sections(CONFIG_DOC)
    missing = []
    for key in config_keys():
        heading = f"[{'.'.join(key[:-1])}]"
        body = next((text for title, text in sections.items() if heading in title.split()), None)
        if body is None:
            missing.append(f"{'.'.join(key)} (no `## {heading}` section)")
        elif f"`{key[-1]}`" not in body:
            missing.append(f"{'.'.join(key)} (not in the `## {heading}` section)")
    assert not missing, "docs/configuration.md lacks: " + ", ".join(missing)


# ==================================================================================================
# Links


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")


@cache
def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    links: list[str] = []
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        links.extend(LINK.findall(line))
        match = REFERENCE.match(line)
        if match:
            links.append(match.group(1))
    return [link for link in links if not re.match(r"^([a-z][a-z0-9+.-]*:|//)", link, re.I)]


def heading_ids(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    ids = set()
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        match = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if match:
            ids.add(re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-"))
    return ids


def test_links_and_anchors_are_found() -> None:
    assert "docs/plugin_hooks.md" in relative_links(ROOT / "README.md")
    assert "secrets-from-the-environment-or-files" in heading_ids(DOCS / "configuration.md")
    assert "server" in heading_ids(DOCS / "configuration.md")


def test_relative_links_point_at_existing_files() -> None:
    assert (DOCS / "index.md").exists()
    broken = []
    for path in markdown_files():
        for link in relative_links(path):
            file_part, _, fragment = link.partition("#")
            target = (path.parent / file_part.split("?", 1)[0]).resolve() if file_part else path
            if not target.exists():
                broken.append(f"{path.relative_to(ROOT)}: {link} (no such file)")
            elif fragment and target.suffix == ".md" and fragment not in heading_ids(target):
                broken.append(f"{path.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "broken relative links:\n" + "\n".join(broken)
