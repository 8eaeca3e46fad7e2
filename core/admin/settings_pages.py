"""The admin settings pages: services, staff, hours, closures, and each plugin's settings.

Viewing needs `scheduling.read`, changing `scheduling.manage`; plugin settings are shown to
`plugins.read` and saved by `plugins.manage` (owner). Every form is a plain POST that redirects after
success (POST-redirect-GET) and re-renders with 422 and the reasons next to the fields otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from core.access.permissions import Permission, requires
from core.admin.plugin_settings import (
    describe,
    file_table,
    form_values,
    parse,
    plugin_info,
    plugin_list,
    table_problems,
    write_table,
)
from core.admin.settings_forms import Form, one, posted
from core.admin.settings_records import (
    hours_rows,
    save_closures,
    save_hours,
    save_service,
    save_staff,
    service_values,
    staff_values,
    validation_text,
)
from core.db.database import Database
from core.errors import FieldError, NotFound
from core.scheduling.admin_routes import (
    SERVICES,
    STAFF,
    _set_active,
    hours_location,
    location_records,
    remove_closure,
    resource_records,
    service_records,
    staff_records,
    week_of,
)
from core.web.auth import context_of, principal_of
from core.web.pages import PAGE, PAGE_FORM, gettext_for, page
from core.web.params import PathId

READ = {**requires(Permission.SCHEDULING_READ), **PAGE_FORM}
MANAGE = {**requires(Permission.SCHEDULING_MANAGE), **PAGE}
Saved = Annotated[str, QueryParameter(max_length=20)]
PluginName = Annotated[str, PathParameter(max_length=100)]


def _can_manage(request: Request[Any, Any, Any]) -> bool:
    return principal_of(request).can(Permission.SCHEDULING_MANAGE)


async def _locations(request: Request[Any, Any, Any]) -> list[Any]:
    return await location_records(context_of(request).db)


async def _upcoming_of_inactive(db: Database, staff_ids: list[int]) -> dict[int, int]:
    """{staff id: bookings still ahead} for deactivated staff members. Deactivating someone keeps
    their bookings (the customers were told a time and a person); the list shows what is left to move."""
    if not staff_ids:
        return {}
    marks = ", ".join("?" for _ in staff_ids)
    rows = await db.fetch(
        f"SELECT staff, COUNT(*) AS n FROM booking WHERE staff IN ({marks}) AND start_at > ?"
        " AND status IN ('pending', 'confirmed') GROUP BY staff",
        *staff_ids,
        datetime.now(UTC),
    )
    return {int(r["staff"]): int(r["n"]) for r in rows}


class SettingsPages(Controller):
    path = "/admin/settings"
    include_in_schema = False

    @get("/", opt=READ)
    async def settings_home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "admin/settings.html", section="home")

    # ---------------------------------------------------------------------------------------------
    # Services

    @get("/services", opt=READ)
    async def services(self, request: Request[Any, Any, Any], saved: Saved = "") -> Template:
        db = context_of(request).db
        return page(
            request,
            "admin/settings_services.html",
            section="services",
            services=await service_records(db),
            locations={loc.id: loc.name for loc in await _locations(request)},
            can_manage=_can_manage(request),
            saved=saved,
        )

    async def _service_form(
        self, request: Request[Any, Any, Any], service_id: int | None, form: Form, status: int = 200
    ) -> Template:
        return page(
            request,
            "admin/settings_service.html",
            status=status,
            section="services",
            service_id=service_id,
            form=form,
            locations=await _locations(request),
            resources=await resource_records(context_of(request).db),
            reminder_default=context_of(request).settings.messages.reminder_hours,
            can_manage=_can_manage(request),
        )

    @get("/services/new", opt=READ)
    async def new_service(self, request: Request[Any, Any, Any]) -> Template:
        currency = context_of(request).settings.business.currency
        return await self._service_form(request, None, Form(values=service_values(None, currency)))

    @post("/services/new", opt=MANAGE, status_code=303)
    async def create_service(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        form, saved = await save_service(
            context_of(request), gettext_for(request), await posted(request), None
        )
        if saved is None:
            return await self._service_form(request, None, form, 422)
        return Redirect("/admin/settings/services?saved=created", status_code=303)

    @get("/services/{service_id:int}", opt=READ)
    async def service(self, request: Request[Any, Any, Any], service_id: PathId) -> Template:
        ctx = context_of(request)
        found = await SERVICES.one(ctx.db, service_id)
        form = Form(values=service_values(found, ctx.settings.business.currency))
        return await self._service_form(request, service_id, form)

    @post("/services/{service_id:int}", opt=MANAGE, status_code=303)
    async def update_service(
        self, request: Request[Any, Any, Any], service_id: PathId
    ) -> Template | Redirect:
        ctx = context_of(request)
        await SERVICES.one(ctx.db, service_id)
        form, saved = await save_service(ctx, gettext_for(request), await posted(request), service_id)
        if saved is None:
            return await self._service_form(request, service_id, form, 422)
        return Redirect("/admin/settings/services?saved=updated", status_code=303)

    @post("/services/{service_id:int}/active", opt=MANAGE, status_code=303)
    async def service_active(self, request: Request[Any, Any, Any], service_id: PathId) -> Redirect:
        """Deactivate (off the booking page, bookings kept) or activate again."""
        active = one(await posted(request), "active") == "1"
        await _set_active(context_of(request), SERVICES, service_id, active)
        return Redirect(
            f"/admin/settings/services?saved={'activated' if active else 'deactivated'}", status_code=303
        )

    # ---------------------------------------------------------------------------------------------
    # Staff

    @get("/staff", opt=READ)
    async def staff(self, request: Request[Any, Any, Any], saved: Saved = "") -> Template:
        db = context_of(request).db
        members = await staff_records(db)
        return page(
            request,
            "admin/settings_staff.html",
            section="staff",
            staff=members,
            upcoming=await _upcoming_of_inactive(db, [m.id for m in members if not m.active]),
            locations={loc.id: loc.name for loc in await _locations(request)},
            can_manage=_can_manage(request),
            saved=saved,
        )

    async def _staff_form(
        self, request: Request[Any, Any, Any], staff_id: int | None, form: Form, status: int = 200
    ) -> Template:
        return page(
            request,
            "admin/settings_member.html",
            status=status,
            section="staff",
            staff_id=staff_id,
            form=form,
            locations=await _locations(request),
            can_manage=_can_manage(request),
        )

    @get("/staff/new", opt=READ)
    async def new_staff(self, request: Request[Any, Any, Any]) -> Template:
        return await self._staff_form(request, None, Form(values=staff_values(None)))

    @post("/staff/new", opt=MANAGE, status_code=303)
    async def create_staff(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        form, saved = await save_staff(context_of(request), gettext_for(request), await posted(request), None)
        if saved is None:
            return await self._staff_form(request, None, form, 422)
        return Redirect("/admin/settings/staff?saved=created", status_code=303)

    @get("/staff/{staff_id:int}", opt=READ)
    async def member(self, request: Request[Any, Any, Any], staff_id: PathId) -> Template:
        found = await STAFF.one(context_of(request).db, staff_id)
        return await self._staff_form(request, staff_id, Form(values=staff_values(found)))

    @post("/staff/{staff_id:int}", opt=MANAGE, status_code=303)
    async def update_staff(self, request: Request[Any, Any, Any], staff_id: PathId) -> Template | Redirect:
        ctx = context_of(request)
        await STAFF.one(ctx.db, staff_id)
        form, saved = await save_staff(ctx, gettext_for(request), await posted(request), staff_id)
        if saved is None:
            return await self._staff_form(request, staff_id, form, 422)
        return Redirect("/admin/settings/staff?saved=updated", status_code=303)

    # ---------------------------------------------------------------------------------------------
    # Working hours

    async def _hours_page(
        self,
        request: Request[Any, Any, Any],
        staff_id: int,
        location: int | None,
        form: Form | None = None,
        status: int = 200,
        saved: str = "",
    ) -> Template:
        db = context_of(request).db
        member = await STAFF.one(db, staff_id)
        places = [loc for loc in await _locations(request) if loc.id in member.locations]
        chosen = location if location is not None else (places[0].id if places else None)
        if form is None:
            rows = hours_rows(await week_of(db, staff_id, chosen)) if chosen is not None else []
            form = Form(values={"rows": rows})
        return page(
            request,
            "admin/settings_hours.html",
            status=status,
            section="staff",
            member=member,
            places=places,
            chosen=chosen,
            form=form,
            can_manage=_can_manage(request),
            saved=saved,
        )

    @get("/staff/{staff_id:int}/hours", opt=READ)
    async def hours(
        self,
        request: Request[Any, Any, Any],
        staff_id: PathId,
        location: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)] = None,
        saved: Saved = "",
    ) -> Template:
        """The weekly shifts of one staff member at one of their locations."""
        return await self._hours_page(request, staff_id, location, saved=saved)

    @post("/staff/{staff_id:int}/hours", opt=MANAGE, status_code=303)
    async def set_hours(self, request: Request[Any, Any, Any], staff_id: PathId) -> Template | Redirect:
        ctx = context_of(request)
        data = await posted(request)
        try:
            location = int(one(data, "location"))
            location = await hours_location(ctx.db, staff_id, location, to_change=True)
        except (ValueError, FieldError):
            form = Form(values={"rows": hours_rows([])})
            form.add("location", validation_text(gettext_for(request), "one of the staff member's locations"))
            return await self._hours_page(request, staff_id, None, form, 422)
        form, _rows = await save_hours(ctx, gettext_for(request), data, staff_id, location)
        if not form.ok:
            return await self._hours_page(request, staff_id, location, form, 422)
        return Redirect(
            f"/admin/settings/staff/{staff_id}/hours?location={location}&saved=hours", status_code=303
        )

    # ---------------------------------------------------------------------------------------------
    # Closures

    async def _closures_page(
        self, request: Request[Any, Any, Any], form: Form | None = None, status: int = 200, saved: str = ""
    ) -> Template:
        ctx = context_of(request)
        since = (datetime.now(UTC) - timedelta(days=1)).date()
        rows = await ctx.db.fetch(
            "SELECT id, day, name, location FROM closure WHERE day >= ? ORDER BY day, id LIMIT 500", since
        )
        return page(
            request,
            "admin/settings_closures.html",
            status=status,
            section="closures",
            closures=rows,
            locations={loc.id: loc.name for loc in await _locations(request)},
            form=form or Form(values={"first_day": "", "last_day": "", "name": "", "location": ""}),
            can_manage=_can_manage(request),
            saved=saved,
        )

    @get("/closures", opt=READ)
    async def closures(self, request: Request[Any, Any, Any], saved: Saved = "") -> Template:
        """Upcoming closed days and a form to close a range of days at one location or all."""
        return await self._closures_page(request, saved=saved)

    @post("/closures", opt=MANAGE, status_code=303)
    async def add_closures(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        form, created = await save_closures(context_of(request), gettext_for(request), await posted(request))
        if created is None:
            return await self._closures_page(request, form, 422)
        return Redirect(
            f"/admin/settings/closures?saved={created.created}-{created.skipped}", status_code=303
        )

    @post("/closures/{closure_id:int}/delete", opt=MANAGE, status_code=303)
    async def delete_closure(self, request: Request[Any, Any, Any], closure_id: PathId) -> Redirect:
        await remove_closure(context_of(request), closure_id)
        return Redirect("/admin/settings/closures?saved=reopened", status_code=303)

    # ---------------------------------------------------------------------------------------------
    # Plugins

    @get("/plugins", opt={**requires(Permission.PLUGINS_READ), **PAGE_FORM})
    async def plugins(self, request: Request[Any, Any, Any]) -> Template:
        """Enabled and installed plugins: name, version, description, origin."""
        return page(
            request,
            "admin/settings_plugins.html",
            section="plugins",
            plugins=plugin_list(context_of(request).plugins),
        )

    async def _plugin_page(
        self,
        request: Request[Any, Any, Any],
        name: str,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        saved: bool = False,
    ) -> Template:
        ctx = context_of(request)
        info = plugin_info(ctx.plugins, name)
        if info is None:
            raise NotFound("plugin", name)
        fields = describe(info.config) if info.config is not None else []
        if values is None:
            current: dict[str, Any] = dict(ctx.settings.plugin.get(name, {}))
            if info.enabled and info.config is not None:
                loaded = ctx.plugins.config(name)
                current = {f.encode_name: getattr(loaded, f.name) for f in msgspec.structs.fields(loaded)}
            values = form_values(fields, current, file_table(ctx.settings.source, name))
        return page(
            request,
            "admin/settings_plugin.html",
            status=status,
            section="plugins",
            info=info,
            fields=fields,
            form=Form(values=values, errors=errors or {}),
            source=ctx.settings.source,
            can_save=principal_of(request).can(Permission.PLUGINS_MANAGE) and ctx.settings.source is not None,
            saved=saved,
        )

    @get("/plugins/{name:str}", opt={**requires(Permission.PLUGINS_READ), **PAGE_FORM})
    async def plugin(self, request: Request[Any, Any, Any], name: PluginName) -> Template:
        """A form generated from the plugin's config Struct, filled with the running values."""
        return await self._plugin_page(request, name)

    @post("/plugins/{name:str}", opt={**requires(Permission.PLUGINS_MANAGE), **PAGE}, status_code=200)
    async def save_plugin(self, request: Request[Any, Any, Any], name: PluginName) -> Template:
        """Check the table against the Struct and write it into the config file (applied at restart)."""
        ctx = context_of(request)
        gettext = gettext_for(request)
        info = plugin_info(ctx.plugins, name)
        if info is None:
            raise NotFound("plugin", name)
        if info.config is None or ctx.settings.source is None:
            return await self._plugin_page(request, name, status=409)
        fields = describe(info.config)
        data = await posted(request)
        entered = {f.name: one(data, f.name) for f in fields}
        written = file_table(ctx.settings.source, name)
        parsed = parse(fields, entered, written)
        errors = {k: validation_text(gettext, v) for k, v in parsed.errors.items()}
        if not errors:
            for key, (where, message) in table_problems(info.config, name, parsed.check).items():
                text = validation_text(gettext, message)
                errors[key] = f"{where}: {text}" if where else text
        shown = {**entered, **{f.name: "" for f in fields if f.kind == "secret"}}
        if errors:
            return await self._plugin_page(request, name, shown, errors, 422)
        write_table(ctx.settings.source, name, parsed.write)
        return await self._plugin_page(request, name, shown, saved=True)
