"""Group commit: items handed over by many threads are written, a batch per transaction."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from siyu.storage.engine import create_engine
from siyu.storage.group_commit import GroupCommit

T = sa.table("t", sa.column("v"))


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gc.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
    yield engine
    engine.dispose()


def _insert(conn, items):
    conn.execute(sa.insert(T), [{"v": v} for v in items])


def _values(engine):
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(T.c.v)).scalars())


def test_items_from_many_threads_are_committed_in_fewer_transactions(engine):
    writer = GroupCommit(engine, _insert, name="test-writer")
    writer.start()
    futures = []
    lock = threading.Lock()

    def submit(k):
        for j in range(100):
            future = writer.submit(k * 100 + j)
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        assert future.result(10) is None
    writer.stop()
    assert _values(engine) == list(range(800))
    assert writer.items == 800
    assert writer.batches < 800


def test_a_failed_batch_fails_its_futures_and_writes_none_of_it(engine):
    writer = GroupCommit(engine, _insert, name="test-writer")
    writer.submit(1).result()  # without the thread: written at once
    failed = writer.submit(1)  # duplicate
    with pytest.raises(sa.exc.IntegrityError):
        failed.result()
    assert _values(engine) == [1]


def test_stop_writes_what_was_handed_over(engine):
    gate = threading.Event()

    def slow_insert(conn, items):
        gate.wait(5)
        _insert(conn, items)

    writer = GroupCommit(engine, slow_insert, name="test-writer")
    writer.start()
    futures = [writer.submit(v) for v in range(10)]
    gate.set()
    writer.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    assert _values(engine) == list(range(10))
