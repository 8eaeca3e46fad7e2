"""Customer import and export over HTTP (`/api/v1/customers/import...`, `/api/v1/customers/export`).

The import takes the file as a multipart upload with the column mapping and the sheet as form fields;
the preview and the import answer with the same report, so a client shows the preview and sends the
same form again to import. The export streams CSV a page at a time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Stream

from core.access.permissions import Permission, requires
from core.customers.export import count_cards, export_csv, record_export
from core.customers.importing import ImportPlan, PlannedRow, apply, preview_file
from core.errors import FieldError
from core.web.auth import context_of

# An upload of 200,000 rows of name, phone, e-mail and a short note fits easily.
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
DELIMITERS = {"comma": ",", "semicolon": ";"}


class ImportForm(msgspec.Struct, kw_only=True):
    """multipart/form-data: `file`, optional `mapping` (a JSON object, column header -> field or
    "skip") and `sheet` (an .xlsx sheet's name; the first sheet when left out)."""

    file: UploadFile
    mapping: str | None = None
    sheet: str | None = None


class ColumnOut(msgspec.Struct, kw_only=True):
    header: str
    field: str


class CountsOut(msgspec.Struct, kw_only=True):
    rows: int
    new: int
    matched: int
    conflicting: int
    invalid: int
    created: int
    failed: int


class RowOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    row: int
    status: str
    # "row 7: phone: not a valid phone number": row numbers, field names and card ids, never values.
    reason: str
    field: str | None = None
    customer: int | None = None
    same_as_row: int | None = None


class ImportReportOut(msgspec.Struct, kw_only=True):
    applied: bool
    columns: list[ColumnOut]
    counts: CountsOut
    rows: list[RowOut]


def parse_mapping_json(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        return msgspec.json.decode(raw, type=dict[str, str])
    except msgspec.DecodeError:
        raise FieldError(
            "mapping", 'a JSON object of column header to field, e.g. {"Ad Soyad": "name"}'
        ) from None


def report(plan: ImportPlan) -> ImportReportOut:
    counts = plan.counts()
    return ImportReportOut(
        applied=plan.applied,
        columns=[ColumnOut(header=c.header, field=c.field) for c in plan.columns],
        counts=CountsOut(rows=len(plan.rows), **counts),
        rows=[_row_out(r) for r in plan.rows],
    )


def _row_out(row: PlannedRow) -> RowOut:
    return RowOut(
        row=row.number, status=row.status, reason=row.reason, field=row.field, customer=row.customer,
        same_as_row=row.same_as,
    )  # fmt: skip


async def _plan(request: Request[Any, Any, Any], data: ImportForm) -> ImportPlan:
    ctx = context_of(request)
    content = await data.file.read()
    if not content:
        raise FieldError("file", "the file is empty")
    return await preview_file(ctx, content, parse_mapping_json(data.mapping), data.sheet or None)


MultipartForm = Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)]


class CustomerTransferController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @post(
        "/import/preview",
        operation_id="preview_customer_import",
        opt=requires(Permission.CUSTOMERS_IMPORT),
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
    )
    async def preview(self, request: Request[Any, Any, Any], data: MultipartForm) -> ImportReportOut:
        """Classify every row of a CSV or .xlsx file as new, matched, conflicting or invalid, each with
        its reason and row number. Writes nothing."""
        return report(await _plan(request, data))

    @post(
        "/import",
        operation_id="import_customers",
        opt=requires(Permission.CUSTOMERS_IMPORT),
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
    )
    async def import_(self, request: Request[Any, Any, Any], data: MultipartForm) -> ImportReportOut:
        """Classify as the preview does, then create the new customers (500 per transaction). Matched
        rows are left as they are, conflicting and invalid rows are not imported; running the same
        file again matches every row it stored."""
        plan = await _plan(request, data)
        return report(await apply(context_of(request), plan))

    @get("/export", operation_id="export_customers", opt=requires(Permission.CUSTOMERS_EXPORT))
    async def export(
        self,
        request: Request[Any, Any, Any],
        delimiter: Annotated[
            Literal["comma", "semicolon"],
            QueryParameter(description="semicolon for Excel on a Turkish (or German, French...) Windows"),
        ] = "comma",
    ) -> Stream:
        """Every customer (merged cards left out) as CSV, UTF-8 with a byte order mark: id, name,
        phone, email, language, preferred_channel, tags, source, created_at."""
        ctx = context_of(request)
        await record_export(ctx, await count_cards(ctx))
        return Stream(
            export_csv(ctx, DELIMITERS[delimiter]),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="customers.csv"',
                "Cache-Control": "no-store",
            },
        )
