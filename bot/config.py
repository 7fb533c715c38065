"""Settings from the environment or `.env`, validated once at start."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.matching.decision import Thresholds

_DEFAULTS = Thresholds()


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "resident-bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    knowledge_dir: Path | None = Field(None, description="Knowledge base directory (default: ./knowledge)")
    intents_dir: Path | None = Field(None, description="Small-talk intents directory (default: beside knowledge)")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in the data directory")
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the default SQLite file lives")
    user_id_salt: SecretStr = Field(SecretStr(""), description="Secret salt for hashing residents' ids")
    answer_threshold: float = Field(_DEFAULTS.answer, ge=0, le=1, description="Score needed to answer")
    answer_margin: float = Field(_DEFAULTS.margin, ge=0, le=10,
                                 description="Lead in log-odds over the next entry needed to answer")
    clarify_threshold: float = Field(_DEFAULTS.clarify, ge=0, le=1, description="Score needed to offer a choice")
    nearby_threshold: float = Field(_DEFAULTS.nearby, ge=0, le=1, description="Score to suggest on fallback")
    max_message_chars: int = Field(300, ge=20, le=100_000, description="Longer messages are cut for matching")
    context_ttl_seconds: int = Field(1800, ge=0, description="How long follow-up context lasts")
    retention_days: int = Field(180, ge=1, description="Default age for `db purge`")

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        if v and "://" not in v:
            raise ValueError("must look like postgresql+psycopg://user@host:5432/db or sqlite:///path")
        return v

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"sqlite:///{self.data_dir / 'resident-bot.sqlite3'}"

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(answer=self.answer_threshold, margin=self.answer_margin,
                          clarify=self.clarify_threshold, nearby=self.nearby_threshold)


class SettingsError(Exception):
    """One clear line naming the setting that is wrong."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
