"""`ajanda customers import FILE` and `ajanda customers export`: moving a customer list in and out.

Without --apply an import is a dry run that writes nothing, so the first run always shows what would
happen. Output names rows, fields and card ids, never a phone number or an address: it may end up in
a terminal scrollback, a log or a support ticket. The audit log records the cards as made by
`system:cli`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from core.audit.records import CLI, acting_as
from core.cli.main import config_option, progress_bar, settings_for, with_context
from core.customers.export import count_cards, export_csv, record_export
from core.customers.importing import ImportPlan, apply, classify, map_columns, parse_mapping, read_table

ISSUES = ("conflicting", "invalid", "failed")


@click.group("customers")
def customers_group() -> None:
    """Import customers from CSV or Excel, export them to CSV."""


@customers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar='"HEADER=FIELD"',
    help="Column header to field (name, phone, email, notes, tags, language, or skip); repeat it. "
    "Overrides the headers recognised by themselves (Ad Soyad, Telefon, E-posta, Name, Phone, ...).",
)
@click.option("--apply", "do_apply", is_flag=True, help="Store the new customers (without it: a dry run).")
@click.option("--sheet", default=None, help="The sheet of an .xlsx file (default: the first).")
@click.option(
    "--details",
    type=click.Choice(["issues", "all", "none"]),
    default="issues",
    show_default=True,
    help="Which rows to list: conflicting, invalid and failed ones, every row, or none.",
)
@config_option
def import_command(
    file: Path,
    mappings: tuple[str, ...],
    do_apply: bool,
    sheet: str | None,
    details: str,
    config_path: str | None,
) -> None:
    """Check (and with --apply import) the customers in FILE, a CSV or .xlsx file.

    Every row is reported as new, matched (the same phone or e-mail as a card or an earlier row),
    conflicting (the phone is one person's and the e-mail another's) or invalid. --apply creates the
    new ones, 500 per transaction; matched rows are left as they are, the others are not imported.
    """
    settings = settings_for(config_path, allow_embedded=True)
    table = read_table(file.read_bytes(), sheet)
    columns = map_columns(table.headers, parse_mapping(mappings))
    click.echo("columns: " + ", ".join(f"{c.header!r} -> {c.field}" for c in columns))

    async def work(ctx: Any) -> ImportPlan:
        await ctx.start(run_migrations=True)
        with acting_as(CLI):
            with progress_bar(len(table.rows), "checking ") as bar:
                plan = await classify(ctx, table, columns, bar.update)
            if do_apply:
                with progress_bar(plan.counts()["new"], "importing") as bar:
                    await apply(ctx, plan, bar.update)
        return plan

    plan = with_context(settings, work, start=False)
    shown = 0
    for row in plan.rows:
        if details == "all" or (details == "issues" and row.status in ISSUES):
            click.echo(f"{row.status:<11} {row.reason}")
            shown += 1
    counts = plan.counts()
    if do_apply:
        click.echo(
            f"{len(plan.rows)} rows: {counts['created']} created, {counts['matched']} matched (left as"
            f" they are), {counts['conflicting']} conflicting, {counts['invalid']} invalid,"
            f" {counts['failed']} refused"
        )
    else:
        click.echo(
            f"{len(plan.rows)} rows: {counts['new']} new, {counts['matched']} matched,"
            f" {counts['conflicting']} conflicting, {counts['invalid']} invalid"
        )
        click.echo("dry run: nothing was written (add --apply to import the new ones)")


@customers_group.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The CSV file to write (created readable by its owner only); default: standard output.",
)
@click.option(
    "--delimiter",
    type=click.Choice(["comma", "semicolon"]),
    default="comma",
    show_default=True,
    help="semicolon for Excel on a Turkish Windows.",
)
@config_option
def export_command(output: Path | None, delimiter: str, config_path: str | None) -> None:
    """Write every customer (merged cards left out) as CSV, UTF-8 with a byte order mark."""
    settings = settings_for(config_path, allow_embedded=True)
    separator = {"comma": ",", "semicolon": ";"}[delimiter]

    def export_to(sink: BinaryIO) -> int:
        async def work(ctx: Any) -> int:
            await ctx.start(run_migrations=True)
            with acting_as(CLI):
                total = await count_cards(ctx)
                await record_export(ctx, total)
            await _write(ctx, sink, separator, total)
            return total

        return with_context(settings, work, start=False)

    if output is None:
        export_to(sys.stdout.buffer)
        return
    # Personal data: readable by its owner only, from the moment the file exists.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        total = export_to(file)
    click.echo(f"{total} customers written to {output}", err=True)


async def _write(ctx: Any, sink: BinaryIO, separator: str, total: int) -> None:
    with progress_bar(total, "exporting") as bar:
        async for piece in export_csv(ctx, separator, progress=bar.update):
            sink.write(piece)
    sink.flush()
