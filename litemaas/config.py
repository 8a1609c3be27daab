"""One Settings class for every LiteMaaS process (environment prefix ``LITEMAAS_``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from litemaas.kit.forwarded import parse_networks

# A production secret: at least 32 characters, of which at least 8 distinct.
_SECRET_MIN_LENGTH = 32
_SECRET_MIN_DISTINCT = 8

REPO_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_GROUP_ROLES: dict[str, Literal["admin", "admin_readonly", "user"]] = {
    "litemaas-admins": "admin",
    "litemaas-readonly": "admin_readonly",
}


class Settings(BaseSettings):
    """Settings read from the environment (and an optional ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="LITEMAAS_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # --- LiteLLM proxy runtime -------------------------------------------------
    litellm_database_url: str | None = Field(
        default=None, description="PostgreSQL URL of LiteLLM's own database ('litellm')."
    )
    master_key: SecretStr | None = Field(default=None, description="LiteLLM master key (sk-...).")
    salt_key: SecretStr | None = Field(default=None, description="LiteLLM salt key for stored credentials.")
    redis_url: str | None = Field(default=None, description="Redis shared by proxy replicas (rate limits, caches).")
    proxy_host: str = "127.0.0.1"
    proxy_port: int = 4000
    proxy_workers: int = 1
    proxy_url: str = "http://127.0.0.1:4000"
    # The proxy address attendees call (shown in the portal's examples); the local proxy when unset.
    public_proxy_url: str | None = None
    # The document the portal's URL conversion example converts.
    example_document_url: str = "https://arxiv.org/pdf/2408.09869"
    litellm_config_dir: Path = REPO_ROOT / "litellm_config"
    hooks_dir: Path = REPO_ROOT / "hooks"
    # auto: native Prisma engines when installed, else the offline WebAssembly engine.
    prisma_engine: Literal["auto", "native", "offline"] = "auto"
    simulator_url: str = "http://127.0.0.1:8100"
    # `litemaas up`: ports of the embedded PostgreSQL and the simulator (backend: backend_port).
    embedded_pg_port: int = 5433
    simulator_port: int = 8100
    # With shared Redis (several replicas): how long a replica may trust its in-memory copy of a key.
    proxy_key_cache_ttl_seconds: float = 0.5
    state_dir: Path = REPO_ROOT / ".run"

    # --- LiteMaaS backend (app, data, login) -----------------------------------
    database_url: str | None = Field(
        default=None, description="LiteMaaS database, postgresql+asyncpg://... ('litemaas')."
    )
    backend_host: str = "127.0.0.1"
    backend_port: int = 8080
    backend_workers: int = 1
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="Externally visible base URL (OAuth redirect URIs)."
    )
    # Reverse proxies (IPs or CIDR blocks) whose X-Forwarded-For / X-Forwarded-Proto are believed:
    # in OpenShift, the router's addresses. Empty: no forwarded header is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool = True
    # Signs our own session tokens (HS256). Required in production; random per process in dev.
    session_secret: SecretStr | None = None
    session_ttl_seconds: int = Field(default=1800, ge=60, le=3600)
    session_cookie_name: str = "litemaas_session"
    csrf_cookie_name: str = "litemaas_csrf"
    # Off only for plain-http localhost development.
    cookie_secure: bool = True
    # Every Redis key LiteMaaS writes starts with this (Redis is shared with LiteLLM).
    redis_key_prefix: str = "litemaas:"
    # Roles are re-read per request through this cache; a change invalidates it at once.
    role_cache_seconds: float = Field(default=5.0, ge=0, le=5)
    dev_login_enabled: bool = False
    group_role_map: dict[str, Literal["admin", "admin_readonly", "user"]] = Field(
        default_factory=lambda: dict(_DEFAULT_GROUP_ROLES)
    )
    oauth_state_ttl_seconds: int = 600
    # OpenShift OAuth: an OAuthClient, or a ServiceAccount (client id
    # system:serviceaccount:NS:NAME, secret = its token, read from a file when mounted).
    openshift_api_url: str | None = None
    openshift_oauth_url: str | None = Field(
        default=None, description="OAuth server base URL; discovered from the API server when unset."
    )
    openshift_client_id: str | None = None
    openshift_client_secret: SecretStr | None = None
    openshift_client_secret_file: Path | None = None
    openshift_ca_file: Path | None = None
    # Generic OIDC (Keycloak, Entra, ...).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    oidc_groups_claim: str = "groups"
    oidc_username_claim: str = "preferred_username"
    oidc_ca_file: Path | None = None
    # Chat playground: the limits LiteLLM enforces on each user's playground key, and the
    # largest answer the page may ask for.
    playground_rpm_limit: int = Field(default=20, ge=1)
    playground_tpm_limit: int = Field(default=50_000, ge=1)
    playground_max_tokens: int = Field(default=4096, ge=1)
    # Model servers the admin console's "test connection" may reach (host, *.suffix, IP or CIDR).
    # Deny by default: only public addresses and these; in development the simulator's host too.
    model_server_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    model_server_test_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    # Admin API tokens: expiry when none is given, and the longest one may ask for.
    admin_token_default_days: int = Field(default=30, ge=1)
    admin_token_max_days: int = Field(default=365, ge=1)
    # Key cleanup (`litemaas jobs cleanup-keys`): keys older than this many days are deleted, unless
    # an admin set another limit in the console (settings document "key_cleanup").
    key_cleanup_max_age_days: int = Field(default=30, ge=1, le=3650)
    # Usage cache (copied day by day from LiteLLM's daily spend table, see litemaas/usage/).
    # Today (and yesterday until the grace period ends) is fetched again when older than the TTL;
    # once a day has ended and the grace period has passed it is fetched one last time and kept.
    usage_today_ttl_seconds: int = Field(default=60, ge=0, le=86400)
    usage_grace_seconds: int = Field(default=900, ge=0, le=7 * 86400)
    # How long a request waits for another replica's refresh before it answers from the cache.
    usage_refresh_wait_seconds: float = Field(default=30.0, gt=0, le=600)
    # Backups (`litemaas backup ...`, /admin/backups): pg_dump of both databases to S3 or a directory.
    backup_storage: Literal["local", "s3"] | None = Field(
        default=None, description="Where backups go: 'local' (LITEMAAS_BACKUP_LOCAL_DIR) or 's3'."
    )
    backup_local_dir: Path | None = Field(default=None, description="Directory holding backups (storage 'local').")
    backup_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (unset: AWS's endpoint for the region)."
    )
    backup_s3_bucket: str | None = Field(default=None, description="Bucket holding backups (storage 's3').")
    backup_s3_prefix: str = "litemaas-backups"
    backup_s3_region: str = "us-east-1"
    backup_s3_access_key_id: SecretStr | None = None
    backup_s3_secret_access_key: SecretStr | None = None
    # Backups newer than this many months are kept by `litemaas backup prune`.
    backup_retention_months: int = Field(default=12, ge=1, le=1200)
    # A directory holding pg_dump/pg_restore to prefer over the ones found on the machine.
    backup_pg_bin_dir: Path | None = None
    # Longest a pg_dump, pg_restore or upload may take before the operation fails.
    backup_timeout_seconds: int = Field(default=3600, ge=10)

    @field_validator("model_server_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """A comma-separated list in the environment, or a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        """A comma-separated list in the environment, or a JSON list; each entry an IP or CIDR."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
        if isinstance(value, list):
            value = [str(entry).strip() for entry in value]
            parse_networks(value)
        return value

    @model_validator(mode="after")
    def _token_default_within_maximum(self) -> Settings:
        if self.admin_token_default_days > self.admin_token_max_days:
            raise ValueError("LITEMAAS_ADMIN_TOKEN_DEFAULT_DAYS must not exceed LITEMAAS_ADMIN_TOKEN_MAX_DAYS")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment != "production":
            return self
        problems: list[str] = []
        if self.dev_login_enabled:
            problems.append("LITEMAAS_DEV_LOGIN_ENABLED must be false in production")
        if not self.cookie_secure:
            problems.append("LITEMAAS_COOKIE_SECURE must be true in production")
        if self.session_secret is None:
            problems.append("LITEMAAS_SESSION_SECRET is required in production")
        for name in ("session_secret", "master_key", "salt_key", "openshift_client_secret", "oidc_client_secret"):
            value = getattr(self, name)
            if value is not None and is_placeholder_secret(value.get_secret_value()):
                problems.append(f"LITEMAAS_{name.upper()} is a placeholder or shorter than 32 characters")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self


_PLACEHOLDER_WORDS = ("change", "placeholder", "example", "secret", "password", "dummy", "sk-1234", "xxxx")


def is_placeholder_secret(value: str) -> bool:
    """True for secrets that are short or obviously a template value."""
    lowered = value.lower()
    return (
        len(value) < _SECRET_MIN_LENGTH
        or len(set(value)) < _SECRET_MIN_DISTINCT
        or any(w in lowered for w in _PLACEHOLDER_WORDS)
    )


class MissingSettings(RuntimeError):
    """Settings a process cannot start without are not set (the message names the variables)."""


def env_name(field: str) -> str:
    """The environment variable of a settings field, e.g. ``database_url`` -> ``LITEMAAS_DATABASE_URL``."""
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def require_settings(settings: Settings, *fields: str, purpose: str) -> None:
    """Raise ``MissingSettings`` naming every unset field of ``fields`` and its environment variable.

    Called once where a process starts (the app's lifespan, a command's runner), so a missing
    value is one clear message at start, not a failure at the first request that needs it.
    """
    missing = [name for name in fields if getattr(settings, name) in (None, "")]
    if not missing:
        return
    described = []
    for name in missing:
        description = Settings.model_fields[name].description
        described.append(f"{env_name(name)} ({description.rstrip('.')})" if description else env_name(name))
    raise MissingSettings(f"{purpose} cannot start; not set: {'; '.join(described)}")


@lru_cache
def get_settings() -> Settings:
    return Settings()
