"""The `ajanda` command line. Every failure is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from core.config import (
    CONFIG_ENV,
    EMBEDDED_DATA_DIR,
    Settings,
    dump_redacted,
    generate_secrets,
    load_settings,
)
from core.errors import AjandaError, ConfigError

T = TypeVar("T")

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def report_config_error(err: ConfigError) -> NoReturn:
    """One line per problem, each with the file and key path, then exit 1."""
    where = f"{err.source}: " if err.source else ""
    for problem in err.problems:
        click.echo(f"error: {where}{problem}", err=True)
    sys.exit(1)


def run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def progress_bar(length: int, label: str) -> Any:
    """A progress bar on stderr, so standard output stays the report (or the CSV)."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


class AjandaGroup(click.Group):
    """Turns Ajanda's own errors into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as err:
            report_config_error(err)
        except AjandaError as err:
            fail(str(err))
        except OSError as err:
            fail(f"{err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": "))


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar=CONFIG_ENV,
    help=f"Config file (default: ${CONFIG_ENV}, then ./config.toml).",
)


def settings_for(config_path: str | None, allow_embedded: bool = False) -> Settings:
    return load_settings(config_path, allow_embedded=allow_embedded)


@click.group(cls=AjandaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ajanda", message="ajanda %(version)s")
def cli() -> None:
    """Ajanda: appointments, customers and payments for service businesses."""


# ------------------------------------------------------------------------------------------------
@cli.command()
@click.option("--dir", "directory", default=".", type=click.Path(file_okay=False), help="Where to write.")
def init(directory: str) -> None:
    """Write DIR/config.toml with freshly generated secrets (never overwrites)."""
    target = Path(directory) / "config.toml"
    if target.exists():
        fail(f"{target} already exists; not overwriting it")
    template = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    values = generate_secrets()
    for key, value in values.items():
        template = template.replace(f'{key} = "@generate@"', f'{key} = "{value}"')
    Path(directory).mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(template)
    click.echo(f"wrote {target} (secrets generated; keep this file private)")
    click.echo(f"admin API token: {values['admin_token']}")


# ------------------------------------------------------------------------------------------------
@cli.group("config")
def config_group() -> None:
    """Check or show the configuration."""


@config_group.command("check")
@config_option
def config_check(config_path: str | None) -> None:
    """Validate the file and every enabled plugin's section; print every problem."""
    from core.plugins import load_plugins

    settings = settings_for(config_path)
    plugins = load_plugins(settings)
    for name in settings.plugin:
        if name not in plugins.names:
            known = "installed but not enabled" if name in plugins.discovered else "no such plugin installed"
            click.echo(f"warning: {settings.source}: [plugin.{name}] is ignored ({known})", err=True)
    click.echo(f"{settings.source}: ok ({len(settings.plugins.enabled)} plugins enabled)")


@config_group.command("show")
@config_option
def config_show(config_path: str | None) -> None:
    """Print the effective configuration as JSON, secrets redacted."""
    from core.plugins import load_plugins

    settings = settings_for(config_path, allow_embedded=True)
    plugins = load_plugins(settings)
    configs = {p.meta.name: p.config for p in plugins.loaded}
    click.echo(json.dumps(dump_redacted(settings, configs), indent=2))


# ------------------------------------------------------------------------------------------------
def with_context(settings: Settings, work: Callable[[Any], Awaitable[T]], start: bool = True) -> T:
    from core.context import build_context

    async def main() -> T:
        ctx = build_context(settings)
        try:
            if start:
                await ctx.start()
            else:
                await ctx.open()
            return await work(ctx)
        finally:
            await ctx.stop()

    return run(main())


@cli.command()
@config_option
def migrate(config_path: str | None) -> None:
    """Apply pending migrations of the core and the enabled plugins, in dependency order."""
    settings = settings_for(config_path, allow_embedded=True)

    async def work(ctx: Any) -> list[Any]:
        return await ctx.migrate(lambda m: click.echo(f"applying {m.app}:{m.name}"))

    ran = with_context(settings, work, start=False)
    click.echo(f"{len(ran)} migration(s) applied" if ran else "database is up to date")


@cli.command()
@config_option
@click.option("--host", default=None, help="Interface to listen on (default: [server] host).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default: [server] port).")
@click.option("--demo", is_flag=True, help="Load the demo business into an empty database.")
def serve(config_path: str | None, host: str | None, port: int | None, demo: bool) -> None:
    """Run the HTTP server and the background worker in one process."""
    import uvicorn

    from core.app import create_app
    from core.context import build_context
    from core.db.migrate import pending

    settings = settings_for(config_path, allow_embedded=True)
    setup_logging(settings.logging.level)
    if settings.source is None:
        click.echo(
            f"No config file: running on embedded defaults (SQLite and generated secrets in "
            f"./{EMBEDDED_DATA_DIR}/). Run `ajanda init` to write a config.toml.",
            err=True,
        )
    ctx = build_context(settings)

    async def prepare() -> None:
        await ctx.open()
        try:
            if settings.database.engine == "sqlite":
                await ctx.migrate(lambda m: click.echo(f"applying {m.app}:{m.name}", err=True))
            else:
                todo = await pending(ctx.db, ctx.migration_sources())
                if todo:
                    fail(f"{len(todo)} migration(s) pending: run `ajanda migrate` first")
            if demo:
                from core.demo.loader import demo_owner, load_demo

                click.echo(await load_demo(ctx), err=True)
                click.echo(await demo_owner(ctx), err=True)
        finally:
            await ctx.db.close()

    run(prepare())
    app = create_app(settings, context=ctx, migrate_on_start=False)
    uvicorn.run(
        app,
        host=host or settings.server.host,
        port=port or settings.server.port,
        access_log=False,
        log_config=None,
        # Forwarded headers are trusted only from [server] trusted_proxies, by Ajanda itself.
        proxy_headers=False,
        lifespan="on",
    )


@cli.command()
@config_option
def worker(config_path: str | None) -> None:
    """Run the background worker alone (for deployments with several app processes)."""
    from core.outbox.worker import Worker

    settings = settings_for(config_path, allow_embedded=True)
    setup_logging(settings.logging.level)

    async def work(ctx: Any) -> None:
        w = Worker(ctx)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, w.stop)
        await w.run_forever()

    with_context(settings, work)


# ------------------------------------------------------------------------------------------------
@cli.group("plugins")
def plugins_group() -> None:
    """Installed plugins."""


@plugins_group.command("list")
@config_option
@click.option("--hooks", "show_hooks", is_flag=True, help="Show each hook's implementations in call order.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_list(config_path: str | None, show_hooks: bool, as_json: bool) -> None:
    """Every discovered plugin: version, origin, enabled or not."""
    from core.context import build_context

    settings = settings_for(config_path, allow_embedded=True)
    ctx = build_context(settings)
    enabled = set(ctx.plugins.names)
    plugins = [
        {
            "name": d.name,
            "version": d.version,
            "origin": d.origin,
            "enabled": d.name in enabled,
            "description": d.description,
        }
        for d in ctx.plugins.discovered.values()
    ]
    hooks = {
        name: [impl.plugin_name for impl in ctx.hooks.implementations(name)]
        for name in sorted(ctx.hooks.policies)
    }
    if as_json:
        out: dict[str, Any] = {"plugins": plugins}
        if show_hooks:
            out["hooks"] = {
                name: {
                    "mode": p.mode,
                    "policy": p.policy,
                    "timing": p.timing,
                    "implementations": hooks[name],
                }
                for name, p in sorted(ctx.hooks.policies.items())
            }
        click.echo(json.dumps(out, indent=2))
        return
    if not plugins:
        click.echo("no plugins installed")
    for p in plugins:
        mark = "enabled " if p["enabled"] else "disabled"
        click.echo(f"{mark}  {p['name']} {p['version']} ({p['origin']})  {p['description']}")
    if show_hooks:
        click.echo("\nhooks (implementations in call order):")
        for name, impls in hooks.items():
            policy = ctx.hooks.policies[name]
            click.echo(
                f"  {name} [{policy.mode}, {policy.policy}, {policy.timing}]: {', '.join(impls) or '-'}"
            )


# ------------------------------------------------------------------------------------------------
@cli.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@config_option
def audit_verify(config_path: str | None) -> None:
    """Check the hash chain of the audit log and report the first broken link."""
    from core.audit.log import verify

    settings = settings_for(config_path, allow_embedded=True)

    async def work(ctx: Any) -> Any:
        return await verify(ctx.db, progress=lambda n: click.echo(f"checked {n} rows...", err=True))

    result = with_context(settings, work, start=False)
    if not result.ok:
        fail(f"audit chain broken at {result.problem} ({result.checked} rows verified before it)")
    click.echo(f"audit chain ok: {result.checked} rows, head seq {result.head_seq} hash {result.head_hash}")


# ------------------------------------------------------------------------------------------------
@cli.command()
@config_option
def demo(config_path: str | None) -> None:
    """Load the demo business into an empty database."""
    from core.demo.loader import load_demo

    settings = settings_for(config_path, allow_embedded=True)

    async def work(ctx: Any) -> str:
        await ctx.migrate()
        return await load_demo(ctx)

    click.echo(with_context(settings, work, start=False))


def add_domain_commands(group: click.Group) -> None:
    """Command groups that live with their domain (they import the helpers above, hence late)."""
    from core.access.cli import token_group, user_group
    from core.customers.cli import customers_group
    from core.privacy.cli import keys as keys_group

    for command in (user_group, token_group, customers_group, keys_group):
        group.add_command(command)


add_domain_commands(cli)


def add_plugin_commands(group: click.Group, argv: list[str]) -> None:
    """Let enabled plugins add subcommands (their config must load for that)."""
    from core.hooks import Hooks
    from core.plugins import load_plugins

    config_path = None
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            config_path = argv[index + 1]
        elif arg.startswith("--config="):
            config_path = arg.split("=", 1)[1]
    try:
        settings = settings_for(config_path, allow_embedded=False)
    except ConfigError:
        if argv and argv[0] not in group.commands and not argv[0].startswith("-"):
            raise  # a plugin command was asked for; say why it is not available
        return  # built-in commands report their own config problems
    plugin_set = load_plugins(settings)
    # Plugin commands find the loaded settings and plugins in click's context object.
    group.context_settings["obj"] = {"settings": settings, "plugins": plugin_set}
    Hooks(plugin_set.pm).call_sync("register_cli_commands", cli=group)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        add_plugin_commands(cli, args)
    except ConfigError as err:
        report_config_error(err)
    except AjandaError as err:
        # A broken plugin must not hide the built-in commands (e.g. `config check` to diagnose it).
        if args and args[0] not in ("config", "init", "--help", "-h", "--version"):
            fail(str(err))
    cli.main(args=args, prog_name="ajanda")
