"""Errors the core raises and plugins may raise.

Every error carries enough context to print one clear line (CLI) or a problem+json body (HTTP) that
names what is wrong: a config key path, a plugin name, a request field.
"""

from __future__ import annotations


class AjandaError(Exception):
    """Base class: anything the core reports to a person as a clean message."""


class ConfigError(AjandaError):
    """The configuration is invalid; `problems` holds one `key.path: message` line per problem."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}: " + "; ".join(problems))


class PluginError(AjandaError):
    """A plugin cannot be loaded or registered; the message always names the plugin."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class FieldError(AjandaError):
    """Input rejected because of one field (HTTP 422 naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotFound(AjandaError):
    """The entity asked for does not exist (HTTP 404)."""

    def __init__(self, entity: str, entity_id: object) -> None:
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id} not found")


class Conflict(AjandaError):
    """The change collides with the current state (HTTP 409); `extra` may carry alternatives."""

    def __init__(self, message: str, extra: dict[str, object] | None = None) -> None:
        self.extra = extra or {}
        super().__init__(message)


class Vetoed(AjandaError):
    """A validation hook refused the operation; `reason` is shown to the person who asked."""

    def __init__(self, reason: str, plugin: str | None = None, field: str | None = None) -> None:
        self.reason = reason
        self.plugin = plugin
        self.field = field
        super().__init__(reason)
