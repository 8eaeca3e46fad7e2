"""Entry point `hello_broken`: fails at import time, to prove the loader names the plugin.

It must never be imported unless enabled; it has no other effect.
"""

raise RuntimeError("hello_broken cannot be imported (on purpose)")
