"""The plugin's own table; its name is prefixed with the plugin name, as the core asks."""

from __future__ import annotations

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class HelloVisit(Table, tablename="hello_visit"):
    name = Varchar(length=100)
    created_at = Timestamptz()
