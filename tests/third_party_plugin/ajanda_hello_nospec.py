"""Entry point `hello_nospec`: implements a hook no spec declares, which start-up must refuse.

A misspelt hook name would otherwise be silently ignored forever.
"""

from __future__ import annotations

from core import PluginMeta, hookimpl

PLUGIN = PluginMeta(
    name="hello_nospec", version="0.3.1", description="Implements a hook that does not exist."
)


@hookimpl
def booking_creatd(context: object) -> None:
    """Misspelt `booking_created`: no hookspec has this name."""
