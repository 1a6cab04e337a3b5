"""Runtime settings, read from the environment when an app starts (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where Learning Loop keeps its state.

    With nothing set, everything lives under `./.learning_loop` (SQLite database and Dagster
    home). `LEARNING_LOOP_DATABASE_URL` moves the product tables (e.g. to PostgreSQL) and
    `DAGSTER_HOME` moves the Dagster instance.
    """

    # Only the documented variable names count (a field named `home` must not read $HOME).
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=False)

    home: Path = Field(default=Path(".learning_loop"), alias="LEARNING_LOOP_HOME")
    database_url: str | None = Field(default=None, alias="LEARNING_LOOP_DATABASE_URL")
    dagster_home: Path | None = Field(default=None, alias="DAGSTER_HOME")
    admin_token: str | None = Field(default=None, alias="LEARNING_LOOP_ADMIN_TOKEN")
    # Worker threads per API process for the bounded reads; 0 runs them on the event loop.
    # Unset: 0 on SQLite, 2 on PostgreSQL (docs/decisions.md, "Admin reads").
    api_read_threads: int | None = Field(
        default=None, ge=0, le=64, alias="LEARNING_LOOP_API_READ_THREADS"
    )
    # Seconds a client may take to send a request's head (issue #30: slow clients).
    api_head_timeout_s: float = Field(
        default=10.0, gt=0, le=600, alias="LEARNING_LOOP_API_HEAD_TIMEOUT_S"
    )
    # Days of full daily reward history kept (contract §3, "Reward history").
    reward_history_days: int = Field(
        default=7, ge=1, le=3650, alias="LEARNING_LOOP_REWARD_HISTORY_DAYS"
    )

    # Video plans (contract §8, `video_plans`): requests in flight to the planner backend at
    # once, and failed attempts after which a job's plan stays `failed`.
    plan_concurrency: int = Field(default=8, ge=1, le=64, alias="LEARNING_LOOP_PLAN_CONCURRENCY")
    plan_max_attempts: int = Field(default=3, ge=1, le=100, alias="LEARNING_LOOP_PLAN_MAX_ATTEMPTS")

    # The deployment's key for secrets at rest (contract §12): a Fernet key. Needed on
    # PostgreSQL; the embedded default makes one under LEARNING_LOOP_HOME on first use.
    secret_key: SecretStr | None = Field(default=None, alias="LEARNING_LOOP_SECRET_KEY")

    # The metrics collector (contract §12): the platform's endpoints (for proxies and tests),
    # the deployment's daily quota, and how each call is bounded and retried.
    youtube_data_url: str = Field(
        default="https://www.googleapis.com/youtube/v3", alias="LEARNING_LOOP_YOUTUBE_DATA_URL"
    )
    youtube_analytics_url: str = Field(
        default="https://youtubeanalytics.googleapis.com/v2",
        alias="LEARNING_LOOP_YOUTUBE_ANALYTICS_URL",
    )
    google_token_url: str = Field(
        default="https://oauth2.googleapis.com/token", alias="LEARNING_LOOP_GOOGLE_TOKEN_URL"
    )
    youtube_daily_quota: int = Field(
        default=10_000, ge=1, le=100_000_000, alias="LEARNING_LOOP_YOUTUBE_DAILY_QUOTA"
    )
    collector_timeout_s: float = Field(
        default=10.0, gt=0, le=300, alias="LEARNING_LOOP_COLLECTOR_TIMEOUT_S"
    )
    collector_max_attempts: int = Field(
        default=3, ge=1, le=10, alias="LEARNING_LOOP_COLLECTOR_MAX_ATTEMPTS"
    )
    collector_backoff_s: float = Field(
        default=1.0, ge=0, le=60, alias="LEARNING_LOOP_COLLECTOR_BACKOFF_S"
    )
    collector_concurrency: int = Field(
        default=4, ge=1, le=32, alias="LEARNING_LOOP_COLLECTOR_CONCURRENCY"
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        """SQLite or PostgreSQL; another URL is one line naming the variable (issue #30)."""
        if not url:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (e.g. postgresql+psycopg2://...)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"the {backend} database is not supported (use postgresql+psycopg2:// or "
                "sqlite:///)"
            )
        return url

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'learning_loop.db').resolve()}"

    @property
    def resolved_dagster_home(self) -> Path:
        return (self.dagster_home or self.home / "dagster").resolve()

    @property
    def is_embedded(self) -> bool:
        return not self.database_url


def load_settings() -> Settings:
    """The settings of the environment; a bad value is one error naming its variable."""
    from learning_loop.errors import InvalidInput

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        # A URL may hold a password, a key or a token is a secret: never echoed.
        secret = any(word in variable for word in ("URL", "KEY", "TOKEN"))
        shown = "" if secret else f" (got {first.get('input')!r})"
        raise InvalidInput(f"{variable}: {message}{shown}", variable) from None
