"""Settings from the environment or `.env`, validated once at start."""

from __future__ import annotations

import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.matching.decision import Thresholds

_DEFAULTS = Thresholds()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "resident-bot"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "resident-bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    knowledge_dir: Path | None = Field(None, description="Knowledge base directory (default: ./knowledge)")
    intents_dir: Path | None = Field(None, description="Small-talk intents directory (default: beside knowledge)")
    labelled_questions: Path | None = Field(None, description="Labelled question set for `eval` and `kb impact` "
                                            "(default: tests/data/labelled_questions.yaml of a clone)")
    conversations_dir: Path | None = Field(None, description="Conversation tests for `replay` and `kb impact` "
                                           "(default: tests/conversations of a clone)")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in the data directory")
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the default SQLite file lives")
    db_connect_timeout: float = Field(3, gt=0, le=300, description="Seconds to wait for a new database connection")
    db_statement_timeout: float = Field(5, gt=0, le=3600,
                                        description="Seconds a database statement of the running bot may take")
    db_pool_timeout: float = Field(2, gt=0, le=300, description="Seconds to wait for a free pooled connection")
    context_read_timeout: float = Field(0.5, gt=0, le=30, description="Seconds a message waits for its "
                                        "conversation context before it is answered without it")
    user_id_salt: SecretStr = Field(SecretStr(""), description="Secret salt for hashing residents' ids")
    answer_threshold: float = Field(_DEFAULTS.answer, ge=0, le=1, description="Score needed to answer")
    answer_margin: float = Field(_DEFAULTS.margin, ge=0, le=10,
                                 description="Lead in log-odds over the next entry needed to answer")
    clarify_threshold: float = Field(_DEFAULTS.clarify, ge=0, le=1, description="Score needed to offer a choice")
    nearby_threshold: float = Field(_DEFAULTS.nearby, ge=0, le=1, description="Score to suggest on fallback")
    semantic_model: str = Field("auto", description="Sentence model for paraphrases: auto (e5-small if "
                                "installed), off, use-multilingual, e5-small, m3e-small, or a BERT model directory")
    semantic_model_sha256: str = Field("", pattern="^([0-9a-fA-F]{64})?$",
                                       description="sha256 of a model directory's weights file, checked at load")
    numeric_threads: int = Field(1, ge=1, le=64, description="Threads for numpy's BLAS and the sentence model")
    cache_dir: Path = Field(default_factory=default_cache_dir,
                            description="Where knowledge-base sentence vectors and indexes are cached (safe to delete)")
    max_message_chars: int = Field(300, ge=20, le=100_000, description="Longer messages are cut for matching")
    context_ttl_seconds: int = Field(1800, ge=0, description="How long follow-up context lasts")
    retention_days: int = Field(180, ge=1, description="Default age for `db purge`")
    telegram_bot_token: SecretStr = Field(SecretStr(""), description="Bot token from @BotFather")
    telegram_api_base_url: str = Field("https://api.telegram.org/bot", description="Bot API base URL")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field((), description="Telegram user ids of administrators")
    webhook_url: str = Field("", description="Public HTTPS URL of /telegram/webhook; empty means no webhook")
    webhook_secret: SecretStr = Field(SecretStr(""), description="Secret Telegram sends with every webhook call")
    api_token: SecretStr = Field(SecretStr(""), description="One bearer token for /api/v1 (named default); "
                                 "API_TOKENS names several")
    api_tokens: Annotated[tuple[tuple[str, SecretStr], ...], NoDecode] = Field(
        (), description="Bearer tokens for /api/v1 as name:token pairs, comma separated; each gateway's users "
                        "are its own")
    api_rate_per_minute: int = Field(600, ge=1, description="Requests per minute one API token, and one client "
                                     "address, may send in all")
    redis_url: str = Field("", description="Redis for rate limits shared by replicas; empty means in-process")
    redis_timeout_seconds: float = Field(0.25, gt=0, le=5, description="Longest wait for one Redis round trip "
                                         "before limits are kept per process for a while")
    rate_limit_per_minute: int = Field(20, ge=1, description="Messages a resident may send per minute")
    telegram_max_rate: float = Field(30, ge=0, description="Messages per second the bot sends overall "
                                     "(Telegram's limit; 0 turns PTB's AIORateLimiter off)")
    telegram_timeout: float = Field(10, gt=0, description="Seconds to wait for the Bot API before giving up")
    wechat_token: SecretStr = Field(SecretStr(""), description="WeChat Official Account server Token (3-32 letters "
                                    "or digits, as entered in 服务器配置); set: `serve` mounts /wechat")
    wechat_app_id: str = Field("", pattern="^[A-Za-z0-9_-]{0,64}$",
                               description="The official account's AppID (wx...); needed for safe mode and for "
                               "answers sent late through the customer-service API")
    wechat_app_secret: SecretStr = Field(SecretStr(""), description="The official account's AppSecret: late answers "
                                         "go out through the customer-service API with it")
    wechat_aes_key: SecretStr = Field(SecretStr(""), description="EncodingAESKey (43 characters) for safe mode "
                                      "(安全模式); empty: plaintext mode only")
    wechat_api_base_url: str = Field("https://api.weixin.qq.com", description="WeChat API base URL; tests point "
                                     "it at a local stub")
    wechat_admin_openids: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="OpenIDs of the official account's followers allowed /reload, /stats, /unanswered")
    wechat_reply_seconds: float = Field(4.0, ge=0.2, le=4.5, description="How long a passive reply may take; "
                                        "a later answer goes through the customer-service API (WeChat waits 5 s)")
    webpage_enabled: bool = Field(True, description="`serve` shows the residents' chat page at / (off: no page)")
    webpage_rate_per_minute: int = Field(120, ge=1, description="Messages per minute the chat page accepts from "
                                         "one client address, all its browser sessions together")
    webpage_reply_timeout: float = Field(20.0, ge=0.1, le=300, description="Seconds the chat page waits for a "
                                         "reply before it offers 重试 (a retry of the same message is answered once)")
    webpage_frame_ancestors: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Origins (https://host) allowed to show the chat page in a frame, besides the page's own")
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8080, ge=1, le=65535, description="Port `serve` listens on")
    log_format: str = Field("auto", pattern="^(auto|json|text)$",
                            description="auto: JSON lines when not on a terminal; json; text")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Larger HTTP request bodies get 413")

    @field_validator("data_dir", "cache_dir", "knowledge_dir", "intents_dir", "labelled_questions",
                     "conversations_dir", mode="before")
    @classmethod
    def _empty_path_is_default(cls, v: object, info) -> object:
        """`CACHE_DIR=` in a .env file means "not set", not the current directory (a 1 MB vectors file
        landed in a clone that way)."""
        if isinstance(v, str) and not v.strip():
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return v

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip() for p in v.replace(";", ",").split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("must be Telegram user ids (numbers) separated by commas, e.g. 12345,67890")
            return tuple(int(p) for p in parts)
        return v

    @field_validator("wechat_admin_openids", mode="before")
    @classmethod
    def _split_openids(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip() for p in v.replace(";", ",").split(",") if p.strip()]
            if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", p) for p in parts):
                raise ValueError("must be OpenIDs (letters, digits, _ and -) separated by commas")
            return tuple(parts)
        return v

    @field_validator("webpage_frame_ancestors", mode="before")
    @classmethod
    def _split_origins(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip().rstrip("/") for p in re.split(r"[\s,]+", v) if p.strip()]
            bad = [p for p in parts if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", p)]
            if bad:
                raise ValueError(f"must be origins such as https://www.example.gov.cn, comma separated, not {bad[0]!r}")
            return tuple(parts)
        return v

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, v: object) -> object:
        if not isinstance(v, str):
            return v
        pairs = []
        for part in (p.strip() for p in v.split(",")):
            if not part:
                continue
            name, sep, token = part.partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", name.strip()) or not token.strip():
                raise ValueError("must be name:token pairs separated by commas, e.g. wechat:4f9c...,portal:81ab... "
                                 "(names: letters, digits, _ . -)")
            pairs.append((name.strip(), SecretStr(token.strip())))
        names = [n for n, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError("each token needs its own name")
        if len({t.get_secret_value() for _, t in pairs}) != len(pairs):
            raise ValueError("each name needs its own token")
        return tuple(pairs)

    @property
    def bearer_tokens(self) -> dict[str, str]:
        """name → token for /api/v1: API_TOKENS, and API_TOKEN as the token named "default"."""
        tokens = {name: token.get_secret_value() for name, token in self.api_tokens}
        if self.api_token.get_secret_value():
            tokens.setdefault("default", self.api_token.get_secret_value())
        return tokens

    @field_validator("telegram_api_base_url", "webhook_url", "wechat_api_base_url")
    @classmethod
    def _check_http(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v

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
    def labelled_questions_path(self) -> Path:
        return _existing(self.labelled_questions, "LABELLED_QUESTIONS", Path("tests/data/labelled_questions.yaml"))

    @property
    def conversations_path(self) -> Path:
        return _existing(self.conversations_dir, "CONVERSATIONS_DIR", Path("tests/conversations"))

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(answer=self.answer_threshold, margin=self.answer_margin,
                          clarify=self.clarify_threshold, nearby=self.nearby_threshold)


# Where the source clone keeps its files; an installed package (the Docker image) has no tests/ beside it.
_CLONE = Path(__file__).resolve().parents[1]


def _existing(setting: Path | None, name: str, in_clone: Path) -> Path:
    """The path a setting names, else the clone's file (from the working directory or beside the package);
    one line naming the setting when neither exists."""
    if setting is not None:
        if not setting.exists():
            raise SettingsError(f"{name}={setting}: no such file or directory")
        return setting
    for root in (Path.cwd(), _CLONE):
        if (root / in_clone).exists():
            return root / in_clone
    raise SettingsError(f"{name} is not set and there is no {in_clone} here (an installed package has no tests/): "
                        f"set {name}, or run from a clone of the repository")


def describe_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(NAME, effective value with secrets masked, meaning) for every setting; a default that is computed
    (knowledge directory, database, data sets) is shown as what it resolves to."""
    rows = []
    resolved = _resolved(settings)
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name in resolved:
            shown = resolved[name]
        elif isinstance(value, SecretStr):
            shown = "(set, hidden)" if value.get_secret_value() else "(not set)"
        elif name == "redis_url" and value:
            shown = mask_url(str(value))
        elif name == "api_tokens":
            shown = ",".join(f"{n}:(hidden)" for n, _ in value) or "(not set)"
        elif isinstance(value, tuple):
            shown = ",".join(map(str, value)) or "(none)"
        else:
            shown = "" if value is None else str(value)
        rows.append((name.upper(), shown, field.description or ""))
    return rows


def _resolved(settings: Settings) -> dict[str, str]:
    from bot.knowledge.loader import default_intents_dir, default_knowledge_dir

    knowledge = settings.knowledge_dir or default_knowledge_dir()
    out = {
        "knowledge_dir": str(knowledge),
        "intents_dir": str(settings.intents_dir or default_intents_dir(knowledge)),
        "database_url": mask_url(settings.effective_database_url),
    }
    for name, prop in (("labelled_questions", "labelled_questions_path"), ("conversations_dir", "conversations_path")):
        try:
            out[name] = str(getattr(settings, prop))
        except SettingsError:
            out[name] = "(none: not set, and no clone here)"
    return out


def mask_url(url: str) -> str:
    """postgresql://user:secret@host/db → postgresql://user:***@host/db"""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url


class SettingsError(Exception):
    """One clear line naming the setting that is wrong."""


def require_salt(settings: Settings) -> None:
    """Services hash residents' ids with USER_ID_SALT; with an empty key the hashes in every log line and
    record could be reversed by trying every id."""
    if not settings.user_id_salt.get_secret_value():
        raise SettingsError("USER_ID_SALT is not set: residents' ids would be hashed without a secret; set it once "
                            "to a long random string (python3 -c 'import secrets; print(secrets.token_hex(32))') "
                            "and keep it")


SALT_FILE = "user-id-salt"


def local_salt(data_dir: Path) -> str:
    """The console's salt when USER_ID_SALT is not set: made once, random, kept in the data directory
    readable by its owner only, so hashes stay comparable from one session to the next."""
    path = data_dir / SALT_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(salt + "\n")
    return salt


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
