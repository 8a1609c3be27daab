"""Who may see and change users."""

from __future__ import annotations

from typing import Annotated

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal

UserWriter = Annotated[Principal, require(Permission.USERS_WRITE)]
"""Changes a user's manual role or activation (admin only)."""
