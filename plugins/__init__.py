"""Ajanda's built-in plugins. Each is enabled by name in `[plugins] enabled`, like a third-party one."""
