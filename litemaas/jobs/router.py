"""Admin endpoint that runs reconcile on demand (the portal's "Reconcile now" button)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal
from litemaas.db import Sessionmaker
from litemaas.jobs.reconcile import reconcile
from litemaas.litellm_admin.dependencies import LiteLLMAdmin

router = APIRouter(prefix="/admin/reconcile", tags=["operations"])


@router.post("")
async def run_reconcile(
    sessionmaker: Sessionmaker,
    litellm: LiteLLMAdmin,
    principal: Annotated[Principal, require(Permission.OPERATIONS_RUN)],
    dry_run: bool = False,
) -> dict[str, Any]:
    # Reconcile commits per user (each under that user's key lock), so it uses its own sessions.
    report = await reconcile(sessionmaker, litellm, actor=principal, dry_run=dry_run)
    return report.as_dict()
