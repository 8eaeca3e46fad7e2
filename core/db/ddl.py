"""Column types that differ between the two engines, for hand-written migrations.

Types are spelled as Piccolo spells them on SQLite (TIMESTAMPTZ, BOOLEAN, JSON...) because Piccolo's
SQLite engine converts values by declared column type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    kind: str
    pk: str  # auto-increment primary key
    bigint: str

    @property
    def sqlite(self) -> bool:
        return self.kind == "sqlite"


SQLITE = Dialect(kind="sqlite", pk="INTEGER PRIMARY KEY NOT NULL", bigint="INTEGER")
POSTGRES = Dialect(kind="postgres", pk="BIGSERIAL PRIMARY KEY NOT NULL", bigint="BIGINT")


def dialect(kind: str) -> Dialect:
    return SQLITE if kind == "sqlite" else POSTGRES
