"""HTTP surface of the core: health, OpenAPI, problem+json errors, admin token, request logs."""

from __future__ import annotations

import logging

import pytest

from core.context import AppContext
from tests.conftest import admin_headers, api_client


async def test_healthz_reports_database_workers_and_jobs(context: AppContext) -> None:
    from core.outbox.worker import Worker

    async with api_client(context) as client:
        body = (await client.get("/healthz")).json()
        assert body["database"] is True and body["workers_alive"] == 0 and body["status"] == "degraded"
        await context.outbox.enqueue("nobody.handles", {}, max_attempts=1)
        assert (await client.get("/healthz")).json()["jobs"]["due"] == 1
        worker = Worker(context)
        await worker.run_once()
        body = (await client.get("/healthz")).json()
        assert body["workers_alive"] == 1
        assert body["jobs"] == {"due": 0, "running": 0, "dead": 1}
        assert body["status"] == "degraded"  # a dead job needs someone's attention


async def test_openapi_is_public_and_lists_the_api(context: AppContext) -> None:
    async with api_client(context) as client:
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        assert "/healthz" in paths and "/api/v1/admin/jobs" in paths
        assert (await client.get("/schema")).status_code == 200
        # Generated clients learn which calls need credentials, and which ones.
        schemes = response.json()["components"]["securitySchemes"]
        assert schemes["token"]["type"] == "http" and schemes["token"]["scheme"] == "bearer"
        assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "ajanda_session")
        signed_in = [{"token": []}, {"session": []}]
        assert paths["/api/v1/admin/jobs"]["get"]["security"] == signed_in
        assert paths["/api/v1/admin/staff"]["post"]["security"] == signed_in
        assert "security" not in paths["/api/v1/bookings"]["post"]
        assert "security" not in paths["/api/v1/availability"]["get"]
        assert "security" not in paths["/healthz"]["get"]
        admin = [op for path, ops in paths.items() if path.startswith("/api/v1/admin") for op in ops.values()]
        assert admin and all(op["security"] == signed_in for op in admin)


async def test_admin_routes_need_the_bootstrap_token(context: AppContext) -> None:
    async with api_client(context) as client:
        missing = await client.get("/api/v1/admin/audit")
        assert missing.status_code == 401
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.get("/api/v1/admin/audit", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get("/api/v1/admin/audit", headers=admin_headers(context.settings))
        assert ok.status_code == 200 and ok.json() == []


@pytest.mark.parametrize(
    ("url", "field"),
    [("/api/v1/admin/audit?limit=abc", "limit"), ("/api/v1/admin/jobs?status=exploded", "status"),
     ("/api/v1/admin/audit?limit=0", "limit")],
)  # fmt: skip
async def test_bad_input_is_a_422_problem_naming_the_field(context: AppContext, url: str, field: str) -> None:
    async with api_client(context) as client:
        response = await client.get(url, headers=admin_headers(context.settings))
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == 422 and body["errors"][0]["field"] == field


async def test_unknown_things_are_404_problems(context: AppContext) -> None:
    async with api_client(context) as client:
        response = await client.post("/api/v1/admin/jobs/999/retry", headers=admin_headers(context.settings))
        assert response.status_code == 404 and response.json()["detail"] == "job 999 not found"
        assert (await client.get("/nowhere")).status_code in (401, 404)


async def test_request_logs_carry_no_bodies_queries_or_tokens(
    context: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with api_client(context) as client:
        await client.post(
            "/api/v1/admin/jobs/1/retry?phone=%2B905551234567",
            headers=admin_headers(context.settings),
            content=b'{"email": "ayse@example.com", "phone": "+905551234567"}',
        )
    # The server's own loggers (the test client's httpx logger is not the server).
    text = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("ajanda", "litestar", "uvicorn"))
    )
    assert "POST /api/v1/admin/jobs/1/retry 404" in text
    for secret in ("905551234567", "ayse@example.com", context.settings.security.admin_token.reveal()):  # type: ignore[union-attr]
        assert secret not in text
