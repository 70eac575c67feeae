"""The ledger file: another program's SQLite database is recognised read-only and never changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import router
from router import tracking
from router.tracking import ledger_file
from vendors.errors import LedgerError


def _other_program(path: Path, *, version: int = 0, app_id: int = 0, table: str = "users") -> bytes:
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute(f"INSERT INTO {table} (name) VALUES ('ada')")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {app_id}")
    conn.commit()
    conn.close()
    data = path.read_bytes()
    assert data[18:20] == b"\x01\x01"  # rollback-journal mode: WAL would make these 2, 2
    return data


CASES = {
    "plain": {},
    "versioned": {"version": 3},
    "its own application_id": {"app_id": 0x12345678, "version": 1},
    "a calls table of its own": {"version": 1, "table": "calls"},
    "far future version": {"version": 99},
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("how", ["configure", "spend", "connect"])
def test_another_programs_database_is_not_modified(tmp_path: Path, case: str, how: str) -> None:
    path = tmp_path / "app.sqlite"
    before = _other_program(path, **CASES[case])
    with pytest.raises(LedgerError, match="not a Farebox cost ledger") as info:
        if how == "configure":
            try:
                tracking.configure(ledger=path)
            finally:
                tracking.reset()
        elif how == "spend":
            router.spend(ledger=path)
        else:
            ledger_file.connect(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite"]  # no -wal / -shm / -journal left


def _header(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_a_new_ledger_carries_the_application_id(ledger: Any) -> None:
    assert _header(ledger) == (ledger_file.APPLICATION_ID, ledger_file.SCHEMA_VERSION)


def test_a_farebox_ledger_from_before_the_application_id_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    for statements in ledger_file.MIGRATIONS:
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {ledger_file.SCHEMA_VERSION}")
    conn.execute("INSERT INTO calls (record_id, ts, vendor, model, status) VALUES ('r', 1, 'v', 'm', 'ok')")
    conn.commit()
    conn.close()
    assert _header(path) == (0, ledger_file.SCHEMA_VERSION)
    ledger_file.connect(path).close()
    assert _header(path) == (ledger_file.APPLICATION_ID, ledger_file.SCHEMA_VERSION)
    assert len(router.spend(ledger=path)) == 1
