"""Customer import from CSV and Excel (.xlsx): read the sheet, map its columns to card fields, classify
every row against the cards and the file's earlier rows, and create the new ones in chunks.

A preview and an import run the same classification, so what the preview promises is what the import
does (a card added in between is still found: `create_card` matches again). New cards go through
`new_customer` and `create_card` like every other entry path, so the same normalising, matching,
near-match flags, audit rows and hooks apply. Matched rows are left as they are; conflicting and
invalid rows are never written. Reasons name the row and the field, never a phone number or an
address, so they can be shown, logged and kept.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Literal

from core.customers.card import LANGUAGES, clean_tags
from core.customers.duplicates import fold_name
from core.customers.service import NewCustomer, create_card, new_customer
from core.errors import AjandaError, FieldError

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("ajanda.customers.import")

FIELDS = ("name", "phone", "email", "notes", "tags", "language")
SKIP = "skip"
# One transaction per this many new cards: big enough that a commit (an fsync on SQLite, a round trip
# on PostgreSQL) is spread over many rows, small enough that other writers wait a fraction of a second.
CHUNK_ROWS = 500
# The same limit the lookups use for one IN (...) list: far below SQLite's variable limit.
LOOKUP_BATCH = 500
MAX_ROWS = 200_000
# The same limits the customer API puts on these fields.
LIMITS = {"name": 200, "phone": 40, "email": 254, "notes": 4000}
MAX_TAGS = 30
# What a spreadsheet takes for a formula; an exported cell starting with one carries a leading "'".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Status = Literal["new", "matched", "conflicting", "invalid", "created", "failed"]
STATUSES: tuple[Status, ...] = ("new", "matched", "conflicting", "invalid", "created", "failed")
Progress = Callable[[int], object]


def fold(text: str) -> str:
    """A header (or a word) reduced to ASCII letters and digits with the near-match name folding
    (Turkish-aware): "E-posta", "EPOSTA" and "e posta" are one header, so are "Adı Soyadı" and
    "ADI SOYADI"."""
    return "".join(ch for ch in fold_name(text) if ch.isascii() and ch.isalnum())


def _aliases(field_name: str, headers: str) -> dict[str, str]:
    return {fold(header): field_name for header in headers.split("|")}


# Headers recognised without a mapping (folded, so "ADI SOYADI" and "e-posta" count), Turkish and English.
HEADER_ALIASES: dict[str, str] = {
    **_aliases(
        "name",
        "Ad Soyad|Adı Soyadı|Ad Soyadı|Adı|Ad|Soyad|Soyadı|İsim|İsim Soyisim|İsim Soyad|Soyisim|Müşteri"
        "|Müşteri Adı|Müşteri Adı Soyadı|Kişi|Name|Full Name|First Name|Last Name|Surname|Given Name"
        "|Family Name|Customer|Customer Name|Client|Client Name|Contact Name",
    ),
    **_aliases(
        "phone",
        "Telefon|Tel|Tel No|Telefon No|Telefon Numarası|Cep|Cep Telefonu|Cep Tel|Cep No|GSM|GSM No|Mobil"
        "|Mobil Telefon|Phone|Phone Number|Telephone|Mobile|Mobile Phone|Mobile Number|Cell|Cell Phone",
    ),
    **_aliases(
        "email",
        "E-posta|E-posta Adresi|Eposta|E-mail|Email|Email Address|E-mail Address|Mail|Mail Adresi",
    ),
    **_aliases("notes", "Notlar|Not|Açıklama|Açıklamalar|Notes|Note|Comments|Comment"),
    **_aliases("tags", "Etiketler|Etiket|Tags|Tag|Labels|Label"),
    **_aliases("language", "Dil|Tercih Edilen Dil|Language|Preferred Language|Lang"),
}
# Name columns that hold the family name go after the others ("Soyad" before "Ad" still gives "Ad Soyad").
FAMILY_NAME = set(_aliases("name", "Soyad|Soyadı|Soyisim|Last Name|Surname|Family Name"))
LANGUAGE_WORDS = {
    **dict.fromkeys(("tr", "turkce", "turkish"), "tr"),
    **dict.fromkeys(("en", "english", "ingilizce"), "en"),
}


# ------------------------------------------------------------------------------------------------
# Reading the file


@dataclass
class Sheet:
    """A table as read from the file. Row numbers are those a spreadsheet shows (the header is row 1
    when nothing comes before it), so a reason's "row 7" is the row the person sees."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    kind: Literal["csv", "xlsx"]


def read_table(data: bytes, sheet: str | None = None) -> Sheet:
    """The table in a CSV or .xlsx file, told apart by content (an upload's name proves nothing)."""
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data, sheet)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FieldError("file", "an old Excel (.xls) file: save it as .xlsx or CSV")
    if sheet:
        raise FieldError("sheet", "only an Excel (.xlsx) file has sheets")
    return read_csv(data)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), UTF-16 (Excel's "Unicode text"), else
    Windows-1254, the code page Excel on a Turkish Windows saves "CSV" in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1254")
    except UnicodeDecodeError:
        raise FieldError("file", "not a UTF-8 or Windows-1254 (Turkish) text file") from None


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


SEP_LINE = re.compile(r'^"?sep=(.)"?$', re.IGNORECASE)


def _delimiter(text: str) -> tuple[str, str]:
    """(delimiter, text without Excel's "sep=" line).

    Taken from the header line, the one line whose shape is known (column names seldom hold commas or
    semicolons), rather than csv.Sniffer, whose guess from character counts over the data lines goes
    wrong on addresses and notes. Excel writes ";" where the list separator is ";" (Turkish Windows).
    """
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    hint = SEP_LINE.match(first.strip())
    if hint:
        after = text.find("\n", text.find(first))
        return hint.group(1), text[after + 1 :] if after >= 0 else ""
    counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return (best if counts[best] else ","), text


def _clean(value: str) -> str:
    value = value.strip()
    # A leading "'" is how a spreadsheet (and our export) keeps a cell from being read as a formula.
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:].strip()
    return value


def read_csv(data: bytes) -> Sheet:
    text = _decode(data)
    delimiter, text = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            records.append((number, [_clean(cell) for cell in record]))
    except csv.Error as err:
        raise FieldError("file", f"row {reader.line_num}: not readable as CSV ({err})") from None
    return _sheet(records, "csv")


def _cell_text(value: Any) -> str:
    """A cell as text. Excel keeps a phone number typed without its leading 0 or + as a number, which
    openpyxl hands back as an int or a float with nothing after the point."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return _clean(str(value))


def read_xlsx(data: bytes, sheet: str | None = None) -> Sheet:
    """The first sheet (or the named one) of an .xlsx workbook, read in openpyxl's streaming mode."""
    import openpyxl  # ~100 ms to import: only when an Excel file comes

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged zip or workbook raises anything from KeyError to lxml's errors
        raise FieldError("file", "not a readable Excel (.xlsx) file") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise FieldError("sheet", f"no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        if not hasattr(worksheet, "iter_rows"):
            raise FieldError("sheet", f"{worksheet.title!r} is a chart, not a sheet of rows")
        # Some writers store a wrong size; without it every row is read as long as it is.
        worksheet.reset_dimensions()
        records = [
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        ]
    except FieldError:
        raise
    except Exception:
        raise FieldError("file", "not a readable Excel (.xlsx) file") from None
    finally:
        book.close()
    return _sheet(records, "xlsx")


def _sheet(records: Iterable[tuple[int, list[str]]], kind: Literal["csv", "xlsx"]) -> Sheet:
    """The first non-blank row is the header; blank rows are skipped (their numbers stay taken)."""
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in records:
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise FieldError("file", f"more than {MAX_ROWS} rows: split the file")
    if headers is None:
        raise FieldError("file", "the file is empty")
    return Sheet(headers=headers, rows=rows, kind=kind)


# ------------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`Header=field` pairs (the CLI's --map) as a mapping; the last "=" splits, so a header may hold one."""
    mapping: dict[str, str] = {}
    for item in items:
        header, eq, target = item.rpartition("=")
        if not eq or not header.strip():
            raise FieldError("mapping", f"{item!r} is not 'Column header=field'")
        mapping[header.strip()] = target.strip()
    return mapping


def map_columns(headers: Sequence[str], explicit: Mapping[str, str] | None = None) -> list[Column]:
    """The columns to read and the field each fills: recognised headers, overridden by `explicit`
    (header -> field, or "skip"). A field named in `explicit` takes no auto-detected column, so
    mapping "Ev Tel" to phone is not joined by the "Telefon" column next to it."""
    chosen: dict[int, str] = {}
    named: set[str] = set()
    for header, target in (explicit or {}).items():
        target_field = target.strip().lower()
        if target_field not in (*FIELDS, SKIP):
            raise FieldError(
                "mapping", f"{header!r}: unknown field {target!r} (one of {', '.join(FIELDS)}, or {SKIP})"
            )
        wanted = header.strip()
        found = [i for i, h in enumerate(headers) if h == wanted]
        if not found and fold(wanted):
            found = [i for i, h in enumerate(headers) if fold(h) == fold(wanted)]
        if not found:
            # The header row is not listed: in a file without one, the "headers" are a customer's data.
            raise FieldError("mapping", f"no column named {header!r} in the first row")
        for index in found:
            chosen[index] = target_field
        if target_field != SKIP:
            named.add(target_field)
    for index, header in enumerate(headers):
        auto = HEADER_ALIASES.get(fold(header))
        if index not in chosen and auto is not None and auto not in named:
            chosen[index] = auto
    columns = [Column(i, headers[i], f) for i, f in sorted(chosen.items()) if f != SKIP]
    fields = {c.field for c in columns}
    if "name" not in fields:
        raise FieldError("mapping", "no column for the name: map one, e.g. 'Ad Soyad=name'")
    if not fields & {"phone", "email"}:
        raise FieldError("mapping", "no column for the phone or the e-mail: map one, e.g. 'Telefon=phone'")
    return columns


def _values(cells: Sequence[str], columns: Sequence[Column]) -> dict[str, str]:
    """One row's fields: name parts joined (given names first), notes joined by lines, tags joined,
    and for phone, e-mail and language the first column that has a value."""
    parts: dict[str, list[tuple[int, str]]] = {}
    for column in columns:
        value = cells[column.index] if column.index < len(cells) else ""
        if value:
            rank = 1 if column.field == "name" and fold(column.header) in FAMILY_NAME else 0
            parts.setdefault(column.field, []).append((rank, value))
    values: dict[str, str] = {}
    for name, found in parts.items():
        texts = [text for _rank, text in sorted(found, key=lambda p: p[0])]
        if name == "name":
            values[name] = " ".join(texts)
        elif name == "notes":
            values[name] = "\n".join(texts)
        elif name == "tags":
            values[name] = ",".join(texts)
        else:
            values[name] = texts[0]
    return values


def _language(raw: str) -> str | None:
    if not raw:
        return None
    found = LANGUAGE_WORDS.get(fold(re.split(r"[-_]", raw, maxsplit=1)[0]))
    if found is None:
        raise FieldError("language", f"one of {', '.join(LANGUAGES)}")
    return found


def check_row(ctx: AppContext, values: Mapping[str, str]) -> tuple[NewCustomer, str | None, tuple[str, ...]]:
    """(the person, notes, tags) or the FieldError of the first bad field: the same checks and
    normalising as the customer API, so an imported card is one the API could have made."""
    for name, value in values.items():
        if "\x00" in value:
            raise FieldError(name, "contains a NUL character")
    for name, limit in LIMITS.items():
        if len(values.get(name, "")) > limit:
            raise FieldError(name, f"at most {limit} characters")
    language = _language(values.get("language", ""))
    person = new_customer(
        ctx,
        name=values.get("name", ""),
        phone=values.get("phone") or None,
        email=values.get("email") or None,
        source="import",
        language=language,
        field_prefix="",
    )
    tags = clean_tags([t for t in re.split(r"[,;]", values.get("tags", "")) if t.strip()])
    if len(tags) > MAX_TAGS:
        raise FieldError("tags", f"at most {MAX_TAGS} tags")
    return person, values.get("notes") or None, tags


# ------------------------------------------------------------------------------------------------
# Classifying


@dataclass
class PlannedRow:
    """One row's fate. `message` never holds a value from the row: only row numbers, field names and
    card ids. The person, notes and tags are kept (out of the repr) for the import to write."""

    number: int
    status: Status
    message: str
    field: str | None = None
    customer: int | None = None  # the card it matched, or the card created for it
    same_as: int | None = None  # the earlier row it repeats (matched) or contradicts (conflicting)
    person: NewCustomer | None = dataclass_field(default=None, repr=False)
    notes: str | None = dataclass_field(default=None, repr=False)
    tags: tuple[str, ...] = dataclass_field(default=(), repr=False)

    @property
    def reason(self) -> str:
        return f"row {self.number}: {f'{self.field}: ' if self.field else ''}{self.message}"


@dataclass
class ImportPlan:
    columns: list[Column]
    rows: list[PlannedRow]
    applied: bool = False

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts


@dataclass(frozen=True)
class _Owner:
    """Who a phone or e-mail already belongs to: a card, or an earlier new row of the file, with that
    card's or row's e-mail index (to tell a second person who shares the phone)."""

    customer: int | None = None
    row: int | None = None
    email_idx: str | None = None

    @property
    def key(self) -> tuple[int | None, int | None]:
        return self.customer, self.row

    @property
    def label(self) -> str:
        return f"customer {self.customer}" if self.customer is not None else f"row {self.row}"


async def _owners(
    ctx: AppContext, column: Literal["phone_idx", "email_idx"], keys: set[str]
) -> dict[str, _Owner]:
    """The card each blind index leads to, as `match` finds it (the lowest id holding it, or the card
    a merged one was merged into), with that card's e-mail index. One query per LOOKUP_BATCH keys
    instead of one per row."""
    found: dict[str, _Owner] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_BATCH):
        part = ordered[start : start + LOOKUP_BATCH]
        marks = ", ".join("?" for _ in part)
        rows = await ctx.db.fetch_tuples(
            f"SELECT c.{column}, t.id, t.email_idx FROM customer c"
            f" JOIN customer t ON t.id = COALESCE(c.merged_into, c.id) WHERE c.{column} IN ({marks})"
            " ORDER BY c.id",
            *part,
        )
        for key, card, email_idx in rows:
            found.setdefault(key, _Owner(customer=int(card), email_idx=email_idx))
    return found


class _Classifier:
    """Row by row, in file order: what the cards already hold, and what earlier rows will add."""

    def __init__(self) -> None:
        self.phones: dict[str, _Owner] = {}
        self.emails: dict[str, _Owner] = {}

    def classify(
        self,
        number: int,
        person: NewCustomer,
        notes: str | None,
        tags: tuple[str, ...],
        card_by_phone: Mapping[str, _Owner],
        card_by_email: Mapping[str, _Owner],
    ) -> PlannedRow:
        by_phone = self._owner(person.phone_idx, card_by_phone, self.phones)
        by_email = self._owner(person.email_idx, card_by_email, self.emails)
        if by_phone and by_email and by_phone.key != by_email.key:
            return PlannedRow(
                number, "conflicting", f"the phone matches {by_phone.label} and the e-mail {by_email.label}",
                customer=by_phone.customer, same_as=by_phone.row or by_email.row,
            )  # fmt: skip
        if by_phone and not by_email and person.email_idx and by_phone.email_idx:
            # The e-mail leads nowhere and the phone's holder has another one: a second person on the
            # same phone (a mother booking for her daughter) as likely as a changed address.
            return PlannedRow(
                number, "conflicting", f"the phone matches {by_phone.label}, whose e-mail differs",
                customer=by_phone.customer, same_as=by_phone.row,
            )  # fmt: skip
        owner = by_phone or by_email
        if owner is not None:
            via = "phone" if by_phone else "e-mail"
            self._register(person, owner)
            if owner.customer is not None:
                message = f"matched customer {owner.customer} (same {via})"
            else:
                message = f"same person as row {owner.row} (same {via})"
            return PlannedRow(number, "matched", message, customer=owner.customer, same_as=owner.row)
        self._register(person, _Owner(row=number, email_idx=person.email_idx))
        return PlannedRow(number, "new", "new customer", person=person, notes=notes, tags=tags)

    @staticmethod
    def _owner(key: str | None, cards: Mapping[str, _Owner], earlier: Mapping[str, _Owner]) -> _Owner | None:
        if key is None:
            return None
        return cards.get(key) or earlier.get(key)

    def _register(self, person: NewCustomer, owner: _Owner) -> None:
        """Later rows with this phone or e-mail are the same person (for keys no card holds; the
        database answers for the others)."""
        if person.phone_idx:
            self.phones.setdefault(person.phone_idx, owner)
        if person.email_idx:
            self.emails.setdefault(person.email_idx, owner)


async def classify(
    ctx: AppContext, sheet: Sheet, columns: Sequence[Column], progress: Progress | None = None
) -> ImportPlan:
    """Every row as new, matched, conflicting or invalid, with its reason; writes nothing.

    Works in chunks: each chunk's phones and e-mails are looked up in two queries, and the event loop
    gets a turn between chunks (checking a phone number costs ~45 us of CPU).
    """
    classifier = _Classifier()
    planned: list[PlannedRow] = []
    for start in range(0, len(sheet.rows), CHUNK_ROWS):
        batch = sheet.rows[start : start + CHUNK_ROWS]
        checked: list[tuple[int, NewCustomer, str | None, tuple[str, ...]] | PlannedRow] = []
        for number, cells in batch:
            try:
                person, notes, tags = check_row(ctx, _values(cells, columns))
            except FieldError as err:
                checked.append(PlannedRow(number, "invalid", err.message, field=err.field))
                continue
            checked.append((number, person, notes, tags))
        people = [c for c in checked if not isinstance(c, PlannedRow)]
        by_phone = await _owners(ctx, "phone_idx", {p[1].phone_idx for p in people if p[1].phone_idx})
        by_email = await _owners(ctx, "email_idx", {p[1].email_idx for p in people if p[1].email_idx})
        for item in checked:
            if isinstance(item, PlannedRow):
                planned.append(item)
            else:
                number, person, notes, tags = item
                planned.append(classifier.classify(number, person, notes, tags, by_phone, by_email))
        if progress is not None:
            progress(len(batch))
        await asyncio.sleep(0)
    return ImportPlan(columns=list(columns), rows=planned)


# ------------------------------------------------------------------------------------------------
# Applying


class ImportStopped(AjandaError):
    """The database failed under the import; the chunks committed before stay (a re-run matches them)."""


async def apply(
    ctx: AppContext, plan: ImportPlan, progress: Progress | None = None, chunk_rows: int = CHUNK_ROWS
) -> ImportPlan:
    """Create the plan's new rows, one transaction per `chunk_rows`; marks each created, matched (a card
    added since the check) or failed. A chunk that fails (a plugin's veto of one row) is written
    again row by row, so one refused row costs neither its neighbours nor the rows stored before."""
    todo = [row for row in plan.rows if row.status == "new"]
    for start in range(0, len(todo), chunk_rows):
        chunk = todo[start : start + chunk_rows]
        try:
            _settle(chunk, await _write_chunk(ctx, chunk))
        except Exception as err:
            log.warning(
                "customer import: a chunk of %d rows failed (%s); writing them one by one",
                len(chunk), type(err).__name__,
            )  # fmt: skip
            for row in chunk:
                try:
                    _settle([row], [await _write_one(ctx, row)])
                except Exception as failure:
                    stored = plan.counts()["created"]
                    raise ImportStopped(
                        f"import stopped at row {row.number} ({type(failure).__name__}); {stored} new"
                        " cards were stored before it, and running the import again matches them"
                    ) from failure
        if progress is not None:
            progress(len(chunk))
    plan.applied = True
    counts = plan.counts()
    log.info(
        "customer import: %d created, %d matched, %d conflicting, %d invalid, %d failed",
        counts["created"], counts["matched"], counts["conflicting"], counts["invalid"], counts["failed"],
    )  # fmt: skip
    await ctx.audit.record("customers", "import", "imported", {k: v for k, v in counts.items() if k != "new"})
    return plan


def _settle(rows: Sequence[PlannedRow], outcomes: Sequence[tuple[int, bool] | AjandaError]) -> None:
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, AjandaError):
            row.status, row.message = "failed", f"refused: {_refusal(outcome)}"
            continue
        customer_id, matched = outcome
        row.customer = customer_id
        if matched:
            row.status, row.message = "matched", f"matched customer {customer_id} (added since the check)"
        else:
            row.status, row.message = "created", f"created customer {customer_id}"
        row.person, row.notes, row.tags = None, None, ()


async def _write_chunk(ctx: AppContext, chunk: Sequence[PlannedRow]) -> list[tuple[int, bool]]:
    outcomes: list[tuple[int, bool]] = []
    async with ctx.db.transaction():
        for done, row in enumerate(chunk, start=1):
            assert row.person is not None
            outcomes.append(await create_card(ctx, row.person, row.notes, row.tags))
            if done % 50 == 0:
                # SQLite runs a transaction's statements on the event loop: let reads in now and then.
                await asyncio.sleep(0)
    return outcomes


async def _write_one(ctx: AppContext, row: PlannedRow) -> tuple[int, bool] | AjandaError:
    """One row in its own transaction; a refusal (veto, invalid field) is the row's outcome, anything
    else (the database gone) stops the import."""
    assert row.person is not None
    try:
        return await create_card(ctx, row.person, row.notes, row.tags)
    except AjandaError as err:
        return err


def _refusal(err: AjandaError) -> str:
    reason = getattr(err, "reason", None)
    return str(reason) if reason else str(err)


async def preview_file(
    ctx: AppContext,
    data: bytes,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Read, map and classify a file; the file is parsed in a worker thread (an .xlsx of 50,000 rows
    takes seconds of openpyxl) so the server keeps answering."""
    table = await asyncio.to_thread(read_table, data, sheet)
    return await classify(ctx, table, map_columns(table.headers, mapping), progress)
