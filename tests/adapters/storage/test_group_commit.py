"""Group commit on SQLite: batched transactions, each atomic on its own, durable when answered."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlmodel import Session

from adapters.storage.database import Database, StorageUnavailable


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'g.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"))
    yield database
    database.dispose()


def _insert(name: str):
    def work(s: Session) -> str:
        s.execute(text("INSERT INTO item (name) VALUES (:n)"), {"n": name})
        return name

    return work


def _names(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM item")).scalars())


async def test_concurrent_writes_share_commits_and_all_land(db):
    results = await asyncio.gather(*(db.write(_insert(f"n{i}")) for i in range(200)))
    assert results == [f"n{i}" for i in range(200)]
    assert _names(db) == {f"n{i}" for i in range(200)}
    writer = db._writer
    assert writer is not None and writer.transactions == 200 and writer.batches < 200


async def test_a_failing_transaction_rolls_back_alone(db):
    def half_then_fail(s: Session) -> None:
        s.execute(text("INSERT INTO item (name) VALUES ('half')"))
        raise ValueError("changed my mind")

    outcomes = await asyncio.gather(db.write(_insert("a")), db.write(half_then_fail), db.write(_insert("a")),
                                    db.write(_insert("b")), return_exceptions=True)
    assert outcomes[0] == "a" and outcomes[3] == "b"
    assert isinstance(outcomes[1], ValueError)
    assert "UNIQUE" in str(outcomes[2]) or "unique" in str(outcomes[2]).lower()
    assert _names(db) == {"a", "b"}


async def test_a_failed_commit_fails_every_caller_of_the_batch(db, tmp_path):
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL "
                          "REFERENCES item(id) DEFERRABLE INITIALLY DEFERRED)"))

    def orphan(s: Session) -> None:  # a deferred foreign key fails at COMMIT, not in the statement
        s.execute(text("INSERT INTO child (item_id) VALUES (999)"))

    outcomes = await asyncio.gather(db.write(_insert("x")), db.write(orphan), return_exceptions=True)
    assert any(isinstance(o, StorageUnavailable) for o in outcomes)
    if all(isinstance(o, StorageUnavailable) for o in outcomes):
        assert "x" not in _names(db)  # one batch: nothing of it applied
    else:  # the two went out in separate batches
        assert outcomes[0] == "x"


async def test_writer_restarts_after_dispose(db):
    await db.write(_insert("before"))
    db.dispose()
    await db.write(_insert("after"))
    assert _names(db) == {"before", "after"}
