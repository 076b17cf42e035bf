"""Column types shared by the storage models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, event
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---------------------------------------------------------------- text with NUL characters

#: PostgreSQL refuses the NUL character (U+0000) in text; a JSON string may hold it, and the
#: contracts' strings allow it. On PostgreSQL, stored text escapes it with two Unicode
#: noncharacters (code points "for internal use", never meaningful in interchanged text):
#: NUL → U+FDD0, and U+FDD0 / U+FDD1 themselves → U+FDD1 + the character. Text without these
#: three characters (all real text) is stored unchanged; NUL costs no length (a column sized to
#: the contract's maxLength still fits), only the noncharacters grow by one each (so a string of
#: them near a column's length would not fit: no client sends those).
NUL, NUL_MARK, ESCAPE = "\x00", "\ufdd0", "\ufdd1"
_ENCODED = re.compile(f"{ESCAPE}(.)|{NUL_MARK}", re.DOTALL)


def encode_text(value: str) -> str:
    """``value`` as PostgreSQL stores it (see :data:`NUL`): injective, NUL-free."""
    if NUL not in value and NUL_MARK not in value and ESCAPE not in value:
        return value
    return value.replace(ESCAPE, ESCAPE + ESCAPE).replace(NUL_MARK, ESCAPE + NUL_MARK).replace(NUL, NUL_MARK)


def decode_text(value: str) -> str:
    """The text :func:`encode_text` stored as ``value``."""
    if NUL_MARK not in value and ESCAPE not in value:
        return value
    return _ENCODED.sub(lambda m: m.group(1) or NUL, value)


class _NulSafe(TypeDecorator[str]):
    """Text that may hold NUL on every database (escaped on PostgreSQL, see :func:`encode_text`).

    Comparisons with the column (``==``, ``in_``, ``like``) escape their operand the same way;
    an expression that wraps the column in a function (``func.lower(column)``) must say
    ``type_=column.type`` for its operand to be escaped too."""

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or dialect.name != "postgresql":
            return value
        return encode_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or dialect.name != "postgresql":
            return value
        return decode_text(value)


class NulSafeString(_NulSafe):
    """``VARCHAR(length)`` (SQLModel's ``str`` columns) holding any text, NUL included."""

    impl = String
    cache_ok = True


class NulSafeText(_NulSafe):
    """``TEXT`` holding any text, NUL included."""

    impl = Text
    cache_ok = True


@event.listens_for(SQLModel, "instrument_class", propagate=True)
def _nul_safe_columns(mapper: Any, cls: type) -> None:  # noqa: ARG001
    """Every table model's text columns hold NUL (see :func:`encode_text`): SQLModel makes
    ``str`` fields ``AutoString``; those and ``Text`` columns become :class:`NulSafeString` /
    :class:`NulSafeText` (the same DDL) as the model class is mapped, before any statement."""
    table = getattr(cls, "__table__", None)
    for column in table.columns if table is not None else ():
        if type(column.type) is AutoString or type(column.type) is String:
            column.type = NulSafeString(length=column.type.length)
        elif type(column.type) is Text:
            column.type = NulSafeText(length=column.type.length)
