"""Where backups live: a local directory or an S3-compatible bucket, behind one small interface.

Layout (directory or key prefix): ``<backup id>/litemaas.dump``, ``<backup id>/litellm.dump``,
``<backup id>/manifest.json`` (written last) and ``<backup id>/verification.json`` (latest check).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from litemaas.backups.errors import BackupsNotConfigured, StorageUnavailable
from litemaas.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

# A backup id is a UTC timestamp plus a short random tail: safe as a directory name and a key.


class BackupStorage(Protocol):
    description: str

    def list_ids(self) -> list[str]: ...
    def put_file(self, backup_id: str, name: str, source: Path) -> None: ...
    def get_file(self, backup_id: str, name: str, destination: Path) -> None: ...
    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None: ...
    def get_bytes(self, backup_id: str, name: str) -> bytes | None: ...
    def delete_backup(self, backup_id: str) -> None: ...


class LocalStorage:
    """Backups under one directory (a mounted volume); files 0600, directories 0700."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"directory {root}"

    def _dir(self, backup_id: str) -> Path:
        return self.root / backup_id

    def list_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def _write(self, backup_id: str, name: str, fill: Any) -> None:
        directory = self._dir(backup_id)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
            try:
                with os.fdopen(fd, "wb") as sink:
                    fill(sink)
                os.replace(tmp, directory / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {backup_id}/{name} in {self.description}: {exc.strerror}") from None

    def put_file(self, backup_id: str, name: str, source: Path) -> None:
        def fill(sink: Any) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, sink, 1 << 20)

        self._write(backup_id, name, fill)

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        self._write(backup_id, name, lambda sink: sink.write(data))

    def get_file(self, backup_id: str, name: str, destination: Path) -> None:
        try:
            shutil.copyfile(self._dir(backup_id) / name, destination)
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot read {backup_id}/{name} from {self.description}: {exc.strerror}"
            ) from None

    def get_bytes(self, backup_id: str, name: str) -> bytes | None:
        path = self._dir(backup_id) / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot read {backup_id}/{name} from {self.description}: {exc.strerror}"
            ) from None

    def delete_backup(self, backup_id: str) -> None:
        try:
            shutil.rmtree(self._dir(backup_id), ignore_errors=False)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {backup_id} in {self.description}: {exc.strerror}") from None


class S3Storage:
    """Backups in an S3-compatible bucket; every object is written with server-side encryption (AES256)."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, endpoint: str | None) -> None:
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.description = f"s3://{bucket}/{self.prefix}" + (f" at {endpoint}" if endpoint else "")

    def _key(self, backup_id: str, name: str) -> str:
        return f"{self.prefix}{backup_id}/{name}"

    def _fail(self, action: str, exc: Exception) -> StorageUnavailable:
        reason = (
            exc.response.get("Error", {}).get("Code", "error") if isinstance(exc, ClientError) else type(exc).__name__
        )
        return StorageUnavailable(f"{action} in {self.description} failed: {reason}")

    def list_ids(self) -> list[str]:
        ids: list[str] = []
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    ids.append(common.get("Prefix", "")[len(self.prefix) :].rstrip("/"))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("listing backups", exc) from None
        return sorted(i for i in ids if i)

    def put_file(self, backup_id: str, name: str, source: Path) -> None:
        try:
            self._s3.upload_file(
                str(source), self.bucket, self._key(backup_id, name), ExtraArgs={"ServerSideEncryption": "AES256"}
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"uploading {backup_id}/{name}", exc) from None

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._key(backup_id, name),
                Body=data,
                ServerSideEncryption="AES256",
                ContentType="application/json",
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"writing {backup_id}/{name}", exc) from None

    def get_file(self, backup_id: str, name: str, destination: Path) -> None:
        try:
            self._s3.download_file(self.bucket, self._key(backup_id, name), str(destination))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"downloading {backup_id}/{name}", exc) from None

    def get_bytes(self, backup_id: str, name: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=self._key(backup_id, name))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise self._fail(f"reading {backup_id}/{name}", exc) from None
        except BotoCoreError as exc:
            raise self._fail(f"reading {backup_id}/{name}", exc) from None

    def delete_backup(self, backup_id: str) -> None:
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}{backup_id}/"):
                keys: list[ObjectIdentifierTypeDef] = [
                    {"Key": o["Key"]} for o in page.get("Contents", []) if "Key" in o
                ]
                if keys:
                    self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(f"deleting {backup_id}", exc) from None


def storage_from(settings: Settings) -> BackupStorage:
    """The storage the settings name; ``BackupsNotConfigured`` naming the missing variable."""
    if settings.backup_storage == "local":
        if settings.backup_local_dir is None:
            raise BackupsNotConfigured("LITEMAAS_BACKUP_LOCAL_DIR is not set (LITEMAAS_BACKUP_STORAGE=local)")
        return LocalStorage(settings.backup_local_dir)
    if settings.backup_storage == "s3":
        if not settings.backup_s3_bucket:
            raise BackupsNotConfigured("LITEMAAS_BACKUP_S3_BUCKET is not set (LITEMAAS_BACKUP_STORAGE=s3)")
        key_id, secret = settings.backup_s3_access_key_id, settings.backup_s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.backup_s3_endpoint_url,
            region_name=settings.backup_s3_region,
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=120),
        )
        return S3Storage(client, settings.backup_s3_bucket, settings.backup_s3_prefix, settings.backup_s3_endpoint_url)
    raise BackupsNotConfigured("backups are not configured: set LITEMAAS_BACKUP_STORAGE to 'local' or 's3'")
