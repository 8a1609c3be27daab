"""``/api/v1/admin/backups``: list and read backups (admin_read), create, verify, test-restore, prune (operations:run).

Disaster restore is not an API route: it overwrites the database this backend runs on, so it
is a command (``litemaas backup restore``) run with the backend stopped.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.backups import service
from litemaas.backups.dependencies import Backups
from litemaas.backups.schemas import (
    BackupDetail,
    BackupList,
    CreateBackupIn,
    PruneIn,
    PruneReport,
    Verification,
    VerifyIn,
)
from litemaas.db import Session

router = APIRouter(prefix="/admin/backups", tags=["operations"])

BackupIdPath = Annotated[str, Path(max_length=64)]


@router.get("", response_model=BackupList)
async def list_backups(_: Annotated[Principal, require(Permission.ADMIN_READ)], config: Backups) -> BackupList:
    return await service.list_for(config)


@router.post("", response_model=BackupDetail, status_code=status.HTTP_201_CREATED)
async def create_backup(
    # The permission first: a caller without it is refused before the configuration is read.
    principal: Annotated[Principal, require(Permission.OPERATIONS_RUN)],
    body: CreateBackupIn,
    config: Backups,
    session: Session,
) -> BackupDetail:
    """Back up both databases now (synchronous: answers when the backup is stored and checked)."""
    return await service.create_for(session, config, principal, verify=body.verify)


@router.post("/prune", response_model=PruneReport)
async def prune_backups(
    principal: Annotated[Principal, require(Permission.OPERATIONS_RUN)],
    body: PruneIn,
    config: Backups,
    session: Session,
) -> PruneReport:
    return await service.prune_for(session, config, principal, dry_run=body.dry_run)


@router.get("/{backup_id}", response_model=BackupDetail)
async def get_backup(
    _: Annotated[Principal, require(Permission.ADMIN_READ)], backup_id: BackupIdPath, config: Backups
) -> BackupDetail:
    return await service.detail_for(config, backup_id)


@router.post("/{backup_id}/verify", response_model=Verification)
async def verify_backup(
    principal: Annotated[Principal, require(Permission.OPERATIONS_RUN)],
    backup_id: BackupIdPath,
    body: VerifyIn,
    config: Backups,
    session: Session,
) -> Verification:
    """Checksums and readability; with ``restore: true`` a test restore comparing row counts (synchronous)."""
    return await service.verify_for(session, config, principal, backup_id, restore=body.restore)
