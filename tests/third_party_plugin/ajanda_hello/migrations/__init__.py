"""Migrations of the hello plugin, applied by `ajanda migrate` after the core's."""
