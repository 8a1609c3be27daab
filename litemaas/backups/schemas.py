"""The manifest stored next to each backup, verification results, and the API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MANIFEST_FORMAT = 1
# A backup's id (its folder): a UTC timestamp and six hex digits, e.g. 20261204T173937Z-416c24.
BACKUP_ID_PATTERN = r"^\d{8}T\d{6}Z-[0-9a-f]{6}$"
DatabaseRole = Literal["litemaas", "litellm"]
VerificationKind = Literal["verify", "test_restore", "restore"]


class DatabaseDump(BaseModel):
    """One database's dump: where it is, what it holds, and what made it."""

    model_config = ConfigDict(extra="ignore")

    role: DatabaseRole
    database: str
    # Read back from storage and joined to local paths: only the names a backup writes are valid.
    file: Literal["litemaas.dump", "litellm.dump"]
    size: int
    sha256: str
    server_version: str
    pg_dump_version: str
    # Row counts of every table, read in the snapshot pg_dump dumped (``--snapshot``).
    tables: dict[str, int]
    snapshot_consistent: bool
    alembic_revision: str | None = None

    @model_validator(mode="after")
    def _file_is_the_roles(self) -> DatabaseDump:
        if self.file != f"{self.role}.dump":
            raise ValueError(f"file {self.file!r} is not the {self.role} dump")
        return self


class Manifest(BaseModel):
    """``<backup id>/manifest.json``: written last, so a backup without one is incomplete."""

    model_config = ConfigDict(extra="ignore")

    format: int = MANIFEST_FORMAT
    id: str = Field(pattern=BACKUP_ID_PATTERN)
    created_at: datetime
    duration_seconds: float
    litemaas_version: str
    litellm_version: str
    databases: list[DatabaseDump]

    @property
    def size(self) -> int:
        return sum(d.size for d in self.databases)


class DatabaseCheck(BaseModel):
    role: DatabaseRole
    checksum_ok: bool = False
    readable: bool = False
    restored: bool | None = None
    counts_ok: bool | None = None
    # "table: expected N, found M" for every table whose count differs.
    mismatches: list[str] = Field(default_factory=list)
    tables_checked: int = 0
    rows_checked: int = 0
    error: str | None = None


class Verification(BaseModel):
    """``<backup id>/verification.json``: the latest check of a backup (shown by list and the console)."""

    model_config = ConfigDict(extra="ignore")

    backup_id: str
    kind: VerificationKind
    ok: bool
    started_at: datetime
    duration_seconds: float
    databases: list[DatabaseCheck]


class BackupSummary(BaseModel):
    id: str
    created_at: datetime
    size: int
    databases: list[DatabaseRole]
    verification: Verification | None = None


class BackupList(BaseModel):
    storage: str
    retention_months: int
    total: int
    items: list[BackupSummary]


class BackupDetail(BaseModel):
    manifest: Manifest
    verification: Verification | None = None


class CreateBackupIn(BaseModel):
    """The create request (a body, so a stray POST is refused); verify checks the upload right away."""

    model_config = ConfigDict(extra="forbid")

    verify: bool = True


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # True: also restore into scratch databases and compare every table's row count.
    restore: bool = False


class PruneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = True


class PruneReport(BaseModel):
    cutoff: datetime
    retention_months: int
    dry_run: bool
    kept: list[str]
    deleted: list[str]


class RestoreReport(BaseModel):
    backup_id: str
    restored: list[DatabaseRole]
    verification: Verification
