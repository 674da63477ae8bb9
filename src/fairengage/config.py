"""Typed settings, read once from FAIRENGAGE_* environment variables and an optional fairengage.toml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fairengage.config_file import config_file, read_config_file

# Used only when no key is configured; `demo` and the tests set their own. Start-up refuses
# this value in every mode (require_strong_secret_key), so that no deployment can forget the key.
INSECURE_DEFAULT_KEY = "insecure-development-key-change-me"

# Weak configuration refused at start (docs/security.md): a key shorter than this can be searched for
# offline from a single signed receipt code or session cookie.
MIN_SECRET_KEY_LENGTH = 32


class WeakSecretKey(ValueError):
    """The secret key is the published default or too short to run with; the message names the variable."""


def check_config_file(path: Path | None = None) -> dict:
    """Read the settings file in force (or `path`) and refuse one that cannot be used."""
    path = path or config_file()
    return {} if path is None else read_config_file(path, Settings.model_fields)


class Settings(BaseSettings):
    """Every setting the service reads, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="FAIRENGAGE_", extra="ignore")

    database_url: str = "sqlite:///./fairengage.db"
    secret_key: SecretStr = SecretStr(INSECURE_DEFAULT_KEY)
    # A file holding the secret key (the demo's .fairengage-demo-key), read when no key is set directly,
    # so that a settings file can point at the key instead of containing it.
    secret_key_file: Path | None = None
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
    # Public receipt pages and complaint filing (receipts/limits.py, docs/security.md): requests per client
    # address and per receipt code within the window, and complaints filed the same way (0: no limit).
    public_client_limit: int = Field(default=120, ge=0)
    public_code_limit: int = Field(default=60, ge=0)
    public_window: int = Field(default=10 * 60, gt=0)
    complaint_client_limit: int = Field(default=10, ge=0)
    complaint_code_limit: int = Field(default=3, ge=0)
    complaint_window: int = Field(default=24 * 3600, gt=0)
    # The password policy's minimum length (access/password_policy.py); below 12 it is not a policy.
    password_min_length: int = Field(default=12, ge=12, le=200)
    # A second factor (TOTP) for local accounts whose role reads personal data (access/totp.py).
    require_second_factor: bool = False
    # Single sign-on for staff through an OpenID provider (access/oidc.py, docs/administrator.md): the
    # issuer whose discovery document is read, this service's client at it, the ID-token claim that
    # carries the user's groups or roles, the map from its values to FairEngage roles ("group=role,…"),
    # and the claim that names the FairEngage account to link to at the first sign-in.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_role_claim: str = "groups"
    oidc_role_map: str = ""
    oidc_username_claim: str = "preferred_username"
    debug: bool = False
    max_page_size: int = 200
    # Seconds between rounds of sealing journalled audit entries into the hash chain (access/sealer.py).
    audit_seal_interval: float = 0.5
    # Signed checkpoints of the audit log (access/transparency.py, docs/auditor.md): the Ed25519 private
    # key's PEM file, kept outside the database; the append-only folder checkpoints are written to; and
    # the seconds between scheduled checkpoints (written by the sealer when the log has grown).
    audit_signing_key_file: Path | None = None
    audit_checkpoint_dir: Path = Path("./audit-checkpoints")
    audit_checkpoint_interval: float = Field(default=3600, gt=0)
    # Threads per server process for requests' database work (app.py explains the trade-off).
    worker_threads: int = 4
    # Hostile input (web/limits.py): the largest request body, and how deep JSON may nest.
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    max_json_depth: int = Field(default=32, gt=0)
    # Published reports, one folder per period, that the public dashboard serves (reports/publications.py).
    publications_dir: Path = Path("./publications")
    # A period not yet closed: "label" publishes it marked partial ("data to <date>"), "refuse" builds
    # nothing until it has closed (publishing/service.py).
    partial_periods: Literal["label", "refuse"] = "label"
    # How the public release protects people (docs/disclosure-control.md): "suppress" withholds small
    # counts; "cellkey" publishes every count with a small fixed random change (reports/cellkey_release.py).
    disclosure_method: Literal["suppress", "cellkey"] = "suppress"
    # GeoJSON of the division outlines for the report map (docs/charts-and-maps.md); unset: a tile grid.
    boundaries: Path | None = None
    # The feature property in that file that holds the division code (Toronto's file calls it DIV).
    boundary_code: str = "DIV"
    # Where the sun is reckoned for the veil-of-darkness test: the jurisdiction's centre (Toronto City Hall).
    latitude: float = 43.6532
    longitude: float = -79.3832
    # API tokens expire (docs/security.md): the days a new token lives unless `tokens create --days` says.
    token_lifetime_days: int = Field(default=90, gt=0, le=3650)
    # Who an officer calls to book or renew the prescribed training (officers/training.py): shown on the
    # notice that replaces the form, and in the API's refusal, when training is missing or lapsed.
    training_contact: str = "your unit's training coordinator (ask your supervisor for their number)"
    # The officer's device key (engagements/offline.py, docs/security.md): raising the epoch makes every
    # key handed out before useless, and what phones keep under it unreadable.
    device_key_epoch: int = Field(default=1, ge=1, le=1_000_000)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: arguments, then the environment, then the settings file, then defaults.
        path = config_file()
        if path is None:
            return init_settings, env_settings, file_secret_settings
        check_config_file(path)
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path), file_secret_settings

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        if self.secret_key_file is not None and self.using_insecure_key:
            try:
                key = self.secret_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(
                    f"FAIRENGAGE_SECRET_KEY_FILE: {self.secret_key_file}: {exc.strerror or exc}"
                ) from None
            self.secret_key = SecretStr(key)
        return self

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

    def require_strong_secret_key(self) -> None:
        """Refuse the published default key and short keys, in every mode, naming the variable."""
        key = self.secret_key.get_secret_value()
        if key == INSECURE_DEFAULT_KEY:
            raise WeakSecretKey(
                "FAIRENGAGE_SECRET_KEY is not set (the published default is refused, in debug mode too): "
                f"set a random value of at least {MIN_SECRET_KEY_LENGTH} characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` (or run `fairengage demo`)"
            )
        if len(key.strip()) < MIN_SECRET_KEY_LENGTH:
            raise WeakSecretKey(
                f"FAIRENGAGE_SECRET_KEY is too short ({len(key.strip())} characters): set a random value "
                f"of at least {MIN_SECRET_KEY_LENGTH} characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )

    @property
    def using_insecure_key(self) -> bool:
        """True when no secret key was configured."""
        return self.secret_key.get_secret_value() == INSECURE_DEFAULT_KEY


# The jurisdiction's centre where no settings are at hand (a library call, a test): the defaults of the
# `latitude` and `longitude` settings, so that the coordinates are written once, on the setting.
DEFAULT_LATITUDE: float = Settings.model_fields["latitude"].default
DEFAULT_LONGITUDE: float = Settings.model_fields["longitude"].default


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process."""
    return Settings()
