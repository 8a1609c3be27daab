"""Every SQLAlchemy table, imported here so Alembic autogenerate sees them all.

One file per table. Add new model modules to the imports below.
"""

from litemaas.db import Base
from litemaas.models.admin_setting import AdminSetting
from litemaas.models.admin_token import AdminToken
from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_model import ApiKeyModel
from litemaas.models.api_key_token import ApiKeyToken
from litemaas.models.audit_event import AuditEvent
from litemaas.models.banner import Banner
from litemaas.models.banner_dismissal import BannerDismissal
from litemaas.models.branding import Branding
from litemaas.models.branding_image import BrandingImage
from litemaas.models.catalog_model import CatalogModel
from litemaas.models.event import Event
from litemaas.models.event_host import EventHost
from litemaas.models.event_model import EventModel
from litemaas.models.event_seat import EventSeat
from litemaas.models.job_run import JobRun
from litemaas.models.key_cleanup_exemption import KeyCleanupExemption
from litemaas.models.oauth_state import OAuthState
from litemaas.models.revoked_session import RevokedSession
from litemaas.models.subscription import Subscription
from litemaas.models.subscription_history import SubscriptionHistory
from litemaas.models.usage_daily import UsageDaily
from litemaas.models.usage_day import UsageDay
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit

__all__ = [
    "AdminSetting",
    "AdminToken",
    "ApiKey",
    "ApiKeyModel",
    "ApiKeyToken",
    "AuditEvent",
    "Banner",
    "BannerDismissal",
    "Base",
    "Branding",
    "BrandingImage",
    "CatalogModel",
    "Event",
    "EventHost",
    "EventModel",
    "EventSeat",
    "JobRun",
    "KeyCleanupExemption",
    "OAuthState",
    "RevokedSession",
    "Subscription",
    "SubscriptionHistory",
    "UsageDaily",
    "UsageDay",
    "User",
    "UserLimit",
]
