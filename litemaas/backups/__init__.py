"""Backups of both databases (``pg_dump`` custom format + a manifest) to S3 or a directory."""
