"""Typed settings, read once from FAIRENGAGE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Used only when no key is configured; `demo` and the tests set their own. Start-up refuses
# this value outside debug mode so that a production deployment cannot forget the key.
INSECURE_DEFAULT_KEY = "insecure-development-key-change-me"


class Settings(BaseSettings):
    """Every setting the service reads, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="FAIRENGAGE_", extra="ignore")

    database_url: str = "sqlite:///./fairengage.db"
    secret_key: SecretStr = SecretStr(INSECURE_DEFAULT_KEY)
    timezone: str = "America/Toronto"
    public_url: str = "http://localhost:8000"
    service_name: str = "Toronto Police Service"
    session_max_age: int = 8 * 3600
    # Sessions and sign-in throttling (docs/security.md): idle minutes end a session like a screen lock;
    # failed sign-ins per typed username and per client address within the window pause sign-in (0: off).
    session_idle_timeout: int = Field(default=30 * 60, gt=0)
    login_account_limit: int = Field(default=5, ge=0)
    login_client_limit: int = Field(default=20, ge=0)
    login_window: int = Field(default=15 * 60, gt=0)
    # The password policy's minimum length (access/password_policy.py); below 12 it is not a policy.
    password_min_length: int = Field(default=12, ge=12, le=200)
    debug: bool = False
    max_page_size: int = 200
    # Seconds between rounds of sealing journalled audit entries into the hash chain (access/sealer.py).
    audit_seal_interval: float = 0.5
    # Threads per server process for requests' database work (app.py explains the trade-off).
    worker_threads: int = 4
    # Hostile input (web/limits.py): the largest request body, and how deep JSON may nest.
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    max_json_depth: int = Field(default=32, gt=0)
    # Published reports, one folder per period, that the public dashboard serves (reports/publications.py).
    publications_dir: Path = Path("./publications")
    # GeoJSON of the division outlines for the report map (docs/charts-and-maps.md); unset: a tile grid.
    boundaries: Path | None = None
    # The feature property in that file that holds the division code (Toronto's file calls it DIV).
    boundary_code: str = "DIV"
    # Where the sun is reckoned for the veil-of-darkness test: the jurisdiction's centre (Toronto City Hall).
    latitude: float = 43.6532
    longitude: float = -79.3832

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"FAIRENGAGE_TIMEZONE: unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The service's local time zone."""
        return ZoneInfo(self.timezone)

    @property
    def secret(self) -> bytes:
        """The secret key as bytes, for signatures."""
        return self.secret_key.get_secret_value().encode()

    @property
    def using_insecure_key(self) -> bool:
        """True when no secret key was configured."""
        return self.secret_key.get_secret_value() == INSECURE_DEFAULT_KEY


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process."""
    return Settings()
