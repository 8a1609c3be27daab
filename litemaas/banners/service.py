"""Banner rules: validation, ordering, who sees which banner when, dismissals (admin changes audited)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.auth.permissions import Role
from litemaas.banners import repository
from litemaas.banners.errors import BannerNotFound, InvalidBanner, NotDismissible
from litemaas.banners.markdown import render_message, safe_link
from litemaas.banners.schemas import (
    FORMATS,
    SEVERITIES,
    BannerIn,
    BannerOut,
    BannerStatus,
    LiveBanner,
    VisibleBanner,
)
from litemaas.db import after_commit
from litemaas.kit.app_state import AppSlot
from litemaas.kit.time import utcnow
from litemaas.kit.ttl_cache import TtlValue
from litemaas.models.banner import Banner

# How long a replica shows the banners it read: a change made on another replica shows within this.
CACHE_SECONDS = 5.0

BannerCache = TtlValue[tuple[LiveBanner, ...]]
BANNER_CACHE = AppSlot[BannerCache]("banner_cache")

_ROLES = tuple(role.value for role in Role)


def new_cache() -> BannerCache:
    return TtlValue(CACHE_SECONDS)


def _utc(value: datetime | None, field: str) -> datetime | None:
    """The time in UTC (one without a zone is read as UTC); 400 naming ``field`` outside the calendar."""
    if value is None:
        return None
    try:
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    except OverflowError:
        raise InvalidBanner(f"{field} is outside the supported calendar (years 1 to 9999 UTC)", field=field) from None


def _printable(value: str, field: str) -> str:
    text = value.strip().replace("\r\n", "\n")
    if not text:
        raise InvalidBanner(f"{field} must not be blank", field=field)
    if any((not ch.isprintable()) and ch != "\n" for ch in text):
        raise InvalidBanner(f"{field} must be printable text", field=field)
    return text


def validated(body: BannerIn) -> BannerIn:
    """``body`` with its text trimmed, times in UTC and roles deduplicated; ``InvalidBanner`` names a bad field."""
    message = _printable(body.message, "message")
    if body.message_format not in FORMATS:
        raise InvalidBanner(f"message_format must be one of {', '.join(FORMATS)}", field="message_format")
    if body.severity not in SEVERITIES:
        raise InvalidBanner(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    link_url = body.link_url.strip() if body.link_url and body.link_url.strip() else None
    if link_url is not None and safe_link(link_url) is None:
        raise InvalidBanner("link_url must be an absolute http:// or https:// URL", field="link_url")
    link_text = _printable(body.link_text, "link_text") if body.link_text and body.link_text.strip() else None
    if link_text is not None and link_url is None:
        raise InvalidBanner("link_text needs a link_url", field="link_text")
    starts_at, ends_at = _utc(body.starts_at, "starts_at"), _utc(body.ends_at, "ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidBanner("ends_at must be after starts_at", field="ends_at")
    unknown = [role for role in body.target_roles if role not in _ROLES]
    if unknown:
        raise InvalidBanner(f"unknown role {unknown[0]!r}: use {', '.join(_ROLES)}", field="target_roles")
    if not body.target_roles:
        raise InvalidBanner("target_roles must name at least one role", field="target_roles")
    roles = [role for role in _ROLES if role in body.target_roles]
    return body.model_copy(
        update={
            "message": message,
            "link_url": link_url,
            "link_text": link_text,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "target_roles": roles,
        }
    )


def _status(banner: Banner, now: datetime) -> BannerStatus:
    if not banner.enabled:
        return "disabled"
    if banner.ends_at is not None and banner.ends_at <= now:
        return "expired"
    if banner.starts_at is not None and banner.starts_at > now:
        return "scheduled"
    return "active"


def _out(banner: Banner, now: datetime | None = None) -> BannerOut:
    return BannerOut(
        id=banner.id,
        message=banner.message,
        message_format=banner.message_format,
        message_html=str(render_message(banner.message, banner.message_format)),
        severity=banner.severity,
        link_url=banner.link_url,
        link_text=banner.link_text,
        starts_at=banner.starts_at,
        ends_at=banner.ends_at,
        target_roles=list(banner.target_roles),
        dismissible=banner.dismissible,
        enabled=banner.enabled,
        position=banner.position,
        status=_status(banner, now or utcnow()),
        created_at=banner.created_at,
        updated_at=banner.updated_at,
    )


def _fields(body: BannerIn) -> dict[str, Any]:
    return body.model_dump()


def _audited(banner: Banner) -> dict[str, Any]:
    return {
        "message": banner.message,
        "message_format": banner.message_format,
        "severity": banner.severity,
        "link_url": banner.link_url,
        "link_text": banner.link_text,
        "starts_at": banner.starts_at,
        "ends_at": banner.ends_at,
        "target_roles": list(banner.target_roles),
        "dismissible": banner.dismissible,
        "enabled": banner.enabled,
        "position": banner.position,
    }


def _forget_after_commit(session: AsyncSession, cache: BannerCache | None) -> None:
    if cache is not None:
        after_commit(session, cache.invalidate)


async def list_banners(session: AsyncSession) -> list[BannerOut]:
    now = utcnow()
    return [_out(banner, now) for banner in await repository.list_all(session)]


async def _get(session: AsyncSession, banner_id: uuid.UUID) -> Banner:
    banner = await repository.get(session, banner_id)
    if banner is None:
        raise BannerNotFound(f"no banner {banner_id}", field="banner_id")
    return banner


async def get_banner(session: AsyncSession, banner_id: uuid.UUID) -> BannerOut:
    return _out(await _get(session, banner_id))


async def create_banner(
    session: AsyncSession, *, actor: Actor, body: BannerIn, cache: BannerCache | None = None
) -> BannerOut:
    """A new banner, shown after the existing ones."""
    clean = validated(body)
    banner = Banner(**_fields(clean), position=await repository.next_position(session), created_by_id=actor.user_id)
    banner = await repository.add(session, banner)
    await audit.record(
        session, actor=actor, action="banner.create", target_type="banner", target_id=banner.id, after=_audited(banner)
    )
    _forget_after_commit(session, cache)
    return _out(banner)


async def update_banner(
    session: AsyncSession, *, actor: Actor, banner_id: uuid.UUID, body: BannerIn, cache: BannerCache | None = None
) -> BannerOut:
    """Replace a banner's fields (its place in the order stays). A new message is shown again to
    those who dismissed the old one."""
    clean = validated(body)
    banner = await _get(session, banner_id)
    before = _audited(banner)
    message_changed = (banner.message, banner.message_format) != (clean.message, clean.message_format)
    for name, value in _fields(clean).items():
        setattr(banner, name, value)
    banner = await repository.save(session, banner)
    if message_changed:
        await repository.forget_dismissals(session, banner.id)
    await audit.record(
        session,
        actor=actor,
        action="banner.update",
        target_type="banner",
        target_id=banner.id,
        before=before,
        after=_audited(banner),
    )
    _forget_after_commit(session, cache)
    return _out(banner)


async def delete_banner(
    session: AsyncSession, *, actor: Actor, banner_id: uuid.UUID, cache: BannerCache | None = None
) -> None:
    banner = await _get(session, banner_id)
    before = _audited(banner)
    await repository.remove(session, banner)
    await audit.record(
        session, actor=actor, action="banner.delete", target_type="banner", target_id=banner_id, before=before
    )
    _forget_after_commit(session, cache)


async def reorder(
    session: AsyncSession, *, actor: Actor, ids: list[uuid.UUID], cache: BannerCache | None = None
) -> list[BannerOut]:
    """Put the listed banners first, in the given order; the others follow in their current order."""
    current = list(await repository.list_all(session))
    known = {banner.id for banner in current}
    for index, banner_id in enumerate(ids):
        if banner_id not in known:
            raise InvalidBanner(f"no banner {banner_id}", field=f"ids.{index}")
    if len(set(ids)) != len(ids):
        raise InvalidBanner("a banner is listed twice", field="ids")
    before = [str(banner.id) for banner in current]
    order = ids + [banner.id for banner in current if banner.id not in set(ids)]
    await repository.set_positions(session, order)
    await audit.record(
        session,
        actor=actor,
        action="banner.reorder",
        target_type="banner",
        target_id=None,
        before={"order": before},
        after={"order": [str(i) for i in order]},
    )
    _forget_after_commit(session, cache)
    return await list_banners(session)


def _live(banner: Banner) -> LiveBanner:
    return LiveBanner(
        banner=VisibleBanner(
            id=banner.id,
            message_html=str(render_message(banner.message, banner.message_format)),
            severity=banner.severity,
            link_url=banner.link_url,
            link_text=banner.link_text,
            dismissible=banner.dismissible,
        ),
        target_roles=frozenset(banner.target_roles),
        starts_at=banner.starts_at,
        ends_at=banner.ends_at,
    )


async def _load_live(session: AsyncSession) -> tuple[LiveBanner, ...]:
    return tuple(_live(banner) for banner in await repository.live(session, utcnow()))


async def banners_for(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    role: Role,
    cache: BannerCache | None = None,
    now: datetime | None = None,
) -> list[VisibleBanner]:
    """The banners a user sees now, in order: targeted at their role, in their window, not dismissed.

    With ``cache`` the list of live banners is at most ``CACHE_SECONDS`` old; the dismissals are
    read each time (only when a dismissible banner is shown).
    """
    live = await cache.get(lambda: _load_live(session)) if cache is not None else await _load_live(session)
    moment = now or utcnow()
    shown = [
        entry.banner
        for entry in live
        if role.value in entry.target_roles
        and (entry.starts_at is None or entry.starts_at <= moment)
        and (entry.ends_at is None or entry.ends_at > moment)
    ]
    dismissible = [banner.id for banner in shown if banner.dismissible]
    if not dismissible:
        return shown
    hidden = await repository.dismissed(session, user_id, dismissible)
    return [banner for banner in shown if banner.id not in hidden]


async def dismiss(session: AsyncSession, *, user_id: uuid.UUID, banner_id: uuid.UUID) -> None:
    """Remember that the user dismissed the banner (idempotent); a banner that cannot be dismissed is refused."""
    banner = await _get(session, banner_id)
    if not banner.dismissible:
        raise NotDismissible("this banner cannot be dismissed", field="banner_id")
    await repository.dismiss(session, user_id, banner.id)
