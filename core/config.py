"""Configuration: one TOML file, validated by msgspec Structs that refuse unknown keys.

Validation collects every problem with its key path rather than stopping at the first, because an admin
editing `config.toml` on a VPS should fix the file in one pass. Any value may be written as
`{ "$env" = "VAR" }` or `{ "$file" = "path" }`; fields typed `Secret` are redacted whenever the settings
are printed.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta, Struct, field

from core.errors import ConfigError
from core.privacy.crypto import decode_data_key, key_id

CONFIG_ENV = "AJANDA_CONFIG"
DEFAULT_CONFIG_NAME = "config.toml"
EMBEDDED_DATA_DIR = "var"


class Secret:
    """A string that never shows itself in repr, logs or config dumps."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def _dec_hook(typ: type, obj: Any) -> Any:
    if typ is Secret:
        if isinstance(obj, Secret):
            return obj
        if isinstance(obj, str):
            return Secret(obj)
        raise TypeError(f"Expected `str`, got `{type(obj).__name__}`")
    raise NotImplementedError


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return "***"
    raise NotImplementedError


class _Section(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for config sections: unknown keys are errors, never silently ignored."""


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    # Base URL used in links sent to customers (self-service, payment). Empty: http://host:port.
    public_url: str = ""
    # Addresses of reverse proxies whose X-Forwarded-For header is trusted.
    trusted_proxies: list[str] = []
    # Requests per minute per client address on public endpoints (booking page, API); 0 turns it off.
    rate_limit_per_minute: Annotated[int, Meta(ge=0)] = 120
    # Folder for server state kept outside the database (rate-limit counters), relative to the config.
    state_dir: str = "var"

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class DatabaseConfig(_Section):
    # sqlite:///relative/or/absolute/path.sqlite3 or postgresql://user:password@host:5432/dbname
    url: Secret = field(default_factory=lambda: Secret(f"sqlite:///{EMBEDDED_DATA_DIR}/ajanda.sqlite3"))
    # Seconds a writer waits for the SQLite write lock before giving up.
    busy_timeout: Annotated[float, Meta(gt=0)] = 10.0
    # PostgreSQL connection pool size per process.
    pool_size: Annotated[int, Meta(ge=1, le=200)] = 10
    # SQLite: persistent read connections per process (WAL lets them read while one writes).
    read_connections: Annotated[int, Meta(ge=1, le=32)] = 4

    @property
    def engine(self) -> Literal["sqlite", "postgres"]:
        return "sqlite" if self.url.reveal().startswith("sqlite:") else "postgres"

    def __post_init__(self) -> None:
        url = self.url.reveal()
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("url: expected sqlite:///path or postgresql://user:password@host/db")


def _is_data_key(key: Secret) -> bool:
    try:
        decode_data_key(key.reveal())
    except ValueError:
        return False
    return True


class SecurityConfig(_Section):
    # Signs self-service links and sessions. At least 32 characters.
    secret_key: Secret
    # Encrypts personal data at rest: 32 bytes, URL-safe base64 (`ajanda init` generates it).
    data_key: Secret
    # Bearer token with owner rights until the first owner account exists.
    admin_token: Secret | None = None
    # Keys replaced by a rotation, kept only so values they sealed still open until `ajanda keys rotate`
    # has rewritten everything under `data_key` (then remove them; see docs/privacy.md).
    previous_data_keys: list[Secret] = []

    def __post_init__(self) -> None:
        if len(self.secret_key.reveal()) < 32:
            raise ValueError("secret_key: must be at least 32 characters")
        if not _is_data_key(self.data_key):
            raise ValueError("data_key: must be 32 bytes in URL-safe base64")
        # Tokens name their key by a 32-bit fingerprint: two different keys must not share one.
        ids = {key_id(self.data_key.reveal()): self.data_key}
        for number, key in enumerate(self.previous_data_keys, start=1):
            if not _is_data_key(key):
                raise ValueError(f"previous_data_keys: entry {number} must be 32 bytes in URL-safe base64")
            if key == self.data_key:
                raise ValueError(
                    f"previous_data_keys: entry {number} is the current data_key "
                    "(put the new key in data_key)"
                )
            if ids.setdefault(key_id(key.reveal()), key) != key:
                raise ValueError(f"previous_data_keys: entry {number} has the same key id as another key")
        if self.admin_token is not None and len(self.admin_token.reveal()) < 24:
            raise ValueError("admin_token: must be at least 24 characters")


class PluginsConfig(_Section):
    # Names of the plugins to load; everything else is never imported.
    enabled: list[str] = []


class WorkerConfig(_Section):
    # Run the background worker inside `ajanda serve` (turn off when `ajanda worker` runs separately).
    run_in_server: bool = True
    # Seconds between polls for due jobs when the queue is empty.
    poll_interval: Annotated[float, Meta(gt=0)] = 1.0
    # Jobs claimed per poll.
    batch_size: Annotated[int, Meta(ge=1, le=1000)] = 50
    # Attempts before a job is marked dead.
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 8
    # Retry delay after the first failure, doubled after each further one, capped by backoff_max.
    backoff_base: Annotated[float, Meta(ge=0)] = 30.0
    backoff_max: Annotated[float, Meta(ge=0)] = 21600.0
    # Seconds a claimed job stays invisible to other workers; a crashed worker's jobs come back after it.
    lease: Annotated[float, Meta(gt=0)] = 300.0
    # Days a finished (done) job is kept before the worker deletes it; dead jobs wait for a person.
    keep_done_days: Annotated[int, Meta(ge=1, le=3650)] = 30


class BookingsConfig(_Section):
    # Customers may cancel or reschedule through their link until this many hours before the start.
    cancel_cutoff_hours: Annotated[int, Meta(ge=0)] = 24
    # What happens to a paid deposit when the customer cancels after the cut-off: kept or refunded.
    late_cancel_deposit: Literal["keep", "refund"] = "keep"
    # Minutes a pending booking holds its slot while waiting for a deposit.
    deposit_hold_minutes: Annotated[int, Meta(ge=1)] = 30
    # Self-service links stay valid until this many days after the visit.
    link_valid_days_after: Annotated[int, Meta(ge=0)] = 7
    # Minutes a waitlist offer holds a freed slot for the customer before it goes to the next one.
    waitlist_offer_minutes: Annotated[int, Meta(ge=5)] = 60
    # Widest date range one availability query may ask for.
    max_query_days: Annotated[int, Meta(ge=1, le=366)] = 62


Clock = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
MessageKindName = Literal[
    "confirmation", "reminder", "rescheduled", "cancelled", "waitlist_offer", "thanks", "recall",
    "winback", "staff_notice", "deposit_request",
]  # fmt: skip
Medium = Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,19}$")]


class MessagesConfig(_Section):
    # Reminders go out this many hours before the start; a service may set its own (reminder_hours).
    reminder_hours: Annotated[list[Annotated[int, Meta(ge=1, le=720)]], Meta(max_length=5)] = field(
        default_factory=lambda: [48, 6]
    )
    # The thank-you with the feedback link goes out this many minutes after a visit is completed.
    thanks_delay_minutes: Annotated[int, Meta(ge=0, le=7 * 24 * 60)] = 120
    # Win-back: customers not seen for this many days (and with nothing booked) are invited back.
    winback_days: Annotated[int, Meta(ge=7, le=3650)] = 90
    # Kinds that are never sent (e.g. ["winback"] while the business is not ready for it).
    disabled_kinds: list[MessageKindName] = []
    # Channel order after the customer's preferred one: the first that can reach them and works wins.
    fallback: list[Medium] = field(default_factory=lambda: ["whatsapp", "sms", "email"])
    # Quiet hours, in the location's local time: messages on these media wait until they end.
    quiet_start: Clock = "21:00"
    quiet_end: Clock = "09:00"
    quiet_media: list[Medium] = field(default_factory=lambda: ["sms", "whatsapp"])
    # At most this many capped messages (commercial ones and the thank-you) per customer per window.
    cap_messages: Annotated[int, Meta(ge=1, le=100)] = 2
    cap_days: Annotated[int, Meta(ge=1, le=365)] = 7
    # Minutes a message may be late before /healthz counts it as overdue.
    overdue_minutes: Annotated[int, Meta(ge=1)] = 10
    # Minutes between scans for due recall and win-back messages.
    campaign_every_minutes: Annotated[int, Meta(ge=1)] = 60
    # A directory of template files that win over the theme's (same layout: messages/<kind>/...).
    templates_dir: str = ""


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Log one line per HTTP request (method, path, status; never bodies or personal data).
    access_log: bool = True


class BusinessConfig(_Section):
    name: str = "Ajanda"
    # Language for customers and staff who have not chosen one.
    default_language: Literal["tr", "en"] = "tr"
    # Region for phone numbers written without a country code (ISO 3166 alpha-2).
    default_region: Annotated[str, Meta(pattern="^[A-Z]{2}$")] = "TR"
    # IANA time zone used where a location does not give its own.
    timezone: str = "Europe/Istanbul"
    # ISO 4217 currency code for prices.
    currency: Annotated[str, Meta(pattern="^[A-Z]{3}$")] = "TRY"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from None


class AccessConfig(_Section):
    # Hours a staff login session lasts without activity; it is then signed out.
    session_idle_hours: Annotated[float, Meta(gt=0, le=24 * 30)] = 12.0
    # Days after which a session ends even when in use.
    session_max_days: Annotated[float, Meta(gt=0, le=90)] = 14.0
    # Wrong passwords or codes in a row before the account is locked for `lockout_minutes`.
    max_failed_logins: Annotated[int, Meta(ge=1, le=100)] = 5
    lockout_minutes: Annotated[float, Meta(gt=0, le=24 * 60)] = 15.0
    # Login attempts per minute per client address; 0 turns the limit off.
    login_rate_per_minute: Annotated[int, Meta(ge=0)] = 10
    # Send cookies only over HTTPS. Turn on when the server is reached through HTTPS (it should be).
    secure_cookies: bool = False


class WebConfig(_Section):
    # The pages' theme: a folder under themes/ ("default", "contrast") or the path of your own theme
    # folder (templates/ and static/ inside; anything it lacks comes from the plugins, then the core).
    theme: str = "default"
    # Public booking: how many days ahead the date picker offers (the service's own limit still applies).
    booking_days_shown: Annotated[int, Meta(ge=1, le=366)] = 14


class Settings(_Section):
    security: SecurityConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    plugins: PluginsConfig = field(default_factory=PluginsConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    bookings: BookingsConfig = field(default_factory=BookingsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    business: BusinessConfig = field(default_factory=BusinessConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    messages: MessagesConfig = field(default_factory=MessagesConfig)
    web: WebConfig = field(default_factory=WebConfig)
    # One table per plugin, validated against that plugin's own config Struct when it is enabled.
    plugin: dict[str, dict[str, Any]] = {}
    # Where the file came from (None: embedded defaults); relative paths are resolved against base_dir.
    source: str | None = None
    base_dir: str = "."

    def sqlite_path(self) -> Path:
        path = Path(self.database.url.reveal().removeprefix("sqlite:///"))
        return path if path.is_absolute() else Path(self.base_dir) / path


# --------------------------------------------------------------------------------------------------
# Validation that reports every problem


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _format_msgspec_error(err: msgspec.ValidationError, path: str) -> str:
    text = str(err)
    message, _, where = text.partition(" - at `")
    where = where.rstrip("`")
    full = path + where[1:] if where.startswith("$") else path
    if full.startswith("."):
        full = full[1:]
    message = message.replace("`", "")
    # __post_init__ checks name their field as "field: message"; fold it into the key path.
    named = re.match(r"^([a-z_][a-z0-9_]*): (.*)$", message, re.S)
    if named:
        full = _join(full, named.group(1))
        message = named.group(2)
    message = message[:1].lower() + message[1:]
    return f"{full or '(top level)'}: {message}"


def convert(value: Any, typ: Any, path: str = "") -> Any:
    """Convert one raw value to `typ`, raising ConfigError with the key path on failure."""
    try:
        return msgspec.convert(value, typ, dec_hook=_dec_hook)
    except msgspec.ValidationError as err:
        raise ConfigError([_format_msgspec_error(err, path)]) from None


def problems(value: Any, typ: Any, path: str = "") -> list[str]:
    """Every problem in `value` against `typ`, each prefixed with its key path."""
    if isinstance(typ, type) and issubclass(typ, Struct) and isinstance(value, dict):
        found: list[str] = []
        fields = {f.encode_name: f for f in msgspec.structs.fields(typ)}
        for key in value:
            if key not in fields:
                found.append(f"{_join(path, key)}: unknown key")
        for name, f in fields.items():
            if f.required and name not in value:
                found.append(f"{_join(path, name)}: required key is missing")
        for key, item in value.items():
            if key in fields:
                found.extend(problems(item, fields[key].type, _join(path, key)))
        if found and not any(f.required and n not in value for n, f in fields.items()):
            # Whole-section checks (__post_init__) still run on the keys that passed on their own.
            passed = {
                k: v for k, v in value.items()
                if k in fields and not any(p.startswith(_join(path, k)) for p in found)
            }  # fmt: skip
            try:
                msgspec.convert(passed, typ, dec_hook=_dec_hook)
            except msgspec.ValidationError as err:
                extra = _format_msgspec_error(err, path)
                repeated = any(extra.split(": ", 1)[0] == p.split(": ", 1)[0] for p in found)
                if not repeated and "missing required field" not in extra:
                    found.append(extra)
        if found:
            return found
    try:
        msgspec.convert(value, typ, dec_hook=_dec_hook)
    except msgspec.ValidationError as err:
        return [_format_msgspec_error(err, path)]
    return []


# --------------------------------------------------------------------------------------------------
# Secret indirection: { "$env" = "VAR" } and { "$file" = "path" }


def resolve_indirection(value: Any, base_dir: Path, env: dict[str, str], path: str, found: list[str]) -> Any:
    """Replace `$env`/`$file` tables anywhere in the tree; record a problem per unresolvable one."""
    if isinstance(value, dict):
        keys = set(value)
        if keys in ({"$env"}, {"$file"}):
            kind, ref = next(iter(value.items()))
            if not isinstance(ref, str):
                found.append(f"{path}: {kind} must name a string")
                return None
            if kind == "$env":
                if ref not in env:
                    found.append(f"{path}: environment variable {ref} is not set")
                    return None
                return env[ref]
            file_path = Path(ref) if Path(ref).is_absolute() else base_dir / ref
            try:
                return file_path.read_text(encoding="utf-8").strip()
            except OSError as err:
                found.append(f"{path}: cannot read secret file {file_path}: {err.strerror}")
                return None
        if keys & {"$env", "$file"}:
            found.append(f"{path}: a secret reference has exactly one key, $env or $file")
            return None
        return {k: resolve_indirection(v, base_dir, env, _join(path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_indirection(v, base_dir, env, _join(path, i), found) for i, v in enumerate(value)]
    return value


# --------------------------------------------------------------------------------------------------
# Loading


def generate_secrets() -> dict[str, str]:
    """Fresh values for the three secrets `ajanda init` writes."""
    return {
        "secret_key": secrets.token_urlsafe(48),
        "data_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "admin_token": secrets.token_urlsafe(32),
    }


def find_config(explicit: str | Path | None, env: dict[str, str] | None = None) -> Path | None:
    """The config file to use: --config, then $AJANDA_CONFIG, then ./config.toml, else None."""
    env = dict(os.environ) if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(["config file does not exist"], source=str(path)) from None
    except OSError as err:
        raise ConfigError([f"cannot read: {err.strerror}"], source=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"TOML syntax error: {err}"], source=str(path)) from None


def settings_from_dict(
    raw: dict[str, Any], base_dir: Path, source: str | None, env: dict[str, str] | None = None
) -> Settings:
    env = dict(os.environ) if env is None else env
    found: list[str] = []
    resolved = resolve_indirection(raw, base_dir, env, "", found)
    unresolved = [p.split(": ", 1)[0] for p in found]
    for problem in problems(resolved, Settings):
        # A value whose $env/$file failed is None here; its type error would only repeat the first.
        if not any(problem.startswith(path) for path in unresolved):
            found.append(problem)
    if found:
        raise ConfigError(found, source=source)
    resolved = dict(resolved)
    resolved["source"] = source
    resolved["base_dir"] = str(base_dir)
    result: Settings = convert(resolved, Settings)
    return result


def embedded_defaults(data_dir: Path, env: dict[str, str] | None = None) -> Settings:
    """Settings for `ajanda serve` with no config file: SQLite and secrets kept under `data_dir`.

    The generated secrets are written once to `data_dir/secrets.toml` so encrypted data and signed
    links stay valid across restarts.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets_file = data_dir / "secrets.toml"
    if secrets_file.exists():
        values = read_toml(secrets_file)
    else:
        values = generate_secrets()
        body = "".join(f'{k} = "{v}"\n' for k, v in values.items())
        fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# Generated by Ajanda for the embedded defaults. Keep this file private.\n")
            fh.write(body)
    raw = {
        "security": values,
        "database": {"url": f"sqlite:///{(data_dir / 'ajanda.sqlite3').resolve()}"},
    }
    return settings_from_dict(raw, data_dir.resolve().parent, None, env)


def load_settings(
    explicit: str | Path | None = None,
    env: dict[str, str] | None = None,
    allow_embedded: bool = False,
) -> Settings:
    """Load and validate the config file; with `allow_embedded`, fall back to embedded defaults."""
    path = find_config(explicit, env)
    if path is None:
        if allow_embedded:
            return embedded_defaults(Path(EMBEDDED_DATA_DIR), env)
        raise ConfigError([f"no config file: pass --config, set {CONFIG_ENV}, or run `ajanda init`"])
    raw = read_toml(path)
    return settings_from_dict(raw, path.resolve().parent, str(path), env)


def dump_redacted(settings: Settings, plugin_configs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by `***` (database passwords too).

    Plugin sections are shown through their validated Structs (so `Secret` fields are redacted);
    a section no loaded plugin owns is shown with every value masked, since nothing says which of
    its values are secret.
    """
    data: dict[str, Any] = msgspec.to_builtins(settings, enc_hook=_enc_hook)
    configs = plugin_configs or {}
    data["plugin"] = {
        name: (
            msgspec.to_builtins(configs[name], enc_hook=_enc_hook)
            if configs.get(name) is not None
            else {key: "***" for key in section}
        )
        for name, section in settings.plugin.items()
    }
    url = settings.database.url.reveal()
    if settings.database.engine == "sqlite":
        data["database"]["url"] = url
    else:
        data["database"]["url"] = _redact_dsn(url)
    return data


def _redact_dsn(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
