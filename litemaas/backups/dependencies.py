"""The backup configuration of a request, built from the app's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from litemaas.backups.service import BackupConfig, config_from
from litemaas.dependencies import AppSettings


def get_backup_config(settings: AppSettings) -> BackupConfig:
    """``BackupsNotConfigured`` (503 naming the variable) when no storage is set."""
    return config_from(settings)


Backups = Annotated[BackupConfig, Depends(get_backup_config)]
