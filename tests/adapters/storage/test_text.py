"""Text holding NUL (U+0000) on both backends: PostgreSQL refuses NUL in text (psycopg: "PostgreSQL
text fields cannot contain NUL (0x00) bytes"), SQLite stores it; a JSON string may hold it and the
contracts' strings allow it, so every text column escapes it on PostgreSQL (adapters.storage.types)."""

from __future__ import annotations

from sqlalchemy import Enum, String, text
from sqlalchemy.types import TypeDecorator, TypeEngine

from adapters.storage.database import Database
from adapters.storage.serviceai.records import ServiceaiRecordStore
from adapters.storage.tables import register_all
from adapters.storage.types import ESCAPE, NUL_MARK, NulSafeString, NulSafeText, decode_text, encode_text
from core.clock import utcnow

TRICKY = ["", "plain", "\x00", "a\x00b\x00", NUL_MARK, ESCAPE, ESCAPE + NUL_MARK, "\x00" + NUL_MARK + ESCAPE + "\x00",
          ESCAPE + ESCAPE, NUL_MARK + NUL_MARK, "x" + ESCAPE, "é\x00😀"]


def test_encoding_round_trips_is_injective_and_nul_free():
    encoded = [encode_text(s) for s in TRICKY]
    assert [decode_text(e) for e in encoded] == TRICKY
    assert len(set(encoded)) == len(TRICKY)
    assert not any("\x00" in e for e in encoded)
    assert encode_text("plain text, ünïcode") == "plain text, ünïcode"  # real text is stored as it is
    assert len(encode_text("\x00" * 200)) == 200  # a NUL costs no length: contract-sized columns fit


def test_every_text_column_of_every_model_holds_nul():
    def is_text(kind: TypeEngine) -> bool:
        base = kind.impl if isinstance(kind, TypeDecorator) else kind
        return isinstance(base, String) and not isinstance(base, Enum)

    kinds = {(t.name, c.name): type(c.type) for t in register_all().tables.values() for c in t.columns
             if is_text(c.type)}
    assert len(kinds) > 100
    assert {k: v for k, v in kinds.items() if v not in (NulSafeString, NulSafeText)} == {}


async def test_text_with_nul_is_stored_found_and_searched(database_url):
    db = Database(database_url)
    db.migrate()
    records = ServiceaiRecordStore(db)
    now = utcnow()
    for n, name in enumerate(TRICKY[1:]):
        entity = await records.upsert_entity(organization_id="o\x001", entity_type="job", name=name,
                                             reference=f"r\x00{n}", entity_id=f"e\x00{n}", now=now)
        assert (entity.entity_id, entity.name) == (f"e\x00{n}", name)
        stored = await records.get_entity("o\x001", f"e\x00{n}")  # a lookup by key escapes the key alike
        assert stored is not None and stored.name == name and stored.reference == f"r\x00{n}"
    # func.lower(column) comparisons and LIKE patterns are escaped as the column is
    assert [e.entity_id for e in await records.search_entities("o\x001", query="R\x003")] == ["e\x003"]
    assert "a\x00b\x00" in [e.name for e in await records.search_entities("o\x001", query="a\x00b", limit=20)]
    assert await records.get_entity("o1", "e\x000") is None
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            raw = conn.execute(text("SELECT name FROM serviceai_entity WHERE entity_id = :id"),
                               {"id": encode_text("e\x001")}).scalar_one()
        assert raw == encode_text("\x00")
    db.dispose()

