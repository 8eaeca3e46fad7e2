"""Customer import (CSV and .xlsx) and export: real files, the preview's classes and reasons, applying
in chunks, the HTTP upload and download, and the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from core import PluginMeta, Vetoed, hookimpl
from core.config import Settings
from core.context import AppContext, build_context
from core.customers.card import load_card
from core.customers.export import COLUMNS
from core.customers.importing import (
    ImportPlan,
    ImportStopped,
    apply,
    classify,
    map_columns,
    preview_file,
    read_table,
)
from core.customers.merge import merge_customers
from core.customers.service import create_card, new_customer
from core.errors import FieldError
from tests.conftest import ROOT, admin_headers, api_client

HEADER = ["Ad Soyad", "Telefon", "E-posta", "Notlar", "Etiketler", "Dil"]
FIELDS_OF_HEADER = ["name", "phone", "email", "notes", "tags", "language"]
# Row 1 is the header; the comments give each row's number as a spreadsheet shows it.
ROWS: list[list[str]] = [
    ["Mehmet Öztürk", "0541 555 66 77", "mehmet@example.com", "Saç boyası alerjisi", "VIP, renk", ""],  # 2
    ["A. Yılmaz", "+90 (532) 111-2233", "", "", "", ""],  # 3: Ayşe's card, her phone written another way
    ["Burak", "", "BURAK@example.com ", "", "", ""],  # 4: Burak's card by e-mail
    ["Mehmet Ö.", "05415556677", "", "", "", ""],  # 5: row 2 again
    ["Karışık", "0532 111 22 33", "burak@example.com", "", "", ""],  # 6: Ayşe's phone, Burak's e-mail
    ["Çağla Şen", "12345", "cagla@example.com", "", "", ""],  # 7: bad phone
    ["Selin Öz", "0541 555 66 77", "selin@example.com", "", "", ""],  # 8: row 2's phone, another e-mail
    ["", "", "", "", "", ""],  # 9: blank, skipped
    ["", "0542 000 00 01", "", "", "", ""],  # 10: no name
    ["Deniz Ağaoğlu", "", "deniz@@example", "", "", ""],  # 11: bad e-mail
    ["İlker Işık", "", "ilker@example.com", "", "", "English"],  # 12: new, in English
    ["Zehra", "0543 111 22 33", "", "", "", "Fransızca"],  # 13: unknown language
    ["Emre", "", "", "", "", ""],  # 14: neither phone nor e-mail
    ["Ayşe'nin kızı", "0532 111 22 33", "kizi@example.com", "", "", ""],  # 15: Ayşe's phone, another e-mail
]
PERSONAL = ["0541", "5556677", "1112233", "mehmet@", "burak@", "cagla", "selin", "ilker@", "kizi@", "Öztürk"]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


async def existing_cards(ctx: AppContext) -> tuple[int, int]:
    """Ayşe (phone and e-mail) and Burak (phone and e-mail), as staff entered them."""
    ayse = new_customer(ctx, "Ayşe Yılmaz", "0532 111 22 33", "ayse@example.com", "staff")
    burak = new_customer(ctx, "Burak Kaya", "0533 222 33 44", "burak@example.com", "staff")
    return (await create_card(ctx, ayse))[0], (await create_card(ctx, burak))[0]


async def count(ctx: AppContext, table: str) -> int:
    return int(await ctx.db.fetchval(f"SELECT COUNT(*) FROM {table}"))


def by_row(plan: ImportPlan) -> dict[int, tuple[str, str]]:
    return {row.number: (row.status, row.reason) for row in plan.rows}


# --------------------------------------------------------------------------------------------------
# Preview and apply


async def test_preview_classifies_every_row_and_writes_nothing(
    open_context: AppContext, tmp_path: Path
) -> None:
    ctx = open_context
    ayse, burak = await existing_cards(ctx)
    data = write_csv(tmp_path / "musteriler.csv", [HEADER, *ROWS]).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b";" in data  # Excel TR: BOM, semicolons
    cards, audit = await count(ctx, "customer"), await count(ctx, "ajanda_audit")

    plan = await preview_file(ctx, data)

    assert [(c.header, c.field) for c in plan.columns] == list(zip(HEADER, FIELDS_OF_HEADER, strict=True))
    rows = by_row(plan)
    assert rows == {
        2: ("new", "row 2: new customer"),
        3: ("matched", f"row 3: matched customer {ayse} (same phone)"),
        4: ("matched", f"row 4: matched customer {burak} (same e-mail)"),
        5: ("matched", "row 5: same person as row 2 (same phone)"),
        6: ("conflicting", f"row 6: the phone matches customer {ayse} and the e-mail customer {burak}"),
        7: ("invalid", "row 7: phone: not a valid phone number"),
        8: ("conflicting", "row 8: the phone matches row 2, whose e-mail differs"),
        10: ("invalid", "row 10: name: required"),
        11: ("invalid", "row 11: email: not an e-mail address"),
        12: ("new", "row 12: new customer"),
        13: ("invalid", "row 13: language: one of tr, en"),
        14: ("invalid", "row 14: phone: a phone number or an e-mail address is required"),
        15: ("conflicting", f"row 15: the phone matches customer {ayse}, whose e-mail differs"),
    }
    assert plan.counts() == {
        "new": 2, "matched": 3, "conflicting": 3, "invalid": 5, "created": 0, "failed": 0,
    }  # fmt: skip
    assert {row.field for row in plan.rows if row.status == "invalid"} == {
        "phone",
        "name",
        "email",
        "language",
    }
    reasons = " ".join(row.reason for row in plan.rows)
    assert not [value for value in PERSONAL if value in reasons]
    assert not any(value in repr(plan.rows) for value in PERSONAL)  # the person is kept out of the repr
    # The preview wrote nothing.
    assert (await count(ctx, "customer"), await count(ctx, "ajanda_audit")) == (cards, audit)


async def test_apply_creates_the_new_rows_and_a_second_run_matches_them(
    open_context: AppContext, tmp_path: Path
) -> None:
    ctx = open_context
    ayse, _burak = await existing_cards(ctx)
    data = write_csv(tmp_path / "musteriler.csv", [HEADER, *ROWS]).read_bytes()

    plan = await apply(ctx, await preview_file(ctx, data))

    assert plan.applied
    assert plan.counts() == {
        "new": 0, "matched": 3, "conflicting": 3, "invalid": 5, "created": 2, "failed": 0,
    }  # fmt: skip
    created = {row.number: row.customer for row in plan.rows if row.status == "created"}
    assert set(created) == {2, 12}
    mehmet = await load_card(ctx, created[2] or 0)
    assert (mehmet.name, mehmet.phone, mehmet.email) == (
        "Mehmet Öztürk",
        "+905415556677",
        "mehmet@example.com",
    )
    assert mehmet.notes == "Saç boyası alerjisi" and mehmet.tags == ("vip", "renk")
    assert mehmet.source == "import" and mehmet.language == "tr"
    ilker = await load_card(ctx, created[12] or 0)
    assert (ilker.name, ilker.phone, ilker.email, ilker.language) == (
        "İlker Işık",
        None,
        "ilker@example.com",
        "en",
    )
    # The matched cards are left as they are.
    assert (await load_card(ctx, ayse)).name == "Ayşe Yılmaz"
    assert await count(ctx, "customer") == 4
    # Each card is audited like any other new card (personal values redacted), the import as a whole too.
    audit = await ctx.db.fetch(
        "SELECT entity, entity_id, action, changes FROM ajanda_audit WHERE action IN ('created', 'imported')"
        " ORDER BY seq"
    )
    created_rows = [
        r for r in audit if r["entity"] == "customer" and r["entity_id"] in {str(i) for i in created.values()}
    ]
    assert len(created_rows) == 2 and all(
        json.loads(r["changes"])["source"] == "import" for r in created_rows
    )
    assert "5556677" not in str([dict(r) for r in audit])
    summary = json.loads([r for r in audit if r["action"] == "imported"][-1]["changes"])
    assert summary == {"matched": 3, "conflicting": 3, "invalid": 5, "created": 2, "failed": 0}

    again = await apply(ctx, await preview_file(ctx, data))
    assert again.counts() == {
        "new": 0, "matched": 5, "conflicting": 3, "invalid": 5, "created": 0, "failed": 0,
    }  # fmt: skip
    assert by_row(again)[2] == ("matched", f"row 2: matched customer {created[2]} (same phone)")
    assert by_row(again)[8][0] == "conflicting"
    assert await count(ctx, "customer") == 4


def _plugin(name: str, **impls: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.PLUGIN = PluginMeta(name=name, version="1")  # type: ignore[attr-defined]
    for hook, fn in impls.items():
        setattr(module, hook, hookimpl(fn))
    return module


def _people(count_: int) -> list[list[str]]:
    return [[f"Kişi {i}", f"0532 000 {i // 100:02d} {i % 100:02d}", ""] for i in range(1, count_ + 1)]


async def test_a_refused_row_in_the_middle_costs_neither_its_chunk_nor_earlier_chunks(
    make_settings: Callable[..., Settings], start_context: Any, tmp_path: Path
) -> None:
    def validate(customer: Any, action: str) -> None:
        if customer.name == "Kişi 6":
            raise Vetoed("no test people on Sundays", field="name")

    plugin = _plugin("vetoer", customer_validate=validate)
    ctx: AppContext = await start_context(make_settings(plugins={"enabled": ["vetoer"]}), {"vetoer": plugin})
    data = write_csv(
        tmp_path / "people.csv", [["Name", "Phone", "Email"], *_people(10)], ",", "utf-8"
    ).read_bytes()
    plan = await preview_file(ctx, data)
    assert plan.counts()["new"] == 10

    await apply(ctx, plan, chunk_rows=4)  # rows 2-5, 6-9 (Kişi 6 is row 7), 10-11

    assert plan.counts()["created"] == 9 and plan.counts()["failed"] == 1
    assert by_row(plan)[7] == ("failed", "row 7: refused: no test people on Sundays")
    assert await count(ctx, "customer") == 9


async def test_a_database_failure_stops_the_import_but_keeps_what_was_stored(
    make_settings: Callable[..., Settings], start_context: Any, tmp_path: Path
) -> None:
    def validate(customer: Any, action: str) -> None:
        if customer.name == "Kişi 7":
            raise RuntimeError("the disk is full")

    plugin = _plugin("breaker", customer_validate=validate)
    ctx: AppContext = await start_context(
        make_settings(plugins={"enabled": ["breaker"]}), {"breaker": plugin}
    )
    data = write_csv(tmp_path / "people.csv", [["Name", "Phone"], *_people(10)], ",", "utf-8").read_bytes()
    plan = await preview_file(ctx, data)

    with pytest.raises(ImportStopped, match=r"row 8 \(RuntimeError\); 6 new cards were stored"):
        await apply(ctx, plan, chunk_rows=4)

    # The first chunk committed; of the second, the rows before the failure were stored one by one.
    assert await count(ctx, "customer") == 6
    rerun = await apply(
        ctx, await preview_file(ctx, data.replace("Kişi 7".encode(), b"Kisi 7")), chunk_rows=4
    )
    assert rerun.counts()["matched"] == 6 and rerun.counts()["created"] == 4


# --------------------------------------------------------------------------------------------------
# Files


async def test_xlsx_sheet_numbers_name_parts_and_an_explicit_mapping(
    open_context: AppContext, tmp_path: Path
) -> None:
    ctx = open_context
    book = openpyxl.Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Özet"
    summary.append(["Toplam", 2])
    sheet = book.create_sheet("Müşteriler")
    sheet.append(["Soyad", "Ad", "Cep Telefonu", "İş Telefonu", "E-Posta Adresi", "Etiket"])
    sheet.append(["Yılmaz", "Ayşe", 5321112233, "0212 555 00 11", "ayse@example.com", "vip"])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Kaya", "Burak", 905332223344, None, None, None])  # Excel dropped the "+"
    path = tmp_path / "musteriler.xlsx"
    book.save(path)
    data = path.read_bytes()

    with pytest.raises(FieldError) as no_name:
        await preview_file(ctx, data)  # the first sheet is the summary
    assert no_name.value.field == "mapping"
    with pytest.raises(FieldError) as missing:
        await preview_file(ctx, data, sheet="Sayfa1")
    assert missing.value.field == "sheet" and "Müşteriler" in missing.value.message

    # Mapping "İş Telefonu" to phone takes the phone from that column alone ("Cep Telefonu" is left out).
    plan = await preview_file(ctx, data, {"İş Telefonu": "phone"}, sheet="Müşteriler")
    assert [(c.header, c.field) for c in plan.columns] == [
        ("Soyad", "name"), ("Ad", "name"), ("İş Telefonu", "phone"), ("E-Posta Adresi", "email"),
        ("Etiket", "tags"),
    ]  # fmt: skip
    assert by_row(plan) == {
        2: ("new", "row 2: new customer"),
        4: ("invalid", "row 4: phone: a phone number or an e-mail address is required"),
    }
    auto = await apply(ctx, await preview_file(ctx, data, sheet="Müşteriler"))
    cards = {row.number: await load_card(ctx, row.customer or 0) for row in auto.rows}
    # Given name first whatever the column order; numbers stored as numbers read back as phone numbers.
    assert (cards[2].name, cards[2].phone, cards[2].tags) == ("Ayşe Yılmaz", "+905321112233", ("vip",))
    assert (cards[4].name, cards[4].phone) == ("Burak Kaya", "+905332223344")


async def test_windows_1254_commas_and_excel_sep_line(open_context: AppContext, tmp_path: Path) -> None:
    ctx = open_context
    path = tmp_path / "export.csv"
    path.write_bytes('Name,Mobile Phone,Email,Tags\r\nŞule Güneş,0532 111 22 33,,"a, b"\r\n'.encode("cp1254"))
    table = read_table(path.read_bytes())
    assert table.headers == ["Name", "Mobile Phone", "Email", "Tags"]
    assert table.rows == [(2, ["Şule Güneş", "0532 111 22 33", "", "a, b"])]
    hinted = read_table(b'sep=;\r\nAd Soyad;Telefon\r\n"Ali; Veli";0532 111 22 33\r\n')
    assert hinted.rows == [(2, ["Ali; Veli", "0532 111 22 33"])]
    plan = await classify(ctx, table, map_columns(table.headers))
    assert plan.rows[0].status == "new" and plan.rows[0].tags == ("a", "b")

    with pytest.raises(FieldError) as xls:
        read_table(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert xls.value.field == "file" and ".xls" in xls.value.message
    with pytest.raises(FieldError) as unknown:
        map_columns(["Ad Soyad", "Telefon"], {"Cep": "phone"})
    assert unknown.value.field == "mapping" and "'Cep'" in unknown.value.message
    with pytest.raises(FieldError) as bad_field:
        map_columns(["Ad Soyad", "Telefon"], {"Telefon": "fax"})
    assert bad_field.value.field == "mapping" and "fax" in bad_field.value.message
    assert [c.field for c in map_columns(["Ad Soyad", "Telefon", "Notlar"], {"Notlar": "skip"})] == [
        "name", "phone",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# HTTP


def _upload(path: Path, **form: str) -> dict[str, Any]:
    return {"files": {"file": (path.name, path.read_bytes(), "text/csv")}, "data": form}


async def test_api_upload_preview_import_and_export_round_trip(
    open_context: AppContext, tmp_path: Path
) -> None:
    ctx = open_context
    headers = admin_headers(ctx.settings)
    ayse, _burak = await existing_cards(ctx)
    named = new_customer(ctx, '=HYPERLINK("http://x")', None, "formula@example.com", "web")
    await create_card(ctx, named)
    duplicate = (await create_card(ctx, new_customer(ctx, "Ayşe Y.", "0532 999 88 77", None, "web")))[0]
    await merge_customers(ctx, ayse, [duplicate])
    path = write_csv(tmp_path / "liste.csv", [["Müşteri", "Cep No", "Mail"], *[r[:3] for r in ROWS]])

    async with api_client(ctx) as client:
        denied = await client.post("/api/v1/customers/import/preview", **_upload(path))
        assert denied.status_code == 401
        preview = await client.post("/api/v1/customers/import/preview", headers=headers, **_upload(path))
        assert preview.status_code == 200, preview.text
        body = preview.json()
        assert body["applied"] is False
        assert body["columns"] == [
            {"header": "Müşteri", "field": "name"}, {"header": "Cep No", "field": "phone"},
            {"header": "Mail", "field": "email"},
        ]  # fmt: skip
        assert body["counts"] == {
            "rows": 13, "new": 3, "matched": 3, "conflicting": 3, "invalid": 4, "created": 0, "failed": 0,
        }  # fmt: skip
        seven = next(r for r in body["rows"] if r["row"] == 7)
        assert seven == {"row": 7, "status": "invalid", "reason": "row 7: phone: not a valid phone number",
                         "field": "phone"}  # fmt: skip
        assert next(r for r in body["rows"] if r["row"] == 3)["customer"] == ayse
        assert not [value for value in PERSONAL if value in preview.text]
        assert await count(ctx, "customer") == 4

        remapped = await client.post(
            "/api/v1/customers/import/preview",
            headers=headers,
            **_upload(path, mapping=json.dumps({"Mail": "skip"})),
        )
        assert remapped.json()["counts"]["invalid"] == 6  # rows 4 and 12 lost their only contact
        bad = await client.post(
            "/api/v1/customers/import/preview", headers=headers, **_upload(path, mapping="Mail=email")
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "mapping"
        unknown = await client.post(
            "/api/v1/customers/import/preview", headers=headers, **_upload(path, mapping='{"Fax": "phone"}')
        )
        assert unknown.status_code == 422 and "'Fax'" in unknown.json()["detail"]

        imported = await client.post("/api/v1/customers/import", headers=headers, **_upload(path))
        assert imported.status_code == 200, imported.text
        # Without the language column, Zehra (row 13) is valid here.
        assert imported.json()["applied"] is True and imported.json()["counts"]["created"] == 3
        assert await count(ctx, "customer") == 7

        denied_export = await client.get("/api/v1/customers/export")
        assert denied_export.status_code == 401
        export = await client.get("/api/v1/customers/export", headers=headers)
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        assert export.content.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert tuple(table[0]) == COLUMNS
        exported = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in table[1:]}
        assert str(duplicate) not in exported  # merged cards are left out
        assert len(exported) == 6
        assert exported[str(ayse)]["phone"] == "+905321112233"
        assert exported[str(ayse)]["email"] == "ayse@example.com"
        mehmet = next(r for r in exported.values() if r["name"] == "Mehmet Öztürk")
        assert (
            mehmet["source"] == "import"
            and mehmet["language"] == "tr"
            and mehmet["created_at"].endswith("+00:00")
        )
        # A name a spreadsheet would run as a formula is exported as text.
        assert next(r for r in exported.values() if "HYPERLINK" in r["name"])["name"].startswith("'=")
        semicolons = await client.get("/api/v1/customers/export?delimiter=semicolon", headers=headers)
        assert semicolons.content.decode("utf-8-sig").splitlines()[0] == ";".join(COLUMNS)

        # The export imports again as it is: every card matched, nothing added.
        round_trip = tmp_path / "customers.csv"
        round_trip.write_bytes(export.content)
        again = await client.post("/api/v1/customers/import", headers=headers, **_upload(round_trip))
        assert again.json()["counts"] == {
            "rows": 6, "new": 0, "matched": 6, "conflicting": 0, "invalid": 0, "created": 0, "failed": 0,
        }  # fmt: skip
    assert await count(ctx, "customer") == 7
    exports = await ctx.db.fetch("SELECT changes FROM ajanda_audit WHERE action = 'exported'")
    assert [json.loads(r["changes"]) for r in exports] == [{"rows": 6}, {"rows": 6}]


async def test_big_file_is_applied_in_chunks(open_context: AppContext, tmp_path: Path) -> None:
    """1,200 rows: three transactions, the progress callback sees every row of both phases."""
    ctx = open_context
    rows = [[f"Kişi {i}", f"0532 1{i:06d}", f"kisi{i}@example.com"] for i in range(1200)]
    data = write_csv(tmp_path / "big.csv", [["Ad Soyad", "Telefon", "E-posta"], *rows]).read_bytes()
    seen: list[int] = []
    commits = ctx.db.commits
    plan = await preview_file(ctx, data, progress=seen.append)
    assert sum(seen) == 1200 and len(seen) == 3
    seen.clear()
    await apply(ctx, plan, progress=seen.append)
    assert seen == [500, 500, 200] and plan.counts()["created"] == 1200
    assert ctx.db.commits - commits == 4  # three chunks and the summary audit row
    assert await count(ctx, "customer") == 1200


# --------------------------------------------------------------------------------------------------
# Command line


def test_cli_import_dry_run_apply_and_export(
    tmp_path: Path, config_file: Path, make_settings: Callable[..., Settings]
) -> None:
    env = {**os.environ, "AJANDA_CONFIG": str(config_file)}

    def ajanda(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    path = write_csv(
        tmp_path / "liste.csv",
        [["Müşteri Adı", "Müşteri Tel", "E-posta"], ["Ayşe Yılmaz", "0532 111 22 33", ""],
         ["Burak Kaya", "0533 222 33 44", "burak@example.com"], ["Can", "999", ""]],
    )  # fmt: skip

    unmapped = ajanda("customers", "import", str(path), "--map", "E-posta=skip")
    assert unmapped.returncode == 1
    assert "error: mapping: no column for the phone or the e-mail" in unmapped.stderr
    dry = ajanda("customers", "import", str(path), "--map", "Müşteri Tel=phone")
    assert dry.returncode == 0, dry.stderr
    assert "'Müşteri Tel' -> phone" in dry.stdout
    assert "invalid     row 4: phone: not a valid phone number" in dry.stdout
    assert "3 rows: 2 new, 0 matched, 0 conflicting, 1 invalid" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert "checking" in dry.stderr  # the progress bar goes to stderr

    async def cards() -> int:
        ctx = build_context(make_settings())
        await ctx.start(run_migrations=True)
        try:
            return await count(ctx, "customer")
        finally:
            await ctx.stop()

    assert asyncio.run(cards()) == 0
    applied = ajanda("customers", "import", str(path), "--map", "Müşteri Tel=phone", "--apply")
    assert applied.returncode == 0, applied.stderr
    assert "3 rows: 2 created, 0 matched (left as they are), 0 conflicting, 1 invalid" in applied.stdout
    assert asyncio.run(cards()) == 2
    again = ajanda(
        "customers", "import", str(path), "--map", "Müşteri Tel=phone", "--apply", "--details", "all"
    )
    assert "3 rows: 0 created, 2 matched" in again.stdout
    assert "matched     row 2: matched customer" in again.stdout
    for output in (dry, applied, again):
        assert (
            "5321112233" not in output.stdout + output.stderr
            and "burak@" not in output.stdout + output.stderr
        )

    target = tmp_path / "out" / "customers.csv"
    target.parent.mkdir()
    exported = ajanda("customers", "export", "--output", str(target), "--delimiter", "semicolon")
    assert exported.returncode == 0, exported.stderr
    assert "2 customers written to" in exported.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    table = list(csv.reader(io.StringIO(target.read_text("utf-8-sig")), delimiter=";"))
    assert tuple(table[0]) == COLUMNS and {r[2] for r in table[1:]} == {"+905321112233", "+905332223344"}
    to_stdout = ajanda("customers", "export")
    assert to_stdout.returncode == 0 and to_stdout.stdout.lstrip("\ufeff").startswith("id,name,phone")


def test_a_hostile_xlsx_with_an_entity_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    """openpyxl parses through defusedxml (a dependency for this): entity expansion is refused."""
    import io
    import zipfile

    import openpyxl

    from core.customers.importing import read_xlsx
    from core.errors import FieldError

    book = openpyxl.Workbook()
    book.active.append(["Ad Soyad", "Telefon"])
    book.active.append(["Ayşe Yılmaz", "0532 111 22 33"])
    plain = io.BytesIO()
    book.save(plain)
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # openpyxl writes strings inline
                body = content.split(b"?>", 1)[-1]  # the declaration, if any, goes before the DOCTYPE
                content = bomb.encode() + body.replace(b"Telefon", b"&lol3;")
            target.writestr(item, content)
    assert read_xlsx(plain.getvalue()).headers[:2] == ["Ad Soyad", "Telefon"]
    with pytest.raises(FieldError, match="not a readable Excel"):
        read_xlsx(hostile.getvalue())
