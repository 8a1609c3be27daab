"""One Settings class for every LiteMaaS process (environment prefix ``LITEMAAS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    litellm_config_dir: Path = REPO_ROOT / "litellm_config"
    hooks_dir: Path = REPO_ROOT / "hooks"
    # auto: native Prisma engines when installed, else the offline WebAssembly engine.
    prisma_engine: Literal["auto", "native", "offline"] = "auto"
    simulator_url: str = "http://127.0.0.1:8100"
    state_dir: Path = REPO_ROOT / ".run"


@lru_cache
def get_settings() -> Settings:
    return Settings()
