"""The notify_netgsm plugin: real apprise sending netgsm:// URLs to a local HTTP server that plays Netgsm.

The fake checks what the real API checks first (path, Basic auth, JSON body) and answers the way
Netgsm's SDKs document: `{"code": "00", "jobid": ...}` with HTTP 200, error codes with HTTP 406.
Every URL names `api=http://127.0.0.1:PORT`, so nothing here can reach the internet.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import apprise
import pytest
from apprise.manager_plugins import NotificationManager

from core.config import generate_secrets, settings_from_dict
from core.plugins import discover, load_plugins

with warnings.catch_warnings():
    # Registering the scheme makes apprise load its plugins, and apprise 2.3 then imports the standard
    # library's deprecated imghdr (for PGPy); pyproject turns DeprecationWarning into errors, even at
    # collection. Importing imghdr once here, quietly, keeps every other deprecation an error.
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    import imghdr  # noqa: F401

import plugins.notify_netgsm as netgsm

USER = "8501234567"
PASSWORD = "s3cret:pa$$"
HEADER = "AJANDA"
PHONE = "905321234567"
LOCAL = "5321234567"


@dataclass
class Received:
    path: str
    authorization: str
    content_type: str
    raw: bytes
    payload: dict[str, Any]


@dataclass
class FakeNetgsm:
    """What the fake received, and what it should answer next (code, HTTP status, delay)."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    code: str = "00"
    status: int = 200
    raw_answer: bytes | None = None
    delay: float = 0.0

    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, query: str, to: str = PHONE, user: str = USER, password: str = PASSWORD) -> str:
        password_part = password.replace("%", "%25").replace(":", "%3A").replace("$", "%24")
        return f"netgsm://{user}:{password_part}@{HEADER}/{to}?{query}&api={self.api()}"


def _handler(fake: FakeNetgsm) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = Received(
                path=self.path,
                authorization=self.headers.get("Authorization", ""),
                content_type=self.headers.get("Content-Type", ""),
                raw=raw,
                payload=json.loads(raw.decode("utf-8")),
            )
            fake.received.append(received)
            if fake.delay:
                time.sleep(fake.delay)
            if self.path != "/sms/rest/v2/send":
                self._answer(404, b"not found")
            elif received.authorization != expected_auth:
                self._answer(406, b'{"code":"30","description":"Invalid username or password"}')
            elif fake.raw_answer is not None:
                self._answer(fake.status, fake.raw_answer)
            elif fake.code == "00":
                self._answer(200, b'{"code":"00","jobid":"123","description":"queued"}')
            else:
                self._answer(fake.status, json.dumps({"code": fake.code, "description": "x"}).encode())

        def _answer(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    return Handler


@pytest.fixture
def fake() -> Iterator[FakeNetgsm]:
    state = FakeNetgsm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def registered() -> None:
    # Importing the module registered the scheme; another test file resetting apprise's plugin
    # manager would drop it, and register() is the documented way back.
    netgsm.register()


def send(url: str, body: str = "Randevunuz yarın 10:00'da.", title: str = "") -> bool:
    a = apprise.Apprise()
    assert a.add(url), "apprise did not accept the netgsm:// URL"
    return bool(a.notify(body=body, title=title))


def send_logged(url: str, body: str = "Randevunuz yarın 10:00'da.") -> tuple[bool, str]:
    with apprise.LogCapture(level=logging.INFO) as captured:
        ok = send(url, body)
    return ok, captured.getvalue()


# ==================================================================================================
# What Netgsm receives


def test_transactional_sms_reaches_netgsm(fake: FakeNetgsm) -> None:
    assert send(fake.url("category=transactional"), body="Randevunuz yarin 10:00'da.")
    [request] = fake.received
    assert request.path == "/sms/rest/v2/send"
    assert base64.b64decode(request.authorization.removeprefix("Basic ")).decode() == f"{USER}:{PASSWORD}"
    assert request.content_type.startswith("application/json")
    assert request.payload == {
        "msgheader": HEADER,
        "messages": [{"msg": "Randevunuz yarin 10:00'da.", "no": LOCAL}],
        "iysfilter": "0",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=transactional", "0"),
        ("category=transactional&recipient=merchant", "0"),
        ("category=commercial", "11"),
        ("category=commercial&recipient=individual", "11"),
        ("category=commercial&recipient=merchant", "12"),
        ("category=Commercial&recipient=Merchant", "12"),
    ],
)
def test_iys_filter_follows_category_and_recipient(fake: FakeNetgsm, query: str, expected: str) -> None:
    assert send(fake.url(query))
    [request] = fake.received
    assert request.payload["iysfilter"] == expected


@pytest.mark.parametrize(
    "query",
    ["x=1", "category=", "category=marketing", "category={category}", "category=commercial&recipient=shop"],
)
def test_no_iys_decision_means_no_sms(fake: FakeNetgsm, query: str) -> None:
    ok, log = send_logged(fake.url(query))
    assert not ok
    assert fake.received == []
    assert "Netgsm SMS not sent" in log
    assert ("category" in log) or ("recipient" in log)
    assert PHONE not in log and LOCAL not in log


def test_turkish_characters_arrive_intact(fake: FakeNetgsm) -> None:
    text = "Sayın Çağrı Öztürk: İyi günler, ğüşıöçİ ĞÜŞIÖÇ"
    assert send(fake.url("category=transactional"), body=text, title="Randevu hatırlatması")
    [request] = fake.received
    assert request.payload["messages"][0]["msg"] == f"Randevu hatırlatması\n{text}"
    assert request.payload["encoding"] == "TR"
    assert text.encode("utf-8") in request.raw  # sent as UTF-8, not as \u escapes


def test_html_bodies_are_sent_as_text(fake: FakeNetgsm) -> None:
    a = apprise.Apprise()
    assert a.add(fake.url("category=transactional"))
    assert a.notify(body="<p>Merhaba <b>Ayşe</b></p>", body_format=apprise.NotifyFormat.HTML)
    [request] = fake.received
    assert request.payload["messages"][0]["msg"].strip() == "Merhaba Ayşe"


@pytest.mark.parametrize("to", [PHONE, f"+{PHONE}", f"%2B{PHONE}", f"{PHONE}/"])
def test_turkish_numbers_are_sent_in_ten_digits(fake: FakeNetgsm, to: str) -> None:
    assert send(fake.url("category=transactional", to=to))
    [request] = fake.received
    assert request.payload["messages"][0]["no"] == LOCAL


@pytest.mark.parametrize("to", ["491701234567", "5321234567", "05321234567", "90532123456", "{to}", "abc"])
def test_other_numbers_are_refused_without_naming_them(fake: FakeNetgsm, to: str) -> None:
    ok, log = send_logged(fake.url("category=transactional", to=to))
    assert not ok
    assert fake.received == []
    assert "Netgsm SMS not sent" in log
    assert to not in log.replace("{to} filled", "")


def test_two_recipients_in_one_url_are_refused(fake: FakeNetgsm) -> None:
    ok, log = send_logged(fake.url("category=transactional", to=f"{PHONE}/905321234568"))
    assert not ok
    assert fake.received == []
    assert "exactly one recipient" in log


def test_partnercode_is_passed_on(fake: FakeNetgsm) -> None:
    assert send(fake.url("category=transactional&partnercode=4711"))
    [request] = fake.received
    assert request.payload["partnercode"] == "4711"


# ==================================================================================================
# Netgsm's answers


def test_wrong_password_gives_code_30_without_personal_data_in_the_log(fake: FakeNetgsm) -> None:
    body = "Gizli randevu metni"
    ok, log = send_logged(fake.url("category=transactional", password="wrong"), body=body)
    assert not ok
    assert len(fake.received) == 1  # it did ask Netgsm
    assert "Netgsm refused the SMS: code 30 (invalid credentials or no API access" in log
    for secret in (PHONE, LOCAL, body, "wrong", PASSWORD):
        assert secret not in log


@pytest.mark.parametrize(
    ("code", "words"), [("40", "message header"), ("51", "IYS brand"), ("85", "duplicate")]
)
def test_error_codes_are_failures_and_named(fake: FakeNetgsm, code: str, words: str) -> None:
    fake.code, fake.status = code, 406
    ok, log = send_logged(fake.url("category=commercial"))
    assert not ok
    assert f"code {code} (" in log
    assert words in log


def test_success_code_is_logged_with_the_job(fake: FakeNetgsm) -> None:
    ok, log = send_logged(fake.url("category=transactional"))
    assert ok
    assert "Netgsm accepted the SMS: job 123" in log


def test_an_answer_without_a_code_is_a_failure(fake: FakeNetgsm) -> None:
    fake.status, fake.raw_answer = 502, b"<html>Bad Gateway</html>"
    ok, log = send_logged(fake.url("category=transactional"))
    assert not ok
    assert "HTTP 502 without a result code" in log


def test_code_00_with_an_http_error_is_not_a_success(fake: FakeNetgsm) -> None:
    fake.status, fake.raw_answer = 500, b'{"code":"00"}'
    assert not send(fake.url("category=transactional"))


def test_a_slow_netgsm_times_out(fake: FakeNetgsm) -> None:
    fake.delay = 1.0
    started = time.monotonic()
    ok, log = send_logged(fake.url("category=transactional&timeout=0.2"))
    assert not ok
    assert time.monotonic() - started < 0.9
    assert "no answer within 0.2 seconds" in log


# ==================================================================================================
# URL checks that stop a send before any traffic


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("netgsm://user:pass@HDR/905321234567?category=transactional&api=http://192.0.2.1", "plain http"),
        ("netgsm://user:pass@HDR/905321234567?category=transactional&api=ftp://127.0.0.1", "http(s) URL"),
        ("netgsm://HDR/905321234567?category=transactional&api=http://127.0.0.1:9", "usercode:password"),
        ("netgsm://u:p@HDR/905321234567?category=transactional&timeout=0&api=http://127.0.0.1:9", "timeout"),
        ("netgsm://u:p@HDR/905321234567?category=transactional&timeout=x&api=http://127.0.0.1:9", "timeout"),
    ],
)
def test_bad_urls_are_refused(url: str, words: str) -> None:
    ok, log = send_logged(url)
    assert not ok
    assert "Netgsm SMS not sent" in log
    assert words in log


def test_percent_encoded_credentials_and_header_are_decoded(fake: FakeNetgsm) -> None:
    # The fake expects USER and PASSWORD exactly; FakeNetgsm.url percent-encodes the password's ':' and
    # '$', and here the user's first digit is written as %38.
    url = fake.url("category=transactional", user="%38" + USER[1:])
    url = url.replace(f"@{HEADER}/", "@AJANDA%20KUAF%C3%96R/")
    assert send(url)
    [request] = fake.received
    assert request.payload["msgheader"] == "AJANDA KUAFÖR"


# ==================================================================================================
# Registration and loading


def test_registration_is_idempotent(fake: FakeNetgsm) -> None:
    with apprise.LogCapture(level=logging.WARNING) as captured:
        assert netgsm.register() is False
        importlib.reload(netgsm)
    assert captured.getvalue() == ""  # no "schema already defined" complaint
    assert netgsm.SCHEME in NotificationManager()
    assert send(fake.url("category=transactional"))


def test_the_loader_enables_the_plugin(tmp_path: Path) -> None:
    found = discover()
    assert found["notify_netgsm"].origin == "built-in"
    assert found["notify_netgsm"].description.startswith("Netgsm SMS")
    raw = {
        "security": generate_secrets(),
        "database": {"url": f"sqlite:///{tmp_path / 'unused.sqlite3'}"},
        "plugins": {"enabled": ["notify_netgsm"]},
    }
    plugin_set = load_plugins(settings_from_dict(raw, tmp_path, None, env={}))
    assert plugin_set.names == ["notify_netgsm"]
    assert plugin_set.loaded[0].meta is netgsm.PLUGIN
