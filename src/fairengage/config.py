"""Typed settings, read once from FAIRENGAGE_* environment variables, an optional .env and fairengage.toml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fairengage.config_file import check_env_file, config_file, env_file, read_config_file

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

    database_url: str = Field(
        default="sqlite:///./fairengage.db",
        description="SQLite (embedded, one machine) or `postgresql://user@host/db` (production, psycopg 3); "
        "see [Databases](administrator.md#databases)",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(INSECURE_DEFAULT_KEY),
        description="signs receipt codes and session cookies, and is the root from which the key that "
        "encrypts second-factor secrets is derived. Random, at least 32 characters (e.g. `python -c "
        "'import secrets; print(secrets.token_urlsafe(48))'`): a shorter key or the published default is "
        "refused at start, in debug mode too. Keep it secret and stable: changing it makes every issued "
        "receipt code fail to verify and every second factor unreadable",
    )
    # A file holding the secret key (the demo's .fairengage-demo-key), read when no key is set directly,
    # so that a settings file can point at the key instead of containing it.
    secret_key_file: Path | None = Field(
        default=None,
        description="a file holding the secret key (its first line), read when `FAIRENGAGE_SECRET_KEY` is "
        "not set, so that a settings file can name the key without containing it. The demo's is "
        "`.fairengage-demo-key`",
    )
    timezone: str = Field(
        default="America/Toronto",
        description="the service's local time: which rule set applies, the dates on receipts",
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="the address people use, printed on receipts and in QR codes and used for every "
        "absolute link (single sign-on's return address too); an `https://` address also marks the session "
        "and form cookies `Secure`",
    )
    service_name: str = Field(default="Toronto Police Service", description="the service's name")
    session_max_age: int = Field(
        default=8 * 3600,
        description="seconds a sign-in lasts at most, however busy (eight hours, a shift); see "
        "[security.md](security.md#sessions)",
    )
    # Sessions and sign-in throttling (docs/security.md): idle minutes end a session like a screen lock;
    # failed sign-ins per typed username and per client address within the window pause sign-in (0: off).
    session_idle_timeout: int = Field(
        default=30 * 60,
        gt=0,
        description="seconds without a page view after which a sign-in ends, like a screen lock",
    )
    login_account_limit: int = Field(
        default=5,
        ge=0,
        description="failed sign-ins for one username within the window that pause sign-in for it (`0`: no "
        "limit); see [security.md](security.md#sign-in-throttling)",
    )
    login_client_limit: int = Field(
        default=20,
        ge=0,
        description="failed sign-ins from one client address within the window that pause sign-in from it "
        "(`0`: no limit)",
    )
    login_window: int = Field(
        default=15 * 60, gt=0, description="seconds over which failed sign-ins are counted"
    )
    # Public receipt pages and complaint filing (receipts/limits.py, docs/security.md): requests per client
    # address and per receipt code within the window, and complaints filed the same way (0: no limit).
    public_client_limit: int = Field(
        default=120,
        ge=0,
        description="requests to the public receipt routes from one client address within the window (`0`: "
        "no limit); see [security.md](security.md#public-receipt-pages-and-complaint-filing)",
    )
    public_code_limit: int = Field(
        default=60,
        ge=0,
        description="requests to the public receipt routes for one receipt code within the window",
    )
    public_window: int = Field(
        default=10 * 60, gt=0, description="seconds over which requests to the receipt routes are counted"
    )
    complaint_client_limit: int = Field(
        default=10,
        ge=0,
        description="complaints and own-record requests filed from one client address within the window",
    )
    complaint_code_limit: int = Field(
        default=3,
        ge=0,
        description="complaints and own-record requests filed on one receipt code within the window",
    )
    complaint_window: int = Field(
        default=24 * 3600, gt=0, description="seconds over which filings are counted"
    )
    # The password policy's minimum length (access/password_policy.py); below 12 it is not a policy.
    password_min_length: int = Field(
        default=12,
        ge=12,
        le=200,
        description="the fewest characters a password may have; the rest of the password policy is in "
        "[security.md](security.md#password-policy)",
    )
    # A second factor (TOTP) for local accounts whose role reads personal data (access/totp.py).
    require_second_factor: bool = Field(
        default=False,
        description="when `true`, local accounts whose role can see personal information (officer, "
        "supervisor, administrator) must set up a TOTP second factor before they can do anything else; see "
        "[Second factor](administrator.md#second-factor-totp)",
    )
    # Single sign-on for staff through an OpenID provider (access/oidc.py, docs/administrator.md): the
    # issuer whose discovery document is read, this service's client at it, the ID-token claim that
    # carries the user's groups or roles, the map from its values to FairEngage roles ("group=role,…"),
    # and the claim that names the FairEngage account to link to at the first sign-in.
    oidc_issuer: str | None = Field(
        default=None,
        description="single sign-on: the OpenID provider's issuer URL, exactly as its discovery document "
        "names it; SSO is on when this and the client id are set. See "
        "[Single sign-on](administrator.md#single-sign-on-openid-connect)",
    )
    oidc_client_id: str | None = Field(
        default=None, description="single sign-on: this service's client (application) id at the provider"
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="single sign-on: the client secret, sent to the provider's token endpoint (HTTP Basic)",
    )
    oidc_role_claim: str = Field(
        default="groups",
        description="single sign-on: the ID-token claim listing the user's groups or roles (Entra ID: "
        "`roles` or `groups`; Keycloak: a mapper's claim name)",
    )
    oidc_role_map: str = Field(
        default="",
        description="single sign-on: `value=role` pairs separated by commas, from the claim's values to "
        "FairEngage roles, e.g. `FE-Officers=officer,FE-Sergeants=supervisor`; a role not in the list of "
        "roles stops sign-in with an error naming this setting",
    )
    oidc_username_claim: str = Field(
        default="preferred_username",
        description="single sign-on: the claim whose value is the FairEngage username to link to at a "
        "person's first sign-on (Entra ID: `preferred_username` is the UPN; ADFS: `upn`)",
    )
    debug: bool = Field(
        default=False,
        description="development only: without an audit signing key, checkpoints are signed with a key "
        "made in memory at start-up; it never lets the service start without a strong secret key",
    )
    max_page_size: int = Field(default=200, description="the largest page the list API returns")
    # Seconds between rounds of sealing journalled audit entries into the hash chain (access/sealer.py).
    audit_seal_interval: float = Field(
        default=0.5,
        description="seconds between rounds of sealing journalled audit entries into the hash chain "
        "([load and recovery](load-and-recovery.md#the-audit-journal))",
    )
    # Signed checkpoints of the audit log (access/transparency.py, docs/auditor.md): the Ed25519 private
    # key's PEM file, kept outside the database; the append-only folder checkpoints are written to; and
    # the seconds between scheduled checkpoints (written by the sealer when the log has grown).
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="the PEM file of the Ed25519 private key that signs the audit log's checkpoints, made "
        "by `fairengage audit keygen --out FILE`; keep it outside the database and its backups, readable "
        "only by the service's account. Unset: in debug mode a key is made in memory at start-up; otherwise "
        "nothing is signed and the start-up log says so (see "
        "[auditor.md](auditor.md#checkpoints-proving-the-log-was-not-rewritten))",
    )
    audit_checkpoint_dir: Path = Field(
        default=Path("./audit-checkpoints"),
        description="the append-only folder where signed checkpoints are written (a new file each, never "
        "overwritten); put it where a database administrator cannot write, and copy it off the machine",
    )
    audit_checkpoint_interval: float = Field(
        default=3600,
        gt=0,
        description="seconds between scheduled checkpoints, written by the sealer when the log has grown",
    )
    # Threads per server process for requests' database work (app.py explains the trade-off).
    worker_threads: int = Field(
        default=4,
        description="threads per server process for requests' database work; more mostly queue for "
        "Python's interpreter lock ([load and recovery](load-and-recovery.md#sizing))",
    )
    # Hostile input (web/limits.py): the largest request body, and how deep JSON may nest.
    max_body_bytes: int = Field(
        default=1 << 20,
        gt=0,
        description="the largest request body (1 MiB), for the API and the pages' forms alike; a larger "
        "one is refused (`413`, rule `BODY-SIZE`) without being read. A record is about 1 KB (see "
        "[api.md](api.md#limits-and-hostile-input))",
    )
    max_json_depth: int = Field(
        default=32,
        gt=0,
        description="how deep JSON objects and arrays may nest in a request (a record nests 2); deeper is "
        "refused (`400`, `JSON-DEPTH`) before it is parsed",
    )
    # Published reports, one folder per period, that the public dashboard serves (reports/publications.py).
    publications_dir: Path = Field(
        default=Path("./publications"),
        description="the report releases, one folder per release (`2025/v1`, `2025-Q3/v2`), and "
        "`releases.json`, the list of published ones that the public dashboard `/public` serves (see "
        "[reports.md](reports.md#publishing-a-release))",
    )
    # A period not yet closed: "label" publishes it marked partial ("data to <date>"), "refuse" builds
    # nothing until it has closed (publishing/service.py).
    partial_periods: Literal["label", "refuse"] = Field(
        default="label",
        description="a year or quarter that has not ended: `label` builds and publishes it marked partial "
        '("data to <date>"); `refuse` builds nothing for it until the day after it ends',
    )
    # How the public release protects people (docs/disclosure-control.md): "suppress" withholds small
    # counts; "cellkey" publishes every count with a small fixed random change (reports/cellkey_release.py).
    disclosure_method: Literal["suppress", "cellkey"] = Field(
        default="suppress",
        description="how public releases protect people ([disclosure-control.md](disclosure-control.md)): "
        "`suppress` withholds every count under the rule set's threshold; `cellkey` publishes every count "
        "with a small fixed random change. The board report is exact either way",
    )
    # GeoJSON of the division outlines for the report map (docs/charts-and-maps.md); unset: a tile grid.
    boundaries: Path | None = Field(
        default=None,
        description="a GeoJSON file of the service's division outlines (WGS84) for the division map in the "
        "reports and on `/public`; unset, the map is a grid of one square per division (see "
        "[charts-and-maps.md](charts-and-maps.md))",
    )
    # The feature property in that file that holds the division code (Toronto's file calls it DIV).
    boundary_code: str = Field(
        default="DIV", description="the property of each feature in that file that holds the division code"
    )
    # Where the sun is reckoned for the veil-of-darkness test: the jurisdiction's centre (Toronto City Hall).
    latitude: float = Field(
        default=43.6532,
        description="the latitude of the jurisdiction's centre, where sunset and dusk are reckoned for the "
        "veil-of-darkness test (Toronto City Hall by default)",
    )
    longitude: float = Field(default=-79.3832, description="the longitude of that centre")
    # API tokens expire (docs/security.md): the days a new token lives unless `tokens create --days` says.
    token_lifetime_days: int = Field(
        default=90,
        gt=0,
        le=3650,
        description="days a new API token lives unless `fairengage tokens create NAME --days N` says "
        "otherwise; an expired token is answered `401` (see [security.md](security.md#api-tokens))",
    )
    # Who an officer calls to book or renew the prescribed training (officers/training.py): shown on the
    # notice that replaces the form, and in the API's refusal, when training is missing or lapsed.
    training_contact: str = Field(
        default="your unit's training coordinator (ask your supervisor for their number)",
        description="who an officer calls to book or renew the prescribed training, shown when their "
        "training is missing or lapsed (see [officer.md](officer.md#before-your-first-record)); e.g. "
        "`Training Unit, 416-555-0100`",
    )
    # The officer's device key (engagements/offline.py, docs/security.md): raising the epoch makes every
    # key handed out before useless, and what phones keep under it unreadable.
    device_key_epoch: int = Field(
        default=1,
        ge=1,
        le=1_000_000,
        description="the generation of the officers' device keys: raising it makes every key handed out "
        "before useless, and what phones keep under it unreadable (see "
        "[security.md](security.md#records-kept-on-the-officers-phone))",
    )
    # Uvicorn believes X-Forwarded-Proto/-For only from these (web servers' own convention); `serve`
    # options override it (docs/deployment.md).
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="comma-separated addresses or networks of the TLS-terminating proxy whose "
        "`X-Forwarded-Proto` and `X-Forwarded-For` headers `fairengage serve` believes; never `*` unless "
        "nothing but the proxy can reach the port (see [deployment.md](deployment.md#reverse-proxy-and-tls))",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: arguments, the environment, the .env file, the TOML settings file, defaults
        # (docs/deployment.md#where-settings-come-from).
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        env_path = env_file()
        if env_path is not None:
            check_env_file(env_path, Settings.model_fields)
            sources.append(DotEnvSettingsSource(settings_cls, env_file=env_path, env_file_encoding="utf-8"))
        path = config_file()
        if path is not None:
            check_config_file(path)
            sources.append(TomlConfigSettingsSource(settings_cls, path))
        return (*sources, file_secret_settings)

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
        if self.using_insecure_key:
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
