"""One settings object, read from ``CLEW_*`` environment variables (and flags that override them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".clew"


class Settings(BaseSettings):
    """Everything Clew can be configured with.

    Empty ``tracking_uri`` means local mode: the services run in-process on ``home``.
    ``database_url`` and ``artifact_root`` default to ``home/clew.db`` and ``home/artifacts``.
    """

    model_config = SettingsConfigDict(env_prefix="CLEW_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    tracking_uri: str = ""
    #: The client's access token for a server with authentication on (``Authorization:
    #: Bearer``); read by the HTTP transport.
    tracking_token: str = Field(default="", repr=False)
    database_url: str = ""
    artifact_root: str = ""
    #: ``NORMAL`` survives a killed process (WAL); ``FULL`` also survives power loss, slower.
    sqlite_synchronous: str = "NORMAL"
    sqlite_busy_timeout_ms: int = 60_000
    #: ``clew server`` checkpoints SQLite's WAL on a background thread this often (seconds);
    #: 0 leaves checkpoints to SQLite, inside the commit that fills the WAL.
    sqlite_checkpoint_interval_s: float = 1.0

    host: str = "127.0.0.1"
    #: Comma-separated host names the server answers to (its ``Host`` header), besides the
    #: loopback ones; empty: only those when it listens on loopback, any name otherwise.
    allowed_hosts: str = ""
    port: int = 5000
    workers: int = 1
    #: The built web UI to serve at ``/``; empty: the one inside the package (``make ui``).
    ui_dir: Path | None = None
    #: Authentication is a later capability; until then non-loopback binds are refused.
    auth: bool = False
    #: PEM file of the Ed25519 key that signs the head of audit exports (``clew audit keygen``
    #: makes one); empty: exports are unsigned.
    audit_signing_key: str = ""
    #: The first admin, made on first start with authentication on while there are no users
    #: (``clew users create --admin`` does the same from a shell).
    admin_username: str = ""
    admin_password: str = Field(default="", repr=False)
    #: How long a server remembers a caller's roles (a grant or revoke made through another
    #: server reaches this one within it).
    auth_cache_s: float = 5.0
    #: Passwords shorter than this are refused, for every user and every caller.
    password_min_length: int = 12
    #: Argon2id cost of a password hash (OWASP: at least 19 MiB and two passes).
    password_hash_memory_kib: int = 19_456
    password_hash_time_cost: int = 2

    # Single sign-on: OIDC's authorization code flow with PKCE (governance/oidc_*), on when
    # authentication is and an issuer and a client id are set.
    #: The identity provider's issuer URL, exactly as its ID tokens name it (``https://…``;
    #: ``http://`` only on a loopback host, for tests).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    #: Empty for a public client (PKCE alone); else sent to the token endpoint as its
    #: discovery document asks (``client_secret_basic`` or ``_post``).
    oidc_client_secret: str = Field(default="", repr=False)
    #: The callback URL registered with the provider (``https://clew.corp/api/v1/auth/oidc/
    #: callback``); empty: derived from the login request's own URL.
    oidc_redirect_url: str = ""
    oidc_scopes: str = "openid profile email"
    #: The ID token claim that names the Clew user (``preferred_username``, ``email``, ``sub``).
    oidc_username_claim: str = "preferred_username"
    #: A claim listing the user's groups; each login sets the user's teams to the existing
    #: teams it names. Empty: the provider has no say in teams.
    oidc_groups_claim: str = ""
    #: Make a Clew user at the first login of a name that has none; off, an admin makes them.
    oidc_auto_create: bool = False

    max_body_bytes: int = 32 * 1024 * 1024
    max_batch_metrics: int = 10_000
    max_batch_params: int = 1_000
    max_batch_tags: int = 1_000
    max_page_size: int = 50_000
    #: Uploads stream to the blob store, so this bound is about disk, not memory.
    max_artifact_bytes: int = 50 * 1024**3
    #: Chunk size for streaming artifact bodies in and out.
    stream_chunk_bytes: int = 1024 * 1024

    # Webhooks (registry/webhooks, core/netguard). Closed by default: a webhook URL that is or
    # resolves to a loopback, private or link-local address is refused (SSRF, security.md §1d).
    #: Open loopback, RFC 1918 / ULA and CGNAT destinations (not link-local: cloud metadata).
    webhook_allow_private: bool = False
    #: Comma-separated hosts (``hooks.internal``, ``*.corp.example``) and CIDRs that are opened.
    webhook_allowed_hosts: str = ""
    #: PEM file of the CAs HTTPS webhook receivers' certificates are checked against, instead
    #: of the public ones (an internal CA); empty: the public CAs (certifi).
    webhook_ca_bundle: str = ""
    #: Seconds per connect / read / write of one delivery attempt.
    webhook_timeout_s: float = 5.0
    #: Attempts per delivery before it is marked failed.
    webhook_max_attempts: int = 8
    #: First retry delay; each retry doubles it (with jitter), capped at an hour.
    webhook_backoff_s: float = 10.0
    #: How often an idle dispatcher looks for due deliveries.
    webhook_poll_interval_s: float = 1.0
    #: Run the delivery thread in ``clew server``; off, deliveries wait for one that runs it.
    webhook_dispatcher: bool = True
    #: How often a pipeline's engine records that it is alive; a run whose engine has been
    #: silent for three of its intervals counts as lost (``docs/pipelines.md``).
    pipeline_heartbeat_s: float = 5.0

    # Pipelines run by the server (pipelines/jobs, pipelines/worker). A job's steps are
    # ``module:function`` references the worker imports and calls, so the worker runs only
    # steps from these modules: whoever may submit a job may run that code, nothing else.
    #: Comma-separated module prefixes (``acme.pipelines``, ``clew.pipelines.gates``) whose
    #: functions server-run steps may be; empty: the server runs no pipeline jobs.
    pipeline_modules: str = ""
    #: Run the scheduler and job worker in ``clew server`` (``clew scheduler`` runs one alone).
    pipeline_worker: bool = True
    #: Jobs one worker runs at once.
    pipeline_worker_jobs: int = 2
    #: How long a worker's hold on a job lasts unless renewed (it renews at a third of it).
    pipeline_lease_s: float = 30.0
    #: How often an idle worker looks for due schedules and queued jobs.
    pipeline_poll_interval_s: float = 1.0

    def allowed_step_modules(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.pipeline_modules.split(",") if m.strip())

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'clew.db'}"

    def resolved_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        return str(self.home / "artifacts")

    @property
    def is_remote(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))
