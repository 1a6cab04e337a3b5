"""Runtime settings, read from the environment when an app starts (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    return Settings()
