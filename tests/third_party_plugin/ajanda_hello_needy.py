"""Entry point `hello_needy`: requires the `hello` plugin, to test `requires` ordering and errors."""

from __future__ import annotations

from core import PluginMeta

PLUGIN = PluginMeta(
    name="hello_needy",
    version="0.3.1",
    description="Needs the hello plugin.",
    requires=("hello",),
)
