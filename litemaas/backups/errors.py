"""Errors of the backups domain (all rendered by the one LiteMaaSError handler)."""

from __future__ import annotations

from litemaas.errors import BadRequest, Conflict, LiteMaaSError, NotFound, UpstreamUnavailable


class BackupsNotConfigured(UpstreamUnavailable):
    """No backup storage (or a database URL a backup needs) is configured."""

    code = "backups_not_configured"


class StorageUnavailable(UpstreamUnavailable):
    """The backup storage (S3 endpoint or directory) cannot be reached or refused the request."""

    code = "backup_storage_unavailable"


class BackupNotFound(NotFound):
    code = "backup_not_found"


class InvalidBackupId(BadRequest):
    code = "invalid_backup_id"


class BackupBusy(Conflict):
    """Another backup operation (here or on another replica) is running."""

    code = "backup_busy"


class PgToolsUnavailable(LiteMaaSError):
    """No pg_dump/pg_restore at least as new as the server (an older client cannot dump it)."""

    status = 503
    code = "pg_tools_unavailable"


class BackupFailed(LiteMaaSError):
    """pg_dump, pg_restore or a database step failed; the message says which (never a credential)."""

    status = 500
    code = "backup_failed"


class RestoreRefused(BadRequest):
    """A disaster restore without the explicit confirmation naming the database it overwrites."""

    code = "restore_not_confirmed"
