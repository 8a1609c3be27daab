"""Typed views of LiteLLM admin API payloads (only the fields LiteMaaS uses; the rest is ignored)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from litemaas.kit.bounds import DurationText, Int32, SignedMoney
from litemaas.litellm_admin.access import KEY_ALLOWED_ROUTES

# LiteLLM treats an empty model list as "every model"; this sentinel name means "none".
NO_MODELS_SENTINEL = "no-default-models"


class _LiteLLMModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _json_dict(value: Any) -> Any:
    # Prisma hands some JSON columns back as strings on older LiteLLM builds.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value if value is not None else {}


class KeyLimits(BaseModel):
    """The limits LiteLLM enforces on one virtual key (``None`` = not limited), listed once.

    Reused by the key API (requests and answers), key generation here and reconcile. The types
    bound what our columns hold (422 beyond); rules within that range (at least 1, within the
    admin maximums, a known duration) are the api_keys domain's 400s.
    """

    model_config = ConfigDict(extra="forbid")

    tpm_limit: Int32 | None = None
    rpm_limit: Int32 | None = None
    max_budget: SignedMoney | None = None
    budget_duration: DurationText | None = None
    soft_budget: SignedMoney | None = None
    max_parallel_requests: Int32 | None = None

    @classmethod
    def of(cls, source: object) -> KeyLimits:
        """The limits held by ``source`` (a key row, or anything with these attributes)."""
        return KeyLimits(**{name: getattr(source, name) for name in KEY_LIMIT_FIELDS})


KEY_LIMIT_FIELDS: tuple[str, ...] = tuple(KeyLimits.model_fields)


class GenerateKeyRequest(KeyLimits):
    """Body of ``POST /key/generate`` as LiteMaaS sends it."""

    key: str = Field(repr=False)
    user_id: str
    models: list[str]
    key_alias: str | None = None
    duration: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Deny by default: the key reaches only the model API routes (litellm_admin.access).
    allowed_routes: list[str] = Field(default_factory=lambda: list(KEY_ALLOWED_ROUTES))


class GeneratedKey(_LiteLLMModel):
    """Answer of ``/key/generate``: the secret (shown once) and its hash."""

    key: str = Field(repr=False)
    token_hash: str | None = Field(default=None, alias="token_id")
    expires: datetime | None = None
    key_alias: str | None = None
    user_id: str | None = None


class KeyInfo(_LiteLLMModel):
    """One LiteLLM virtual key as LiteLLM stores it (from ``/key/list`` or ``/key/info``)."""

    token: str | None = None
    key_alias: str | None = None
    key_name: str | None = None
    user_id: str | None = None
    models: list[str] = Field(default_factory=list)
    spend: float = 0.0
    max_budget: float | None = None
    soft_budget: float | None = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_parallel_requests: int | None = None
    expires: datetime | None = None
    blocked: bool | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    last_active: datetime | None = None
    created_at: datetime | None = None
    status: str | None = None
    litellm_budget_table: dict[str, Any] | None = None
    allowed_routes: list[str] = Field(default_factory=list)

    coerce_metadata = field_validator("metadata", mode="before")(_json_dict)

    @field_validator("models", "allowed_routes", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        return value or []

    @field_validator("spend", mode="before")
    @classmethod
    def _spend(cls, value: Any) -> Any:
        return value or 0.0

    @property
    def effective_soft_budget(self) -> float | None:
        if self.soft_budget is not None:
            return self.soft_budget
        if self.litellm_budget_table:
            value = self.litellm_budget_table.get("soft_budget")
            return float(value) if value is not None else None
        return None

    @property
    def granted_models(self) -> list[str]:
        """Models the key may call, with LiteLLM's "no models" sentinel removed."""
        return [m for m in self.models if m != NO_MODELS_SENTINEL]


class KeyListPage(_LiteLLMModel):
    """One page of ``GET /key/list?return_full_object=true``."""

    keys: list[KeyInfo] = Field(default_factory=list)
    total_count: int | None = None
    current_page: int | None = None
    total_pages: int | None = None


class UserInfo(_LiteLLMModel):
    """A LiteLLM internal user."""

    user_id: str
    user_alias: str | None = None
    user_email: str | None = None
    user_role: str | None = None
    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    spend: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)

    coerce_metadata = field_validator("metadata", mode="before")(_json_dict)

    @field_validator("spend", mode="before")
    @classmethod
    def _spend(cls, value: Any) -> Any:
        return value or 0.0

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        return value or []


class UserLimits(BaseModel):
    """Per-user limits LiteLLM enforces across all of a user's keys."""

    model_config = ConfigDict(extra="forbid")

    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None


class ModelDeployment(_LiteLLMModel):
    """One deployment from ``GET /model/info``: public name, routing params (secrets removed), model_info."""

    model_name: str
    litellm_params: dict[str, Any] = Field(default_factory=dict)
    model_info: dict[str, Any] = Field(default_factory=dict)

    coerce_params = field_validator("litellm_params", "model_info", mode="before")(_json_dict)

    @property
    def deployment_id(self) -> str | None:
        value = self.model_info.get("id")
        return str(value) if value is not None else None

    @property
    def stored_in_db(self) -> bool:
        """True when the deployment lives in LiteLLM's database (editable through the model API)."""
        return bool(self.model_info.get("db_model"))


class NewModelRequest(BaseModel):
    """Body of ``POST /model/new``."""

    model_config = ConfigDict(extra="forbid")

    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any] = Field(default_factory=dict)


class DailySpendRow(NamedTuple):
    """One row of LiteLLM's daily spend at LiteMaaS's grain (a tuple: a busy day has ~10^4 of them)."""

    day: date
    # LiteLLM's token id of the key: sha256 of the secret.
    token_hash: str
    # The LiteLLM user the key belonged to when the call was made ("" when none).
    litellm_user_id: str
    # Public model name (LiteLLM's model group).
    model: str
    # LiteLLM's custom_llm_provider, e.g. "hosted_vllm".
    provider: str
    # LiteLLM's endpoint for the call type ("/chat/completions", "/embeddings"; "" for pass-through routes).
    endpoint: str
    requests: int
    successful_requests: int
    failed_requests: int
    prompt_tokens: int
    completion_tokens: int
    spend: float
    response_time_ms: int
    timed_requests: int
