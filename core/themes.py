"""Where the shipped theme's templates live (pages and messages alike)."""

from pathlib import Path

THEME_TEMPLATES = Path(__file__).resolve().parent.parent / "themes" / "default" / "templates"
