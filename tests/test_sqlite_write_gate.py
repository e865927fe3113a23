"""The SQLite write gate: writers of one process take turns in arrival order, readers pass."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from siyu.storage.engine import create_engine
from siyu.storage.write_gate import WriteGate, gate_for, is_write


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE)")
    yield engine
    engine.dispose()


def _gate(engine) -> WriteGate:
    return gate_for(str(Path(engine.url.database).resolve()))


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("sql, writes", [
    ("INSERT INTO t VALUES (1)", True), ("  update t set v = 1", True),
    ("DELETE FROM t", True), ("REPLACE INTO t VALUES (1, 1)", True),
    ("CREATE TABLE u (x)", True), ("WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 1", True),
    ("SELECT * FROM t", False), ("PRAGMA journal_mode", False),
    ("WITH x AS (SELECT 1) SELECT * FROM x", False)])
def test_what_counts_as_a_write(sql, writes):
    assert is_write(sql) is writes


def test_a_second_writer_waits_at_the_gate_and_goes_on_at_the_commit(engine):
    gate = _gate(engine)
    done = threading.Event()
    with engine.connect() as holder:
        holder.begin()
        holder.exec_driver_sql("INSERT INTO t (v) VALUES (1)")

        def write():
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t (v) VALUES (2)")
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        _wait_for(lambda: gate.waiting == 1)
        # A reader is not held up by the open write transaction.
        with engine.connect() as reader:
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        assert not done.is_set()
        holder.commit()
        thread.join(5)
    assert done.is_set()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t ORDER BY v").scalars().all() == [1, 2]
    assert gate.waiting == 0


def test_waiters_are_let_through_in_the_order_they_came():
    gate = WriteGate("test")
    gate.acquire(1)
    order: list[int] = []

    def wait(i):
        gate.acquire(5)
        order.append(i)
        gate.release()

    threads = []
    for i in range(5):
        threads.append(threading.Thread(target=wait, args=(i,)))
        threads[-1].start()
        _wait_for(lambda i=i: gate.waiting == i + 1)
    gate.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked():
    gate = WriteGate("test")
    gate.acquire(1)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        gate.acquire(0.05)
    assert gate.waiting == 0
    gate.release()
    gate.acquire(0.05)  # free again


def test_rollback_and_a_failed_statement_give_the_gate_back(engine):
    gate = _gate(engine)
    with engine.connect() as conn:
        conn.begin()
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (1)")
        conn.rollback()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (1)")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (1)")  # duplicate
    # Nobody holds it: a write in another thread goes straight through.
    result = []
    thread = threading.Thread(target=lambda: result.append(gate.acquire(0.5)))
    thread.start()
    thread.join(5)
    assert result == [None]
    gate.release()


def test_many_threads_writing_lose_nothing(engine):
    def work(k):
        for j in range(50):
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
                conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (k * 1000 + j,))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 600
