"""`ajanda keys`: a new data key, rotation of personal data to the current key, and a check of what is
still under an old one. Registered on the main CLI by core/cli/main.py.

This module imports nothing from core.cli.main at import time (main imports it), so the helpers it
shares with the other commands are imported inside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from core.cli.main import config_option, progress_bar, settings_for, with_context
from core.privacy.crypto import key_id, new_data_key
from core.privacy.rotation import BATCH_SIZE, Advance, Tally

EXIT_UNREADABLE = 1
EXIT_OLD_KEYS = 2

batch_option = click.option(
    "--batch-size",
    default=BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Rows per transaction.",
)


@click.group("keys")
def keys() -> None:
    """The data key that encrypts personal data at rest (docs/privacy.md).

    \b
    Rotating it:
      1. ajanda keys generate   (prints a new key)
      2. stop `ajanda serve` and any `ajanda worker`
      3. config.toml: move data_key into previous_data_keys, put the new key in data_key
      4. ajanda keys rotate
      5. ajanda keys check, then remove the old key from previous_data_keys
         (keep a copy with the backups made before the rotation: they need it)
      6. start the server again
    """


@keys.command("generate")
def generate() -> None:
    """Print a new data key (32 random bytes, URL-safe base64) for security.data_key.

    Only the key goes to standard output, so it can be piped into a secrets file.
    """
    click.echo(new_data_key())
    click.echo(
        "Put the current data_key into security.previous_data_keys and this one into data_key, "
        "then run `ajanda keys rotate` with the server stopped.",
        err=True,
    )


@contextmanager
def _bar(table: str, total: int) -> Iterator[Advance]:
    with progress_bar(total, f"{table:<10}") as bar:
        yield bar.update


def _key_names(ctx: Any) -> dict[str, str]:
    """Key ids as the admin knows the keys: data_key and previous_data_keys entry N (current first)."""
    security = ctx.settings.security
    names = {key_id(security.data_key.reveal()): "data_key"}
    for number, key in enumerate(security.previous_data_keys, start=1):
        names.setdefault(key_id(key.reveal()), f"previous_data_keys entry {number}")
    return names


@keys.command("rotate")
@config_option
@batch_option
@click.option("--force", is_flag=True, help="Rotate even while a worker heartbeat is fresh (not advised).")
def rotate_command(config_path: str | None, batch_size: int, force: bool) -> None:
    """Re-encrypt every personal value under data_key and recompute every blind index with it.

    Run it with the server stopped: blind indexes carry no key id, so while it runs, lookups by phone,
    last four digits, e-mail or name miss the rows not yet rotated (and the booking page could create a
    second card for a returning customer). It refuses while a worker heartbeat is fresh, unless --force.

    One transaction per batch of rows; running it again, or after an interruption, is safe and only
    does what is left. A value no configured key opens stops it with the column and row id.
    """
    from core.privacy.rotation import ensure_quiet, rotate

    settings = settings_for(config_path)

    async def work(ctx: Any) -> tuple[Tally, dict[str, str]]:
        if not force:
            await ensure_quiet(ctx)
        return await rotate(ctx, batch_size, _bar), _key_names(ctx)

    tally, names = with_context(settings, work, start=False)
    for name, counts in tally.columns.items():
        click.echo(f"{name}: {counts.values} values, {counts.stale} re-encrypted")
    for name, index in tally.indexes.items():
        click.echo(f"{name}: {index.values} blind indexes, {index.stale} recomputed")
    current = next(iter(names))
    click.echo(
        f"done: {tally.stale_values} values re-encrypted and {tally.stale_indexes} blind indexes recomputed; "
        f"everything is under data_key ({current})."
    )
    old = [f"{label} ({key_id})" for key_id, label in names.items() if key_id != current]
    if old:
        click.echo(
            f"The old key(s) can now be removed from security.previous_data_keys: {', '.join(old)}. "
            "Keep a copy with the backups made before this rotation: restoring one needs it."
        )


@keys.command("check")
@config_option
@batch_option
def check_command(config_path: str | None, batch_size: int) -> None:
    """Decrypt every personal value and recompute every blind index; report what is under an old key.

    Exit status: 0 when everything is under data_key (an old key can be removed), 2 when some values
    or indexes still need `ajanda keys rotate`, 1 when some values cannot be decrypted at all.
    """
    from core.privacy.rotation import check

    settings = settings_for(config_path)

    async def work(ctx: Any) -> tuple[Tally, dict[str, str]]:
        return await check(ctx, batch_size, _bar), _key_names(ctx)

    tally, names = with_context(settings, work, start=False)
    for name, counts in tally.columns.items():
        keys_used = ", ".join(
            f"{n} under {names.get(key_id.split()[0], 'an unknown key')} ({key_id})"
            for key_id, n in sorted(counts.keys.items())
        )
        click.echo(f"{name}: {counts.values} values" + (f": {keys_used}" if keys_used else ""))
    for name, index in tally.indexes.items():
        click.echo(f"{name}: {index.values} blind indexes, {index.stale} not computed with data_key")
    if tally.unreadable:
        for problem in tally.problems:
            click.echo(f"error: {problem}", err=True)
        more = tally.unreadable - len(tally.problems)
        if more:
            click.echo(f"error: ... and {more} more", err=True)
        click.echo(
            f"error: {tally.unreadable} value(s) cannot be decrypted with the configured keys", err=True
        )
        sys.exit(EXIT_UNREADABLE)
    if tally.stale_values or tally.stale_indexes:
        click.echo(
            f"{tally.stale_values} values and {tally.stale_indexes} blind indexes are not under data_key "
            "yet: run `ajanda keys rotate` (with the server stopped) before removing any previous key."
        )
        sys.exit(EXIT_OLD_KEYS)
    click.echo("everything is under data_key: no previous key is needed any more.")
