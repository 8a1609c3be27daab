"""The embedded PostgreSQL of `litemaas up`: no connection without the generated password."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from litemaas.proxy_runtime.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from tests.support.stack import free_port


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "state" / "pgdata", port=free_port())
    yield server
    server.stop()


def _refused_without_password(server: EmbeddedPostgres) -> None:
    for where in ({"host": "127.0.0.1"}, {"host": str(server.socket_dir)}):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(port=server.port, user="postgres", dbname="postgres", connect_timeout=5, **where).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=server.port, user="postgres", password="guess", dbname="postgres", connect_timeout=5
        ).close()


def _accepted_with_password(server: EmbeddedPostgres) -> None:
    with psycopg.connect(server.url(), connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def _no_trust_lines(server: EmbeddedPostgres) -> None:
    rules = [line.split() for line in (server.data_dir / "pg_hba.conf").read_text().splitlines()]
    methods = {rule[-1] for rule in rules if rule and not rule[0].startswith("#")}
    assert methods == {"scram-sha-256"}, methods


def test_new_server_needs_the_generated_password_kept_0600(pg: EmbeddedPostgres) -> None:
    pg.start()
    assert pg.password_file == pg.data_dir.parent / "pg_password"
    assert stat.S_IMODE(pg.password_file.stat().st_mode) == 0o600
    password = pg.password_file.read_text().strip()
    assert len(password) >= 40 and password in pg.url()
    _refused_without_password(pg)
    _accepted_with_password(pg)
    _no_trust_lines(pg)
    assert not list(pg.socket_dir.glob(".initdb-password*"))

    # A restart reuses the same password.
    pg.stop()
    again = EmbeddedPostgres(pg.data_dir, port=pg.port)
    again.start()
    try:
        assert again.password == password and not again.upgraded_from_trust
        _accepted_with_password(again)
    finally:
        again.stop()


def test_data_directory_of_an_earlier_version_is_moved_off_trust(pg: EmbeddedPostgres) -> None:
    # What earlier versions made: every local connection trusted as superuser.
    pg.socket_dir.mkdir(parents=True)
    pg.data_dir.mkdir(parents=True)
    pg._prepare_permissions()
    pg._run("initdb", "-D", str(pg.data_dir), "--auth=trust", "--encoding=utf8", "-U", "postgres")
    assert pg.trusts_connections()
    pg.start()
    assert pg.upgraded_from_trust
    assert stat.S_IMODE(pg.password_file.stat().st_mode) == 0o600
    _refused_without_password(pg)
    _accepted_with_password(pg)
    _no_trust_lines(pg)


def test_a_lost_or_changed_password_file_is_reported_clearly(pg: EmbeddedPostgres) -> None:
    pg.start()
    pg.stop()
    original = pg.password_file.read_text()
    pg.password_file.unlink()
    with pytest.raises(EmbeddedPostgresError, match="pg_password, which is missing"):
        pg.start()
    assert not pg.password_file.exists()  # no new password that could never match
    pg.password_file.write_text("not-the-password\n")
    with pytest.raises(EmbeddedPostgresError, match="refuses the password in .*pg_password"):
        pg.start()
    pg.stop()
    pg.password_file.write_text(original)
    pg.start()
    _accepted_with_password(pg)
