"""Notification channels through apprise URLs: e-mail, SMS, WhatsApp, Telegram, webhooks...

Each configured channel is one apprise URL with the message kinds and recipients it serves. A URL may
name its recipient with placeholders the core fills per message: `{to}` (the customer's e-mail address,
or their phone number in E.164 digits without `+`) and `{category}` (`transactional` or `commercial`,
for providers that must filter commercial messages, e.g. Netgsm's IYS filter). A URL without `{to}`
has a fixed target (a staff group chat, the business's own inbox, a webhook).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal
from urllib.parse import quote

import msgspec

from core import PluginMeta, hookimpl
from core.config import Secret
from core.context import AppContext
from core.errors import PluginError
from core.notifications.channels import EMAIL, PHONE_MEDIA, Channel, ChannelError, Outgoing
from core.notifications.kinds import KINDS, Recipient

Medium = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_]{0,19}$")]
ChannelName = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_.-]{1,60}$")]


class ChannelConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Shown in the message log; unique.
    name: ChannelName
    # email | sms | whatsapp | telegram | webhook | ... (the customer's preferred channel names a medium)
    medium: Medium
    # The apprise URL, usually a secret: { "$env" = "AJANDA_SMTP_URL" }.
    url: Secret
    # Message kinds carried ("*": all).
    kinds: list[str] = msgspec.field(default_factory=lambda: ["*"])
    # Who it reaches: customer, staff or both.
    recipients: list[Literal["customer", "staff"]] = msgspec.field(default_factory=lambda: ["customer"])

    def __post_init__(self) -> None:
        for i, kind in enumerate(self.kinds):
            if kind != "*" and kind not in KINDS:
                raise ValueError(f"kinds[{i}]: unknown message kind {kind!r}; one of {', '.join(KINDS)}")


class NotifyAppriseConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    channels: list[ChannelConfig] = []
    # Seconds one send may take before it counts as failed (and is retried).
    timeout: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0


PLUGIN = PluginMeta(
    name="notify_apprise",
    version="1.0",
    description="Sends messages through apprise URLs (e-mail, SMS, WhatsApp, Telegram, webhooks...).",
    config=NotifyAppriseConfig,
)


def fill(url: str, message: Outgoing) -> str:
    to = message.to or ""
    if message.medium in PHONE_MEDIA:
        to = to.lstrip("+")
    return url.replace("{to}", quote(to, safe="")).replace("{category}", message.category)


class AppriseChannel:
    """One apprise URL as an Ajanda channel."""

    def __init__(self, config: ChannelConfig, timeout: float) -> None:
        self.name = config.name
        self.medium = config.medium
        self._url = config.url
        self._kinds = frozenset(config.kinds)
        self._recipients = frozenset(config.recipients)
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"AppriseChannel({self.name!r}, {self.medium!r})"  # never the URL: it holds credentials

    def serves(self, kind: str, recipient: Recipient) -> bool:
        return recipient in self._recipients and ("*" in self._kinds or kind in self._kinds)

    def needs_address(self) -> bool:
        return "{to}" in self._url.reveal()

    async def send(self, message: Outgoing) -> str | None:
        import apprise
        from apprise.attachment.memory import AttachMemory

        sender = apprise.Apprise()
        if not sender.add(fill(self._url.reveal(), message)):
            raise ChannelError(f"apprise does not accept the URL of channel {self.name!r}")
        attach = None
        if message.attachments:
            attach = apprise.AppriseAttachment()
            for a in message.attachments:
                attach.add(AttachMemory(content=a.data, name=a.filename, mimetype=a.content_type))
        html = message.medium == EMAIL and message.html is not None
        with apprise.LogCapture(level=logging.WARNING) as captured:
            try:
                result = await asyncio.wait_for(
                    sender.async_notify(
                        body=message.html if html else message.text,
                        title=message.subject if message.medium == EMAIL else "",
                        body_format=apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT,
                        attach=attach,
                    ),
                    self._timeout,
                )
            except TimeoutError:
                raise ChannelError(f"no answer within {self._timeout:g} s") from None
            said = captured.getvalue().strip()  # type: ignore[union-attr]
        if not result:
            status = getattr(getattr(result, "status", None), "name", "FAILURE")
            raise ChannelError(f"{status}: {said[-1000:] or 'the provider refused the message'}")
        return None


@hookimpl
def register_notification_channels(context: AppContext) -> list[Channel]:
    """Called once at start-up, after every plugin's `startup` (so schemes that plugins add, such as
    netgsm://, are known): each channel's URL is checked with apprise now, so a typo fails the start
    instead of every send, and apprise's ~500 modules are loaded before the first message needs them."""
    import apprise

    config: NotifyAppriseConfig = context.plugin_config("notify_apprise")
    for i, channel in enumerate(config.channels):
        sample = Outgoing(
            key="check", kind="confirmation", category="transactional", recipient="customer",
            medium=channel.medium, to="905320000000" if channel.medium in PHONE_MEDIA else "a@example.com",
            language="tr", subject="", text="",
        )  # fmt: skip
        if apprise.Apprise.instantiate(fill(channel.url.reveal(), sample)) is None:
            raise PluginError(
                "notify_apprise",
                f"plugin.notify_apprise.channels[{i}].url: apprise does not support this URL"
                " (unknown scheme, or its plugin is not enabled)",
            )
    names = [c.name for c in config.channels]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise PluginError(
                "notify_apprise", f"plugin.notify_apprise.channels[{i}].name: {name!r} is taken"
            )
    return [AppriseChannel(c, config.timeout) for c in config.channels]
