"""The only code that calls LiteLLM's admin API."""

from litemaas.litellm_admin.access import (
    KEY_ALLOWED_ROUTES,
    LITELLM_USER_ROLE,
    USER_KEY_ROUTES,
    has_key_restriction,
)
from litemaas.litellm_admin.client import (
    MANAGED_BY_VALUE,
    META_KEY_ID,
    META_MANAGED_BY,
    META_USER_ID,
    LiteLLMAdminClient,
    token_hash,
)
from litemaas.litellm_admin.daily_spend import LiteLLMDailySpend
from litemaas.litellm_admin.errors import (
    LiteLLMError,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from litemaas.litellm_admin.schemas import (
    KEY_LIMIT_FIELDS,
    NO_MODELS_SENTINEL,
    DailySpendRow,
    GeneratedKey,
    GenerateKeyRequest,
    KeyInfo,
    KeyLimits,
    ModelDeployment,
    NewModelRequest,
    UserInfo,
    UserLimits,
)

__all__ = [
    "KEY_ALLOWED_ROUTES",
    "KEY_LIMIT_FIELDS",
    "LITELLM_USER_ROLE",
    "MANAGED_BY_VALUE",
    "META_KEY_ID",
    "META_MANAGED_BY",
    "META_USER_ID",
    "NO_MODELS_SENTINEL",
    "USER_KEY_ROUTES",
    "DailySpendRow",
    "GenerateKeyRequest",
    "GeneratedKey",
    "KeyInfo",
    "KeyLimits",
    "LiteLLMAdminClient",
    "LiteLLMDailySpend",
    "LiteLLMError",
    "LiteLLMNotFound",
    "LiteLLMRejected",
    "LiteLLMUnavailable",
    "ModelDeployment",
    "NewModelRequest",
    "UserInfo",
    "UserLimits",
    "has_key_restriction",
    "token_hash",
]
