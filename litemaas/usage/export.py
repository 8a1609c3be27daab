"""CSV and JSON exports of usage, streamed: rows are read through a server-side cursor and written
out in small chunks, so a year of a busy instance never sits in memory.

CSV cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) are prefixed with ``'`` (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.usage import repository
from litemaas.usage.repository import EXTERNAL_PREFIX, Sums, UsageScope
from litemaas.usage.schemas import ExportFormat, ExportView

METRIC_COLUMNS = (
    "requests",
    "successful_requests",
    "failed_requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "spend",
    "avg_response_ms",
)

COLUMNS: dict[ExportView, tuple[str, ...]] = {
    ExportView.DAILY: (
        "date",
        "user_id",
        "username",
        "litellm_user_id",
        "key",
        "key_alias",
        "key_status",
        "model",
        "provider",
        "endpoint",
        *METRIC_COLUMNS,
    ),
    ExportView.USERS: ("user_id", "username", "external", "litellm_user_id", *METRIC_COLUMNS),
    ExportView.MODELS: ("model", "display_name", "deleted", *METRIC_COLUMNS),
    ExportView.PROVIDERS: ("provider", *METRIC_COLUMNS),
    ExportView.KEYS: ("key", "key_id", "alias", "status", "user_id", "username", "litellm_user_id", *METRIC_COLUMNS),
    ExportView.ENDPOINTS: ("endpoint", *METRIC_COLUMNS),
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Bytes gathered before a chunk is handed to the client.
_CHUNK_BYTES = 64 * 1024


def neutralise(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never evaluates."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def filename(view: ExportView, fmt: ExportFormat, start: date, end: date, scope_label: str) -> str:
    return f"litemaas-usage-{scope_label}-{view.value}-{start.isoformat()}-{end.isoformat()}.{fmt.value}"


def media_type(fmt: ExportFormat) -> str:
    return "text/csv; charset=utf-8" if fmt is ExportFormat.CSV else "application/json"


def metric_values(sums: Sums) -> tuple[Any, ...]:
    return (
        sums.requests,
        sums.successful_requests,
        sums.failed_requests,
        sums.prompt_tokens,
        sums.completion_tokens,
        sums.prompt_tokens + sums.completion_tokens,
        sums.spend,
        round(sums.response_time_ms / sums.timed_requests, 3) if sums.timed_requests else None,
    )


def _daily_values(row: repository.ExportRow) -> tuple[Any, ...]:
    key = str(row.key_id) if row.key_id else f"{EXTERNAL_PREFIX}{row.external_key}"
    status = row.key_status if row.key_id else "external"
    return (
        row.day.isoformat(),
        str(row.user_id) if row.user_id else None,
        row.username,
        row.litellm_user_id,
        key,
        row.key_alias,
        status,
        row.model,
        row.provider,
        row.endpoint,
        *metric_values(row.sums),
    )


class _Writer:
    """Formats rows as CSV or as one JSON array, in chunks."""

    def __init__(self, fmt: ExportFormat, columns: Sequence[str]) -> None:
        self.fmt = fmt
        self.columns = columns
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._first = True
        if fmt is ExportFormat.CSV:
            self._csv.writerow(columns)
        else:
            self._buffer.write("[")

    def write(self, values: Sequence[Any]) -> bytes | None:
        if self.fmt is ExportFormat.CSV:
            self._csv.writerow([neutralise(v) for v in values])
        else:
            if not self._first:
                self._buffer.write(",\n")
            self._buffer.write(json.dumps(dict(zip(self.columns, values, strict=True)), separators=(",", ":")))
        self._first = False
        if self._buffer.tell() >= _CHUNK_BYTES:
            return self.flush()
        return None

    def flush(self) -> bytes:
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data

    def close(self) -> bytes:
        if self.fmt is ExportFormat.JSON:
            self._buffer.write("]\n")
        return self.flush()


async def stream_daily(
    sessionmaker: async_sessionmaker[AsyncSession], scope: UsageScope, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    """The scope's daily rows, read through a cursor in a read-only transaction of its own."""
    writer = _Writer(fmt, COLUMNS[ExportView.DAILY])
    async with sessionmaker() as session:
        await repository.set_read_only(session)
        async for row in repository.stream_daily_rows(session, scope):
            chunk = writer.write(_daily_values(row))
            if chunk:
                yield chunk
        await session.rollback()
    yield writer.close()


async def stream_rows(fmt: ExportFormat, view: ExportView, rows: Iterable[Sequence[Any]]) -> AsyncIterator[bytes]:
    """A breakdown (already summed, bounded by the number of users, models, keys...)."""
    writer = _Writer(fmt, COLUMNS[view])
    for values in rows:
        chunk = writer.write(values)
        if chunk:
            yield chunk
    yield writer.close()


def id_text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None
