"""Banner routes: a user's banners and dismissals; the admin list, create, edit, reorder, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from litemaas.auth.dependencies import CurrentPrincipal, require
from litemaas.auth.permissions import Permission
from litemaas.banners import service
from litemaas.banners.dependencies import BannerWriter, PortalBannerCache
from litemaas.banners.schemas import BannerIn, BannerOrderIn, BannerOut, VisibleBanner
from litemaas.db import Session

router = APIRouter(prefix="/banners", tags=["banners"])
admin_router = APIRouter(prefix="/admin/banners", tags=["banners"])


@router.get("", response_model=list[VisibleBanner])
async def my_banners(session: Session, principal: CurrentPrincipal) -> list[VisibleBanner]:
    """The banners the caller sees now (their role, in the window, not dismissed), in order."""
    return await service.banners_for(session, user_id=principal.user_id, role=principal.role)


@router.post("/{banner_id}/dismiss", status_code=204)
async def dismiss_banner(banner_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> Response:
    """Stop showing a dismissible banner to the caller (remembered for their account)."""
    await service.dismiss(session, user_id=principal.user_id, banner_id=banner_id)
    return Response(status_code=204)


@admin_router.get("", response_model=list[BannerOut], dependencies=[require(Permission.ADMIN_READ)])
async def list_banners(session: Session) -> list[BannerOut]:
    """Every banner in display order, with its status (active, scheduled, expired, disabled)."""
    return await service.list_banners(session)


@admin_router.post("", response_model=BannerOut, status_code=201)
async def create_banner(
    session: Session, body: BannerIn, principal: BannerWriter, cache: PortalBannerCache
) -> BannerOut:
    return await service.create_banner(session, actor=principal, body=body, cache=cache)


@admin_router.put("/order", response_model=list[BannerOut])
async def reorder_banners(
    session: Session, body: BannerOrderIn, principal: BannerWriter, cache: PortalBannerCache
) -> list[BannerOut]:
    """Show the listed banners first, in this order; the others follow in their current order."""
    return await service.reorder(session, actor=principal, ids=body.ids, cache=cache)


@admin_router.get("/{banner_id}", response_model=BannerOut, dependencies=[require(Permission.ADMIN_READ)])
async def get_banner(banner_id: uuid.UUID, session: Session) -> BannerOut:
    return await service.get_banner(session, banner_id)


@admin_router.put("/{banner_id}", response_model=BannerOut)
async def update_banner(
    banner_id: uuid.UUID, session: Session, body: BannerIn, principal: BannerWriter, cache: PortalBannerCache
) -> BannerOut:
    """Replace a banner's fields; a changed message is shown again to those who dismissed it."""
    return await service.update_banner(session, actor=principal, banner_id=banner_id, body=body, cache=cache)


@admin_router.delete("/{banner_id}", status_code=204)
async def delete_banner(
    banner_id: uuid.UUID, session: Session, principal: BannerWriter, cache: PortalBannerCache
) -> Response:
    await service.delete_banner(session, actor=principal, banner_id=banner_id, cache=cache)
    return Response(status_code=204)
