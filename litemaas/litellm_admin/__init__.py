"""The only code that calls LiteLLM's admin API."""

from litemaas.litellm_admin.client import (
    MANAGED_BY_VALUE,
    META_KEY_ID,
    META_MANAGED_BY,
    META_USER_ID,
    LiteLLMAdminClient,
    token_hash,
)
from litemaas.litellm_admin.errors import (
    LiteLLMError,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from litemaas.litellm_admin.schemas import (
    NO_MODELS_SENTINEL,
    GeneratedKey,
    GenerateKeyRequest,
    KeyInfo,
    ModelDeployment,
    NewModelRequest,
    UserInfo,
    UserLimits,
)

__all__ = [
    "MANAGED_BY_VALUE",
    "META_KEY_ID",
    "META_MANAGED_BY",
    "META_USER_ID",
    "NO_MODELS_SENTINEL",
    "GenerateKeyRequest",
    "GeneratedKey",
    "KeyInfo",
    "LiteLLMAdminClient",
    "LiteLLMError",
    "LiteLLMNotFound",
    "LiteLLMRejected",
    "LiteLLMUnavailable",
    "ModelDeployment",
    "NewModelRequest",
    "UserInfo",
    "UserLimits",
    "token_hash",
]
