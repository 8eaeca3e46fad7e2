"""Netgsm SMS (Turkey) as the apprise scheme netgsm://, with the IYS filter chosen per message category.

The scheme is registered when the plugin starts (apprise and requests are imported then, not when the
module is, so importing the plugin costs nothing); Ajanda's `notify_apprise` channels then reach
Netgsm through URLs such as
`netgsm://USERCODE:PASSWORD@MSGHEADER/{to}?category={category}`. See docs/netgsm.md.

Netgsm facts used here come from Netgsm's own SDKs (github.com/netgsm/netgsm-sms-python and
github.com/netgsm/netgsm-sms-js, whose openapi.json describes `POST /sms/rest/v2/send`): HTTP Basic
auth with the usercode and password, a JSON body, `{"code": "00", "jobid": ...}` on success and an
error code (usually with HTTP 406) otherwise.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from core import PluginMeta, hookimpl

if TYPE_CHECKING:
    import requests

PLUGIN = PluginMeta(
    name="notify_netgsm",
    version="1.0",
    description="Netgsm SMS (Turkey) as the apprise scheme netgsm://, for notify_apprise channels.",
)

SCHEME = "netgsm"
DEFAULT_API = "https://api.netgsm.com.tr"
SEND_PATH = "/sms/rest/v2/send"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 120.0

# IYS (İleti Yönetim Sistemi) filter per (category, recipient kind). Commercial messages are checked
# by Netgsm against the recipient's IYS consent; transactional ones are not.
IYS_FILTERS: dict[tuple[str, str], str] = {
    ("transactional", "individual"): "0",
    ("transactional", "merchant"): "0",
    ("commercial", "individual"): "11",
    ("commercial", "merchant"): "12",
}
CATEGORIES = ("transactional", "commercial")
RECIPIENT_KINDS = ("individual", "merchant")

# Result codes of /sms/rest/v2/send, worded after Netgsm's SDKs. Transient ones are logged as warnings
# (a later attempt may succeed), the rest as errors (someone has to fix the account or the URL).
RESULT_CODES: dict[str, str] = {
    "20": "message text problem or longer than the maximum length",
    "30": "invalid credentials or no API access; check the API user's permissions and IP restriction",
    "40": "message header (sender name) not defined on the account",
    "50": "the account may not send IYS-controlled (commercial) messages",
    "51": "no IYS brand information on the account",
    "70": "invalid or missing parameter",
    "80": "sending limit exceeded",
    "85": "duplicate limit exceeded: more than 20 jobs for one number within a minute",
    "100": "Netgsm system error",
    "101": "Netgsm system error",
}
TRANSIENT_CODES = frozenset({"80", "85", "100", "101"})

# apprise's logger, so that notify_apprise's log capture and apprise's own settings see these lines.
logger = logging.getLogger("apprise")


class Refused(Exception):
    """A send that must not reach Netgsm; the text names the problem and never the recipient or message."""


@dataclass(frozen=True)
class SendRequest:
    url: str
    headers: dict[str, str]
    payload: dict[str, Any]
    timeout: float
    verify: bool


def iys_filter(qsd: Mapping[str, str]) -> str:
    """The IYS filter for the URL's `category` and `recipient`; refuses rather than guess (fail closed).

    A commercial message sent as transactional skips the consent check, which the law forbids, so a
    missing or unknown category stops the send instead of falling back to a default.
    """
    category = qsd.get("category", "").strip().lower()
    if not category:
        raise Refused("the URL has no category (add ?category={category}); no IYS filter can be chosen")
    if category not in CATEGORIES:
        raise Refused(f"category {category[:40]!r} is neither 'transactional' nor 'commercial'")
    recipient = qsd.get("recipient", "individual").strip().lower()
    if recipient not in RECIPIENT_KINDS:
        raise Refused(f"recipient {recipient[:40]!r} is neither 'individual' nor 'merchant'")
    return IYS_FILTERS[(category, recipient)]


def netgsm_number(fullpath: str) -> str:
    """Netgsm's 10-digit form of the one recipient in the URL path (E.164 digits, `+` optional).

    Netgsm's REST v2 schema documents only 10-digit Turkish numbers (`5XXXXXXXXX`) and no international
    format, so numbers outside +90 are refused instead of being sent in a guessed form.
    """
    segments = [s for s in fullpath.split("/") if s]
    if len(segments) != 1:
        raise Refused("the URL path must hold exactly one recipient number (e.g. /{to})")
    raw = unquote(segments[0]).strip()
    digits = raw.removeprefix("+")
    if not re.fullmatch(r"[0-9]+", digits):
        raise Refused("the recipient in the URL path is not a phone number (is {to} filled in?)")
    if len(digits) == 12 and digits.startswith("90"):
        return digits[2:]
    raise Refused("the recipient is not a Turkish number (90 and 10 digits); Netgsm's API takes no other")


def api_base(qsd: Mapping[str, str]) -> str:
    """The API base URL; plain http is allowed only to loopback, where tests and local proxies live.

    Basic auth over plain http would send the account password in clear across the network.
    """
    base = qsd.get("api", "").strip() or DEFAULT_API
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("api must be an http(s) URL such as https://api.netgsm.com.tr")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise Refused("api over plain http is allowed only to a loopback address; use https")
    return base.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def request_timeout(qsd: Mapping[str, str]) -> float:
    """Seconds to wait for Netgsm; bounded so one stuck request cannot hold a worker for long."""
    raw = qsd.get("timeout", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise Refused(f"timeout {raw[:20]!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise Refused(f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return value


def sms_text(body: str, title: str) -> str:
    """One SMS text: SMS has no title field, so a title becomes the first line."""
    text = f"{title}\n{body}" if title else body
    if not text.strip():
        raise Refused("the message is empty")
    return text


def build_request(body: str, title: str, meta: Mapping[str, Any]) -> SendRequest:
    """Everything Netgsm needs for one SMS, or Refused before any network traffic."""
    qsd: Mapping[str, str] = meta.get("qsd") or {}
    filter_code = iys_filter(qsd)
    number = netgsm_number(meta.get("fullpath") or "")
    # apprise leaves user, password and host percent-encoded.
    usercode = unquote(meta.get("user") or "")
    password = unquote(meta.get("password") or "")
    msgheader = unquote(meta.get("host") or "").strip()
    if not usercode or not password:
        raise Refused("the URL has no usercode:password")
    if not msgheader:
        raise Refused("the URL has no message header (netgsm://USERCODE:PASSWORD@MSGHEADER/...)")
    text = sms_text(body, title)
    payload: dict[str, Any] = {
        "msgheader": msgheader,
        "messages": [{"msg": text, "no": number}],
        "iysfilter": filter_code,
    }
    # Without "TR", Netgsm does not keep Turkish letters; with it, each SMS part holds fewer characters
    # and costs the same, so it is set only when the text needs it.
    if not text.isascii():
        payload["encoding"] = "TR"
    partnercode = qsd.get("partnercode", "").strip()
    if partnercode:
        payload["partnercode"] = partnercode
    # Built by hand: requests encodes Basic credentials as Latin-1 and fails on other characters.
    token = base64.b64encode(f"{usercode}:{password}".encode()).decode("ascii")
    return SendRequest(
        url=api_base(qsd) + SEND_PATH,
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
        },
        payload=payload,
        timeout=request_timeout(qsd),
        verify=bool(meta.get("verify", True)),
    )


def _result_code(response: requests.Response) -> tuple[str, str]:
    """(code, jobid) from Netgsm's JSON answer; empty strings when the answer is not that JSON."""
    try:
        data = response.json()
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("code") or "").strip(), str(data.get("jobid") or "").strip()


def send_sms(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
) -> bool:
    """apprise's send function for netgsm:// URLs: True only when Netgsm accepted the SMS (code 00).

    Log lines name the problem and Netgsm's code but never the number, the text or the password:
    apprise's log often ends up in files and monitoring that should not hold personal data.
    """
    try:
        request = build_request(body, title, meta)
    except Refused as refusal:
        logger.error("Netgsm SMS not sent: %s", refusal)
        return False
    import requests

    try:
        response = requests.post(
            request.url,
            data=json.dumps(request.payload, ensure_ascii=False).encode("utf-8"),
            headers=request.headers,
            timeout=request.timeout,
            verify=request.verify,
        )
    except requests.Timeout:
        logger.warning("Netgsm SMS not sent: no answer within %g seconds", request.timeout)
        return False
    except requests.RequestException as err:
        logger.warning(
            "Netgsm SMS not sent: %s reaching %s", type(err).__name__, urlsplit(request.url).netloc
        )
        return False
    code, jobid = _result_code(response)
    if code == "00" and response.ok:
        logger.info("Netgsm accepted the SMS: job %s", jobid or "(no jobid)")
        return True
    if not code:
        logger.warning("Netgsm refused the SMS: HTTP %s without a result code", response.status_code)
        return False
    meaning = RESULT_CODES.get(code, "undocumented code")
    level = logging.WARNING if code in TRANSIENT_CODES else logging.ERROR
    logger.log(level, "Netgsm refused the SMS: code %s (%s), HTTP %s", code, meaning, response.status_code)
    return False


def register() -> bool:
    """Adds netgsm:// to apprise unless it is there already; True when this call added it.

    Idempotent because the module may be imported again (reloads, tests, a second app in one process)
    and apprise would otherwise log a conflict; callers may also use it after apprise's plugin manager
    was reset (`unload_modules()`), which drops custom schemes.
    """
    from apprise import NotifyFormat
    from apprise.decorators import notify
    from apprise.manager_plugins import NotificationManager

    if SCHEME in NotificationManager():
        return False
    notify(on=SCHEME, name="Netgsm", body_format=NotifyFormat.TEXT)(send_sms)
    return SCHEME in NotificationManager()


@hookimpl
def startup() -> None:
    """Register the scheme when the app or worker starts (before any channel sends)."""
    register()
