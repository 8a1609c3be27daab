"""Backups fixtures: real PostgreSQL (pg_dump/pg_restore of the server's version), moto's S3 server."""

from tests.backups.support import backup_dir, moto_s3  # noqa: F401
from tests.e2e.fixtures import *  # noqa: F403  shared fixtures; a pytest plugin module replaces this (issue 14, item 8)
