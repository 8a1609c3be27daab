"""Backups test support: moto's S3 server (fixture in conftest.py), backup settings, backdating."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from pydantic import SecretStr

from litemaas.backups import service
from litemaas.backups.schemas import Manifest
from litemaas.backups.service import BackupConfig
from litemaas.config import Settings

MOTO_KEY_ID = "test-backup-key-id"
MOTO_SECRET = "test-backup-secret-" + uuid.uuid4().hex


@dataclass
class MotoS3:
    endpoint: str
    proc: subprocess.Popen[bytes]

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=MOTO_KEY_ID,
            aws_secret_access_key=MOTO_SECRET,
        )

    def new_bucket(self) -> str:
        name = f"litemaas-backups-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name


def backup_settings(settings: Settings, litellm_database_url: str, **storage: Any) -> Settings:
    """``settings`` with both database URLs and a backup storage (``backup_storage="local"`` ...)."""
    return settings.model_copy(update={"litellm_database_url": litellm_database_url, **storage})


def local_settings(settings: Settings, litellm_database_url: str, directory: Path) -> Settings:
    return backup_settings(
        settings, litellm_database_url, backup_storage="local", backup_local_dir=directory, backup_timeout_seconds=600
    )


def s3_settings(settings: Settings, litellm_database_url: str, moto: MotoS3, bucket: str) -> Settings:
    return backup_settings(
        settings,
        litellm_database_url,
        backup_storage="s3",
        backup_s3_endpoint_url=moto.endpoint,
        backup_s3_bucket=bucket,
        backup_s3_prefix="prod/litemaas",
        backup_s3_access_key_id=SecretStr(MOTO_KEY_ID),
        backup_s3_secret_access_key=SecretStr(MOTO_SECRET),
        backup_timeout_seconds=600,
    )


def backdated_copy(config: BackupConfig, source_id: str, when: datetime, workdir: Path) -> str:
    """A copy of backup ``source_id`` made at ``when`` (id and manifest say so), as an old backup would be."""
    manifest = service.read_manifest(config, source_id)
    copy_id = service.new_backup_id(when)
    for dump in manifest.databases:
        path = workdir / f"{copy_id}-{dump.file}"
        config.storage.get_file(source_id, dump.file, path)
        config.storage.put_file(copy_id, dump.file, path)
    old = Manifest.model_validate({**manifest.model_dump(), "id": copy_id, "created_at": when})
    config.storage.put_bytes(copy_id, service.MANIFEST, old.model_dump_json().encode())
    return copy_id
