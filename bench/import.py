"""Customer import: preview and apply of a 50,000-row CSV, in process, on a fresh database.

    python -m bench.import [--rows N] [--dsn postgresql://...] [--seed N]

Writes a CSV as Excel on a Turkish Windows saves it (UTF-8 with a BOM, semicolons) with Turkish names,
phone numbers in the ways people type them and an e-mail on most rows; about 3% of the rows repeat an
earlier person (the same phone written another way, or the same e-mail in capitals), 1% reuse an
earlier phone with another e-mail (conflicting) and 1% are invalid (a short phone number, a broken
e-mail, no name). Then, on a fresh SQLite database (and on a fresh PostgreSQL database when --dsn or
$AJANDA_BENCH_PG_DSN names a server), it times each phase the way `ajanda customers import` runs it:

- read: parse the CSV (and, once, the same rows from an .xlsx, which only the reader sees);
- preview: normalise and check every row, look up its phone and e-mail blind indexes, classify;
- apply: create the new cards through new_customer + create_card, 500 per transaction (audit rows,
  near-match flags and hooks included);
- again: the preview of the same file once it is imported (every row matched).

It prints seconds and rows/s per phase and checks the database: as many cards as rows created. Target:
50,000 rows in seconds, not minutes. The script prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import time
from pathlib import Path

from bench.common import bench_settings, machine, scratch_database
from core.config import generate_secrets
from core.context import build_context
from core.customers.importing import apply, classify, map_columns, read_table

FIRST = (
    "Ayşe Fatma Emine Hatice Zeynep Elif Meryem Şerife Zehra Sultan Hanife Merve Özlem Yasemin Esra Büşra "
    "Gülşen Çiğdem Selin İpek Derya Ebru Gizem Tuğba Şule Nur Deniz Ece Sibel Aslı Mehmet Mustafa Ahmet "
    "Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer Ramazan Halil Süleyman Abdullah Mahmut Emre "
    "Burak Can Kerem Çağlar Oğuz Barış Tolga Serkan Uğur Gökhan Kaan Onur Efe"
).split()
LAST = (
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin "
    "Kara Koç Kurt Özkan Şimşek Polat Özcan Korkmaz Çakır Erdoğan Yavuz Can Acar Şen Aktaş Güler Yalçın "
    "Güneş Bozkurt Bulut Keskin Ünal Turan Gül Özer Işık Kaplan Avcı Sarı Tekin Taş Köse Yüksel Ateş Aksoy "
    "Ağaoğlu Karaca Uçar Tunç Erdem Sönmez Duman Bilgin Çınar Uysal"
).split()
HEADER = ["Ad Soyad", "Telefon", "E-posta", "Notlar", "Etiketler"]
NOTES = ("", "", "", "Saç boyası alerjisi", "Kısa kesim sever", "Randevuya hep geç kalır")
TAGS = ("", "", "vip", "renk", "vip, renk", "öğrenci")


def phone_as_typed(digits: str, rng: random.Random) -> str:
    """A Turkish mobile number (10 digits, 5xx...) written one of the ways a person types it."""
    style = rng.randrange(4)
    if style == 0:
        return f"0{digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}"
    if style == 1:
        return f"+90 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if style == 2:
        return f"0{digits}"
    return f"+90{digits}"


def generate(rows: int, rng: random.Random) -> tuple[list[list[str]], dict[str, int]]:
    """(data rows, how many of each kind were planted)."""
    out: list[list[str]] = []
    people: list[tuple[str, str, str]] = []  # name, phone digits, e-mail of each new person so far
    with_email: list[tuple[str, str, str]] = []
    used: set[str] = set()
    planted = {"new": 0, "repeat": 0, "conflict": 0, "invalid": 0}
    for n in range(rows):
        roll = rng.random()
        if people and roll < 0.03:
            name, digits, email = rng.choice(people)
            if email and rng.random() < 0.3:
                out.append([name, "", email.upper(), "", ""])
            else:
                out.append([name.split()[0], phone_as_typed(digits, rng), "", "", ""])
            planted["repeat"] += 1
            continue
        if with_email and roll < 0.04:
            name, digits, email = rng.choice(with_email)
            out.append([f"{rng.choice(FIRST)} {name.split()[-1]}", phone_as_typed(digits, rng),
                        f"baska{n}@example.com", "", ""])  # fmt: skip
            planted["conflict"] += 1
            continue
        if roll < 0.05:
            broken = rng.randrange(3)
            if broken == 0:
                out.append([f"{rng.choice(FIRST)} {rng.choice(LAST)}", "532 12", "", "", ""])
            elif broken == 1:
                out.append([f"{rng.choice(FIRST)} {rng.choice(LAST)}", "", f"kisi{n}@@example", "", ""])
            else:
                out.append(["", phone_as_typed(f"53{n:08d}", rng), "", "", ""])
            planted["invalid"] += 1
            continue
        while True:
            digits = f"5{rng.choice('0345')}{rng.randrange(10)}{rng.randrange(10_000_000):07d}"
            if digits not in used:
                used.add(digits)
                break
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"musteri{n}@example.com" if rng.random() < 0.7 else ""
        people.append((name, digits, email))
        if email:
            with_email.append((name, digits, email))
        out.append([name, phone_as_typed(digits, rng), email, rng.choice(NOTES), rng.choice(TAGS)])
        planted["new"] += 1
    return out, planted


def write_files(folder: Path, rows: list[list[str]]) -> tuple[Path, Path]:
    import openpyxl

    csv_path = folder / "musteriler.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows([HEADER, *rows])
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Müşteriler")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    xlsx_path = folder / "musteriler.xlsx"
    book.save(xlsx_path)
    return csv_path, xlsx_path


def line(phase: str, seconds: float, rows: int, extra: str = "") -> str:
    return f"  {phase:<8} {seconds:7.2f} s   {rows / seconds:9,.0f} rows/s{extra}"


async def run_engine(engine: str, dsn: str, data: bytes, rows: int) -> None:
    async with scratch_database(engine, dsn) as (url, folder):
        settings = bench_settings(url, folder, generate_secrets(), logging={"level": "WARNING"})
        ctx = build_context(settings)
        await ctx.start(run_migrations=True)
        try:
            started = time.perf_counter()
            table = read_table(data)
            columns = map_columns(table.headers)
            read_s = time.perf_counter() - started

            started = time.perf_counter()
            plan = await classify(ctx, table, columns)
            preview_s = time.perf_counter() - started
            counts = plan.counts()

            started = time.perf_counter()
            await apply(ctx, plan)
            apply_s = time.perf_counter() - started
            created = plan.counts()["created"]

            started = time.perf_counter()
            again = await classify(ctx, table, columns)
            again_s = time.perf_counter() - started

            cards = int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer"))
        finally:
            await ctx.stop()
    print(f"== {engine}")
    print(
        f"  preview: {counts['new']} new, {counts['matched']} matched, {counts['conflicting']} conflicting,"
        f" {counts['invalid']} invalid"
    )
    print(line("read", read_s, rows))
    print(line("preview", preview_s, rows))
    print(line("apply", apply_s, rows, f"   ({created / apply_s:,.0f} new cards/s, {created} created)"))
    print(line("again", again_s, rows, f"   ({again.counts()['matched']} matched)"))
    total = read_s + preview_s + apply_s
    print(line("total", total, rows, "   (read + preview + apply, as `--apply` runs them)"))
    print(f"  database: {cards} cards ({'as expected' if cards == created else 'MISMATCH'})")


async def run(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    rng = random.Random(args.seed)
    rows, planted = generate(args.rows, rng)
    async with scratch_database("sqlite") as (_url, folder):
        csv_path, xlsx_path = write_files(folder, rows)
        data = csv_path.read_bytes()
        print(
            f"file: {args.rows} rows, {len(data) / 1e6:.1f} MB CSV (planted: {planted['new']} new people,"
            f" {planted['repeat']} repeats, {planted['conflict']} conflicts, {planted['invalid']} invalid)"
        )
        started = time.perf_counter()
        read_table(xlsx_path.read_bytes())
        xlsx_s = time.perf_counter() - started
        size = xlsx_path.stat().st_size / 1e6
        print(f"xlsx read ({size:.1f} MB): {xlsx_s:.2f} s, {args.rows / xlsx_s:,.0f} rows/s")
    await run_engine("sqlite", "", data, args.rows)
    if args.dsn:
        await run_engine("postgres", args.dsn, data, args.rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--dsn",
        default=os.environ.get("AJANDA_BENCH_PG_DSN"),
        help="PostgreSQL server to run on as well (gets a scratch database); default $AJANDA_BENCH_PG_DSN",
    )
    parser.add_argument("--seed", type=int, default=6698)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
