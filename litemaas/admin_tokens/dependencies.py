"""Who may see and manage admin API tokens."""

from __future__ import annotations

from typing import Annotated

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal

TokenReader = Annotated[Principal, require(Permission.ADMIN_READ)]
"""Lists tokens (admin and admin_readonly; the listing is audited)."""
TokenManager = Annotated[Principal, require(Permission.TOKENS_MANAGE)]
"""Creates and revokes tokens."""
