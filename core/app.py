"""create_app(settings) -> Litestar: all HTTP wiring in one place."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components
from litestar.template.config import TemplateConfig

from core.access.routes import AccountController, LoginController, MeController, TokenController
from core.admin.calendar_pages import CalendarPages
from core.admin.customer_pages import CustomerPages
from core.admin.routes import CoreAdminController
from core.admin.settings_pages import SettingsPages
from core.bookings.booking_pages import BookingPages
from core.bookings.manage_pages import ManagePages
from core.bookings.routes import AdminBookingController, PublicBookingController
from core.config import Settings
from core.context import AppContext, build_context
from core.customers.routes import CustomerController
from core.customers.transfer_routes import CustomerTransferController
from core.feedback.routes import FeedbackController
from core.health.routes import healthz
from core.notifications.routes import MessageController, MessageTemplateController
from core.outbox.worker import Worker
from core.plugins import core_version
from core.scheduling.admin_routes import scheduling_admin_router
from core.scheduling.routes import PublicSchedulingController
from core.themes import theme_chain
from core.web.access_log import access_log_middleware
from core.web.auth import SECURITY_SCHEMES, access_guard, check_route_permissions
from core.web.csrf import csrf_middleware
from core.web.problems import EXCEPTION_HANDLERS
from core.web.ratelimit import login_rate_limit, rate_limit
from core.web.static import static_router
from core.web.templating import page_engine

log = logging.getLogger("ajanda.app")


def plugin_routers(context: AppContext) -> list[Router]:
    """Each plugin's routes under /p/<name>/, guarded unless marked public."""
    routers = []
    for plugin_name, handlers in context.hooks.per_plugin_sync("register_routes", context=context):
        routers.append(Router(path=f"/p/{plugin_name}", route_handlers=list(handlers)))
    return routers


def asset_version(theme: str) -> str:
    """Changes with the release and the theme, so browsers that cached the old CSS fetch the new one."""
    return hashlib.sha256(f"{core_version()}|{theme}".encode()).hexdigest()[:10]


def create_app(
    settings: Settings,
    *,
    context: AppContext | None = None,
    extra_plugins: dict[str, ModuleType] | None = None,
    run_worker: bool | None = None,
    migrate_on_start: bool | None = None,
) -> Litestar:
    """Build the app. `run_worker` defaults to `[worker] run_in_server`; `migrate_on_start` to SQLite."""
    ctx = context or build_context(settings, extra_plugins)
    with_worker = settings.worker.run_in_server if run_worker is None else run_worker
    migrate = (settings.database.engine == "sqlite") if migrate_on_start is None else migrate_on_start

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await ctx.start(run_migrations=migrate)
        worker: Worker | None = None
        task: asyncio.Task[None] | None = None
        if with_worker:
            worker = Worker(ctx)
            task = asyncio.create_task(worker.run_forever(), name="ajanda-worker")
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop()
                await task
            await ctx.stop()

    chain = theme_chain(ctx)
    login_limiter, login_stores = login_rate_limit(settings)
    route_handlers: list[Any] = [
        healthz,
        Router(
            path="/",
            route_handlers=[LoginController],
            middleware=[login_limiter.middleware] if login_limiter is not None else [],
        ),
        MeController,
        AccountController,
        TokenController,
        CoreAdminController,
        PublicSchedulingController,
        PublicBookingController,
        CustomerController,
        CustomerTransferController,
        AdminBookingController,
        MessageController,
        MessageTemplateController,
        FeedbackController,
        scheduling_admin_router(),
        BookingPages,
        ManagePages,
        CalendarPages,
        CustomerPages,
        SettingsPages,
        static_router(chain),
        *plugin_routers(ctx),
    ]
    limiter, stores = rate_limit(settings)
    middleware: list[Any] = [access_log_middleware] if settings.logging.access_log else []
    if limiter is not None:
        middleware.append(limiter.middleware)
    middleware.append(csrf_middleware(settings))
    app = Litestar(
        route_handlers=route_handlers,
        guards=[access_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=middleware,
        stores={**stores, **login_stores},
        template_config=TemplateConfig(instance=page_engine(chain, asset_version(settings.web.theme))),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Ajanda",
            version=core_version(),
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            # The API description is public, like the API it describes.
            openapi_router=Router(
                path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False
            ),
            use_handler_docstrings=True,
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        debug=False,
        logging_config=None,
    )
    app.state.context = ctx
    app.state.locale_dirs = tuple(folder.parent / "locale" for folder in chain.folders("templates"))
    check_route_permissions(app)
    return app
