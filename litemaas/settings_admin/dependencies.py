"""Who may change admin settings (everyone with ``admin:read`` may see them)."""

from __future__ import annotations

from typing import Annotated

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal

SettingsWriter = Annotated[Principal, require(Permission.SETTINGS_WRITE)]
"""Changes settings (admin only)."""
