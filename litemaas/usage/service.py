"""Usage rules: who may see what, query validation, analytics, filter options, budgets, status.

Every answer comes from LiteMaaS's own copy (``usage_daily``); LiteLLM is read only to bring
stale days up to date (``refresh``), at most once per TTL whatever the traffic.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.api_keys import service as keys_service
from litemaas.auth.principal import Principal
from litemaas.config import Settings
from litemaas.kit.pagination import Page
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient, LiteLLMDailySpend, LiteLLMError
from litemaas.usage import refresh as refresher
from litemaas.usage import repository
from litemaas.usage.errors import InvalidUsageQuery, NotYourUsage, RefreshBusy, UsageSourceUnavailable
from litemaas.usage.export import id_text, metric_values
from litemaas.usage.repository import EXTERNAL_HASH_CHARS, EXTERNAL_PREFIX, ZERO, Grouped, Sums, UsageScope
from litemaas.usage.schemas import (
    MAX_RANGE_DAYS,
    AdminUsageFilters,
    AnalyticsOut,
    BreakdownOptions,
    BudgetOut,
    DayPoint,
    DayState,
    EndpointRow,
    ExportView,
    FilterOptions,
    KeyBudget,
    KeyOption,
    KeyRow,
    Metrics,
    ModelOption,
    ModelRow,
    ProviderRow,
    RefreshOut,
    Trend,
    UsageFilters,
    UsageStatus,
    UserBudget,
    UserOption,
    UserRow,
)
from litemaas.users import limits as user_limits

log = structlog.get_logger("litemaas.usage")

# Analytics before 2000 make no sense, and the previous period must stay inside the calendar.
EARLIEST_DAY = date(2000, 1, 1)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class UsageRuntime:
    """What the usage service needs besides a session: its own sessions, LiteLLM's spend, rules, cache."""

    sessionmaker: async_sessionmaker[AsyncSession]
    source: LiteLLMDailySpend | None
    policy: refresher.RefreshPolicy
    cache: AnalyticsCache


async def recent_failures(
    runtime: UsageRuntime, token_hashes: Sequence[str], since: datetime
) -> dict[str, tuple[int, int]] | None:
    """Per key hash, (requests refused with 429, other failures) since ``since``, from LiteLLM's
    request log: who is being rate-limited right now. None when it cannot be read (not configured,
    or LiteLLM's database unreachable): the caller says so rather than showing zeros."""
    if runtime.source is None:
        return None
    try:
        return await runtime.source.recent_failures(token_hashes, since)
    except LiteLLMError as exc:
        log.warning("usage.recent_failures.unavailable", error=type(exc).__name__)
        return None


def policy_from(settings: Settings) -> refresher.RefreshPolicy:
    return refresher.RefreshPolicy(
        ttl=timedelta(seconds=settings.usage_today_ttl_seconds),
        grace=timedelta(seconds=settings.usage_grace_seconds),
        wait_seconds=settings.usage_refresh_wait_seconds,
    )


# --------------------------------------------------------------------------- result cache


class AnalyticsCache:
    """Grouped results per (database, cache version, scope): any change to the cache makes a new key.

    Per process and bounded; correct across replicas because the version is read from the
    database on every request.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._max = max_entries

    def get(self, key: Hashable) -> Any | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


# --------------------------------------------------------------------------- query validation


def parse_day(value: str, field: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidUsageQuery(f"{field}: expected a date as YYYY-MM-DD", field=field) from None
    if parsed.isoformat() != value:
        raise InvalidUsageQuery(f"{field}: expected a date as YYYY-MM-DD", field=field)
    if parsed < EARLIEST_DAY:
        raise InvalidUsageQuery(f"{field}: must be {EARLIEST_DAY.isoformat()} or later", field=field)
    return parsed


def parse_range(start_text: str, end_text: str) -> tuple[date, date]:
    start = parse_day(start_text, "start_date")
    end = parse_day(end_text, "end_date")
    if end < start:
        raise InvalidUsageQuery("end_date: must not be before start_date", field="end_date")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidUsageQuery(f"end_date: a range covers at most {MAX_RANGE_DAYS} days", field="end_date")
    return start, end


def _uuids(values: Sequence[str], field: str) -> list[uuid.UUID]:
    parsed = []
    for value in values:
        try:
            parsed.append(uuid.UUID(value))
        except ValueError:
            raise InvalidUsageQuery(f"{field}: {value!r} is not an id", field=field) from None
    return parsed


def _split_keys(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """(LiteMaaS key ids, external hash prefixes)."""
    ids, external = [], []
    for value in values:
        if value.startswith(EXTERNAL_PREFIX):
            prefix = value[len(EXTERNAL_PREFIX) :]
            if len(prefix) != EXTERNAL_HASH_CHARS or not set(prefix) <= _HEX:
                raise InvalidUsageQuery(f"keys: {value!r} is not a key reference", field="keys")
            external.append(prefix)
        else:
            ids.append(value)
    return ids, external


async def build_scope(  # noqa: PLR0912  one branch per filter kind, each validated and named in its 400
    session: AsyncSession, filters: UsageFilters, principal: Principal | None, *, admin: bool
) -> UsageScope:
    """The rows a query may see. A user sees only their own: another user's key is a 403."""
    start, end = parse_range(filters.start_date, filters.end_date)
    key_texts, external = _split_keys(filters.keys)
    key_ids = _uuids(key_texts, "keys")
    user_ids: tuple[uuid.UUID, ...] | None = None
    if admin:
        if not isinstance(filters, AdminUsageFilters):
            raise RuntimeError("invariant broken: isinstance(filters, AdminUsageFilters)")
        users = _uuids(filters.users, "users")
        if users:
            missing = set(users) - await repository.existing_users(session, users)
            if missing:
                raise InvalidUsageQuery(f"users: unknown user {min(map(str, missing))}", field="users")
            user_ids = tuple(dict.fromkeys(users))
    else:
        if principal is None:
            raise RuntimeError("invariant broken: principal is not None")
        user_ids = (principal.user_id,)
        if external:
            raise NotYourUsage("keys: a key LiteMaaS did not issue is not yours", field="keys")
    if key_ids:
        owners = await repository.key_owners(session, key_ids)
        for key_id in key_ids:
            if key_id not in owners:
                raise InvalidUsageQuery(f"keys: unknown key {key_id}", field="keys")
            if user_ids is not None and not admin and owners[key_id] not in user_ids:
                raise NotYourUsage(f"keys: key {key_id} is not yours", field="keys")
    if external:
        missing_ext = set(external) - await repository.known_external_keys(session, external)
        if missing_ext:
            raise InvalidUsageQuery(f"keys: unknown key {EXTERNAL_PREFIX}{min(missing_ext)}", field="keys")
    if filters.models:
        unknown = set(filters.models) - await repository.known_models(session, filters.models)
        if unknown:
            raise InvalidUsageQuery(f"models: unknown model {min(unknown)!r}", field="models")
    if filters.providers:
        unknown = set(filters.providers) - await repository.known_providers(session, filters.providers)
        if unknown:
            raise InvalidUsageQuery(f"providers: unknown provider {min(unknown)!r}", field="providers")
    return UsageScope(
        start=start,
        end=end,
        user_ids=user_ids,
        models=tuple(sorted(set(filters.models))),
        providers=tuple(sorted(set(filters.providers))),
        key_ids=tuple(sorted(set(key_ids))),
        external_keys=tuple(sorted(set(external))),
    )


def previous_range(start: date, end: date) -> tuple[date, date]:
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


# --------------------------------------------------------------------------- freshness


async def ensure_fresh(runtime: UsageRuntime, start: date, end: date) -> bool:
    """Bring stale days of the range up to date; False when LiteLLM could not be read.

    A refresh another replica is running is waited for (bounded); past that, or when LiteLLM is
    unreachable, the answer comes from the cache as it is.
    """
    try:
        await refresher.refresh(runtime.sessionmaker, runtime.source, runtime.policy, start, end)
    except UsageSourceUnavailable as exc:
        log.warning("usage.refresh.unavailable", detail=exc.message)
        return False
    except RefreshBusy:
        log.warning("usage.refresh.busy")
    return True


async def refresh_for(runtime: UsageRuntime, filters: UsageFilters) -> bool:
    """Bring the days a query reads (its range and the previous period) up to date, before the
    query is checked further: the names it filters by may be in those days only."""
    start, end = parse_range(filters.start_date, filters.end_date)
    return await ensure_fresh(runtime, previous_range(start, end)[0], end)


async def refresh_range(runtime: UsageRuntime, start: date, end: date, *, force: bool) -> RefreshOut:
    report = await refresher.refresh(runtime.sessionmaker, runtime.source, runtime.policy, start, end, force=force)
    return RefreshOut(
        start_date=start,
        end_date=end,
        days_fetched=report.days_fetched,
        upstream_reads=report.upstream_reads,
        rows=report.rows,
        attributed_rows=report.attributed_rows,
    )


async def refresh_today(runtime: UsageRuntime) -> RefreshOut:
    """The admin's "refresh now": today at once, yesterday too while it may still change."""
    now = utcnow()
    day = refresher.today(now)
    forced = await refresh_range(runtime, day, day, force=True)
    rest = await refresh_range(runtime, day - timedelta(days=1), day - timedelta(days=1), force=False)
    return RefreshOut(
        start_date=day - timedelta(days=1),
        end_date=day,
        days_fetched=forced.days_fetched + rest.days_fetched,
        upstream_reads=forced.upstream_reads + rest.upstream_reads,
        rows=forced.rows + rest.rows,
        attributed_rows=forced.attributed_rows + rest.attributed_rows,
    )


# --------------------------------------------------------------------------- analytics


@dataclass(frozen=True, slots=True)
class _Result:
    grouped: Grouped
    previous: Sums


async def _grouped(session: AsyncSession, runtime: UsageRuntime, scope: UsageScope) -> _Result:
    version = await repository.cache_version(session)
    key = (version, scope)
    cached = runtime.cache.get(key)
    if isinstance(cached, _Result):
        return cached
    grouped = await repository.grouped(session, scope)
    previous = await repository.totals(session, scope.with_range(*previous_range(scope.start, scope.end)))
    result = _Result(grouped, previous)
    runtime.cache.put(key, result)
    return result


def metrics(sums: Sums) -> dict[str, Any]:
    return {
        "requests": sums.requests,
        "successful_requests": sums.successful_requests,
        "failed_requests": sums.failed_requests,
        "prompt_tokens": sums.prompt_tokens,
        "completion_tokens": sums.completion_tokens,
        "total_tokens": sums.prompt_tokens + sums.completion_tokens,
        "spend": sums.spend,
        "avg_response_ms": sums.response_time_ms / sums.timed_requests if sums.timed_requests else None,
    }


def add(a: Sums, b: Sums) -> Sums:
    return Sums._make(x + y for x, y in zip(a, b, strict=True))


def _change(current: float, previous: float) -> float | None:
    return (current - previous) / previous * 100.0 if previous else None


K = TypeVar("K")


def _sort_key(sort: str, name: Callable[[K], str]) -> Callable[[tuple[K, Sums]], Any]:
    if sort == "name":
        return lambda item: (name(item[0]).lower(), name(item[0]))
    if sort == "total_tokens":
        return lambda item: item[1].prompt_tokens + item[1].completion_tokens
    return lambda item: getattr(item[1], sort)


def _page(
    groups: dict[K, Sums], options: BreakdownOptions, name: Callable[[K], str]
) -> tuple[list[tuple[K, Sums]], int]:
    items = sorted(groups.items(), key=_sort_key(options.sort, name), reverse=options.order == "desc")
    return items[options.offset : options.offset + options.limit], len(items)


def _external_key(prefix: str | None) -> str:
    return f"{EXTERNAL_PREFIX}{prefix}"


async def analytics(
    session: AsyncSession,
    runtime: UsageRuntime,
    filters: UsageFilters,
    options: BreakdownOptions,
    principal: Principal,
    *,
    admin: bool,
) -> AnalyticsOut:
    source_ok = await refresh_for(runtime, filters)
    scope = await build_scope(session, filters, principal, admin=admin)
    previous_start, previous_end = previous_range(scope.start, scope.end)
    result = await _grouped(session, runtime, scope)
    grouped = result.grouped
    total = ZERO
    for sums in grouped.days.values():
        total = add(total, sums)
    daily = [
        DayPoint(date=day, **metrics(grouped.days.get(day, ZERO)))
        for day in (scope.start + timedelta(days=i) for i in range((scope.end - scope.start).days + 1))
    ]
    need_all_names = options.sort == "name"

    # users
    all_user_ids = [u for u, _ in grouped.users if u is not None]
    names = await repository.usernames(session, all_user_ids) if need_all_names else {}

    def user_label(k: tuple[uuid.UUID | None, str | None]) -> str:
        return names.get(k[0], "") if k[0] is not None else f"~{k[1] or ''}"

    user_items, user_total = _page(grouped.users, options, user_label)
    if not need_all_names:
        names = await repository.usernames(session, [u for (u, _), _ in user_items if u is not None])
    by_user = [
        UserRow(
            user_id=user_id,
            username=names.get(user_id) if user_id else None,
            external=user_id is None,
            litellm_user_id=owner,
            **metrics(sums),
        )
        for (user_id, owner), sums in user_items
    ]

    # models
    model_items, model_total = _page(grouped.models, options, lambda m: m)
    model_info = await repository.model_names(session, [m for m, _ in model_items])
    by_model = [
        ModelRow(
            model=model,
            display_name=model_info[model].display_name if model in model_info else None,
            deleted=model_info[model].deleted if model in model_info else True,
            **metrics(sums),
        )
        for model, sums in model_items
    ]

    provider_items, provider_total = _page(grouped.providers, options, lambda p: p)
    endpoint_items, endpoint_total = _page(grouped.endpoints, options, lambda e: e)

    # keys
    all_key_ids = [k for k, _, _ in grouped.keys if k is not None]
    key_info = await repository.key_names(session, all_key_ids) if need_all_names else {}

    def key_label(k: tuple[uuid.UUID | None, str | None, str | None]) -> str:
        if k[0] is None:
            return _external_key(k[1])
        info = key_info.get(k[0])
        return info.alias if info else ""

    key_items, key_total = _page(grouped.keys, options, key_label)
    if not need_all_names:
        key_info = await repository.key_names(session, [k for (k, _, _), _ in key_items if k is not None])
    by_key = [_key_row(k, key_info, sums) for k, sums in key_items]

    def page(items: list[Any], count: int) -> dict[str, Any]:
        return {"items": items, "total": count, "limit": options.limit, "offset": options.offset}

    refreshed_at = max(
        (s.fetched_at for s in (await repository.day_states(session, scope.start, scope.end)).values()), default=None
    )
    return AnalyticsOut(
        start_date=scope.start,
        end_date=scope.end,
        previous_start_date=previous_start,
        previous_end_date=previous_end,
        totals=Metrics(**metrics(total)),
        previous_totals=Metrics(**metrics(result.previous)),
        trend=Trend(
            requests=_change(total.requests, result.previous.requests),
            total_tokens=_change(
                total.prompt_tokens + total.completion_tokens,
                result.previous.prompt_tokens + result.previous.completion_tokens,
            ),
            spend=_change(total.spend, result.previous.spend),
        ),
        daily=daily,
        by_user=Page[UserRow](**page(by_user, user_total)),
        by_model=Page[ModelRow](**page(by_model, model_total)),
        by_provider=Page[ProviderRow](
            **page([ProviderRow(provider=p, **metrics(s)) for p, s in provider_items], provider_total)
        ),
        by_key=Page[KeyRow](**page(by_key, key_total)),
        by_endpoint=Page[EndpointRow](
            **page([EndpointRow(endpoint=e, **metrics(s)) for e, s in endpoint_items], endpoint_total)
        ),
        refreshed_at=refreshed_at,
        source_available=source_ok,
    )


def _key_row(
    key: tuple[uuid.UUID | None, str | None, str | None], info: dict[uuid.UUID, repository.KeyName], sums: Sums
) -> KeyRow:
    key_id, prefix, owner = key
    if key_id is None:
        return KeyRow(
            key=_external_key(prefix),
            key_id=None,
            alias=None,
            status="external",
            user_id=None,
            username=None,
            litellm_user_id=owner,
            **metrics(sums),
        )
    name = info.get(key_id)
    return KeyRow(
        key=str(key_id),
        key_id=key_id,
        alias=name.alias if name else None,
        last4=name.last4 if name else None,
        status="active" if name is None or name.status == "active" else "revoked",
        user_id=name.user_id if name else None,
        username=name.username if name else None,
        purpose="playground" if name is not None and name.purpose == "playground" else "user",
        **metrics(sums),
    )


async def filter_options(
    session: AsyncSession, runtime: UsageRuntime, start_text: str, end_text: str, principal: Principal, *, admin: bool
) -> FilterOptions:
    """What is present in a range: the choices of the dashboard's filters."""
    filters = (AdminUsageFilters if admin else UsageFilters)(start_date=start_text, end_date=end_text)
    await refresh_for(runtime, filters)
    scope = await build_scope(session, filters, principal, admin=admin)
    grouped = (await _grouped(session, runtime, scope)).grouped
    names = await repository.usernames(session, [u for u, _ in grouped.users if u is not None])
    models = await repository.model_names(session, grouped.models)
    keys = await repository.key_names(session, [k for k, _, _ in grouped.keys if k is not None])
    key_rows = [_key_row(k, keys, ZERO) for k in grouped.keys]
    return FilterOptions(
        start_date=scope.start,
        end_date=scope.end,
        users=sorted(
            (
                UserOption(user_id=u, username=names.get(u) if u else None, external=u is None, litellm_user_id=o)
                for u, o in grouped.users
            ),
            key=lambda o: (o.external, (o.username or o.litellm_user_id or "").lower()),
        ),
        models=sorted(
            (
                ModelOption(
                    model=m,
                    display_name=models[m].display_name if m in models else None,
                    deleted=models[m].deleted if m in models else True,
                )
                for m in grouped.models
            ),
            key=lambda o: o.model,
        ),
        providers=sorted(grouped.providers),
        keys=sorted(
            (
                KeyOption(
                    key=r.key,
                    key_id=r.key_id,
                    alias=r.alias,
                    status=r.status,
                    user_id=r.user_id,
                    username=r.username,
                    purpose=r.purpose,
                )
                for r in key_rows
            ),
            key=lambda o: (o.status == "external", (o.username or "").lower(), (o.alias or o.key).lower()),
        ),
    )


# --------------------------------------------------------------------------- budgets and status


async def budget(session: AsyncSession, litellm: LiteLLMAdminClient, user_id: uuid.UUID) -> BudgetOut:
    """Spend against budget per key and for the user, live from LiteLLM (through the keys' service)."""
    limits = await user_limits.get_user_limits(session, litellm, user_id)
    listing, _ = await keys_service.list_keys(session, litellm, user_id=user_id, status="active")
    keys = [
        KeyBudget(
            key_id=key.id,
            alias=key.alias,
            status=key.status,
            spend=key.usage.spend if key.usage else None,
            max_budget=key.usage.max_budget if key.usage else key.max_budget,
            soft_budget=key.usage.soft_budget if key.usage else key.soft_budget,
            budget_duration=key.budget_duration,
            budget_remaining=key.usage.budget_remaining if key.usage else None,
            budget_reset_at=key.usage.budget_reset_at if key.usage else None,
        )
        for key in listing.items
    ]
    remaining = limits.max_budget - limits.spend if limits.max_budget is not None and limits.spend is not None else None
    return BudgetOut(
        user_id=user_id,
        user=UserBudget(
            spend=limits.spend,
            max_budget=limits.max_budget,
            budget_duration=limits.budget_duration,
            budget_remaining=remaining,
        ),
        keys=keys,
        live=listing.usage_available and limits.spend is not None,
    )


def _day_state(record: repository.DayRecord | None) -> DayState | None:
    if record is None:
        return None
    return DayState(
        date=record.day, fetched_at=record.fetched_at, final=record.final, rows=record.rows, fetches=record.fetches
    )


async def status(session: AsyncSession, runtime: UsageRuntime) -> UsageStatus:
    day = refresher.today(utcnow())
    states = await repository.day_states(session, day - timedelta(days=1), day)
    days, rows, last = await repository.cache_summary(session)
    return UsageStatus(
        source_configured=runtime.source is not None,
        today_ttl_seconds=int(runtime.policy.ttl.total_seconds()),
        grace_seconds=int(runtime.policy.grace.total_seconds()),
        days_cached=days,
        rows_cached=rows,
        last_refresh_at=last,
        today=_day_state(states.get(day)),
        yesterday=_day_state(states.get(day - timedelta(days=1))),
    )


def require_source(runtime: UsageRuntime) -> None:
    if runtime.source is None:
        raise UsageSourceUnavailable("LiteLLM's daily spend is not configured (LITEMAAS_LITELLM_DATABASE_URL)")


# --------------------------------------------------------------------------- exports


async def breakdown_rows(
    session: AsyncSession, runtime: UsageRuntime, scope: UsageScope, view: ExportView
) -> list[tuple[Any, ...]]:
    """One breakdown as export rows, most spend first (the same sums the analytics show)."""
    grouped = (await _grouped(session, runtime, scope)).grouped

    def by_spend(groups: dict[K, Sums]) -> list[tuple[K, Sums]]:
        return sorted(groups.items(), key=lambda item: item[1].spend, reverse=True)

    if view is ExportView.USERS:
        names = await repository.usernames(session, [u for u, _ in grouped.users if u is not None])
        return [
            (id_text(u), names.get(u) if u else None, u is None, owner, *metric_values(s))
            for (u, owner), s in by_spend(grouped.users)
        ]
    if view is ExportView.MODELS:
        info = await repository.model_names(session, grouped.models)
        return [
            (m, info[m].display_name if m in info else None, info[m].deleted if m in info else True, *metric_values(s))
            for m, s in by_spend(grouped.models)
        ]
    if view is ExportView.PROVIDERS:
        return [(p, *metric_values(s)) for p, s in by_spend(grouped.providers)]
    if view is ExportView.ENDPOINTS:
        return [(e, *metric_values(s)) for e, s in by_spend(grouped.endpoints)]
    if view is not ExportView.KEYS:
        raise RuntimeError("invariant broken: view is ExportView.KEYS")
    keys = await repository.key_names(session, [k for k, _, _ in grouped.keys if k is not None])
    rows = []
    for k, s in by_spend(grouped.keys):
        r = _key_row(k, keys, s)
        rows.append(
            (
                r.key,
                id_text(r.key_id),
                r.alias,
                r.status,
                id_text(r.user_id),
                r.username,
                r.litellm_user_id,
                *metric_values(s),
            )
        )
    return rows


# Summed usage figures, for domains that read usage through this service.
UsageSums = Sums


async def sums_by_key_and_model(
    session: AsyncSession, runtime: UsageRuntime, *, key_ids: Sequence[uuid.UUID], start: date, end: date
) -> tuple[dict[tuple[uuid.UUID, str], Sums], bool]:
    """Usage of the given keys per (key, model), the range brought up to date first; False: not fresh."""
    fresh = await ensure_fresh(runtime, start, end)
    return await repository.sums_by_key_and_model(session, key_ids, start, end), fresh
