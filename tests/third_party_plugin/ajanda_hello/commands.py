"""`ajanda hello ...`: CLI commands added through the register_cli_commands hook."""

from __future__ import annotations

import click

from ajanda_hello.config import HelloConfig


@click.group("hello")
def hello_group() -> None:
    """Commands of the hello plugin."""


@hello_group.command("greet")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="AJANDA_CONFIG")
def greet(config_path: str | None) -> None:
    """Print the configured greeting."""
    from core.config import load_settings
    from core.plugins import load_plugins

    # The hook hands plugins only the click group, so the command loads the settings itself and
    # lets the core's loader validate its section exactly as at start-up.
    config: HelloConfig = load_plugins(load_settings(config_path)).config("hello")
    click.echo(config.text())
