"""Every knob comes from the environment (or a `.env` file). See README, "Settings"."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: str = Field("development", description="development | test | production")
    # What the service connects with. When it names a superuser (development, CI) the
    # service switches to the unprivileged APP_DB_ROLE that `migrate` creates.
    database_url: str | None = None
    # What migrations and role setup run with; defaults to DATABASE_URL.
    database_admin_url: str | None = None
    app_db_role: str = "huifang_app"
    db_pool_min: int = 2
    db_pool_max: int = 10
    # at most this many of a process's pooled connections serve one tenant at once (default:
    # pool size minus two, at least one); others wait up to TENANT_WAIT_SECONDS, then 503
    db_tenant_max_connections: int | None = None
    tenant_wait_seconds: float = 10.0
    statement_timeout_ms: int = 5000  # every statement of a request (PostgreSQL statement_timeout)
    job_statement_timeout_ms: int = 300000  # every statement of a background job
    redis_url: str | None = None
    queue_name: str = "huifang:queue"
    # connections of each process's Redis clients (the request path's: throttle, persisted
    # queries, login tickets; and the job queue's); a request beyond them waits up to
    # REDIS_POOL_TIMEOUT_SECONDS for one, instead of opening connections without bound
    redis_pool_max: int = Field(32, ge=1)
    redis_pool_timeout_seconds: float = Field(2.0, gt=0)

    port: int = 8000
    host: str = "127.0.0.1"
    data_dir: Path = ROOT / ".data"
    public_url: str | None = None
    # Proxies (comma-separated addresses or CIDR networks) whose X-Forwarded-For is believed;
    # empty: the TCP peer is the client (README, "Security")
    trusted_proxies: str = ""

    # Tokens
    jwt_issuer: str | None = None  # default: PUBLIC_URL, else http://HOST:PORT
    jwt_audience: str = "huifang-api"
    jwt_keys_file: Path | None = None  # a JWKS with private keys; the first active key signs
    jwt_keys: str | None = None  # the same JWKS inline (takes precedence over the file)
    access_token_ttl_seconds: int = 900
    clock_skew_seconds: int = 30

    # OAuth
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    authorization_code_ttl_seconds: int = 60
    client_secret_overlap_seconds: int = 3600  # old secret stays valid this long after rotation
    rate_limit_token_per_client: int = 60  # per minute
    rate_limit_token_per_ip: int = 120  # per minute
    rate_limit_login_per_ip: int = 20  # per 5 minutes
    rate_limit_login_per_account: int = 10  # per 5 minutes
    login_ticket_ttl_seconds: int = 300
    cookie_secure: bool | None = None  # default: on in production

    # Customer imports
    import_max_bytes: int = 25 * 1024 * 1024
    import_batch_size: int = 500

    # GraphQL limits
    graphql_max_depth: int = 12
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 30
    graphql_max_cost: int = 5000
    graphql_max_body_bytes: int = 1024 * 1024  # room for surveyResultsSubmit: 1,000 results of ~500 bytes
    graphql_page_max: int = 100
    graphql_max_response_bytes: int = 4 * 1024 * 1024
    graphql_introspection: bool | None = None  # default: off in production
    graphql_suggestions: bool | None = None  # "Did you mean ...?" in errors; default: off in production
    graphiql: bool | None = None  # default: on in development only

    # GraphQL throttling, trusted documents and deadlines (issue #12 items 3-5; README "Throttling ...")
    # Cost throttling: a leaky bucket in Redis per caller of each brand (app, user via app, user). The
    # bucket holds GRAPHQL_MAX_COST by default, so that every operation the static limit admits
    # fits a full bucket; it refills at the restore rate (cost points per second).
    graphql_throttle: bool = True
    graphql_cost_bucket_size: int | None = None  # default: GRAPHQL_MAX_COST
    graphql_cost_restore_rate: float = 250.0
    # automatic persisted queries (Apollo's persistedQuery extension): hash -> document in Redis
    graphql_apq_ttl_seconds: int = 86400
    graphql_apq_max_bytes: int = 32768  # larger documents run, but are not kept
    graphql_apq_max_per_day: int = 5000  # documents one brand may add to the cache per day
    # allow-list mode: a process reads each brand's policy and registered documents at most this often
    graphql_documents_cache_seconds: float = 30.0
    # the whole operation (waiting for a connection included); 0 = none
    graphql_deadline_ms: int = 15000

    log_level: str = "INFO"
    log_json: bool = True

    # Serving (`python -m app serve`, app/core/serve.py)
    # worker processes behind one socket; default: the cores this process may use in
    # production, one in development and test (`make run`, the suite's live servers)
    web_concurrency: int | None = None
    # the supervisor serves the Prometheus metrics of all workers here (off when unset); an
    # internal port, never the public one
    metrics_port: int | None = None
    metrics_host: str | None = None  # default: HOST
    # DATABASE_URL points at PgBouncer in transaction-pooling mode: asyncpg's prepared-statement
    # cache is off (each transaction may get another server connection)
    db_pgbouncer: bool = False
    # after startup, move what it built out of the garbage collector's generations (gc.freeze)
    gc_freeze: bool = True
    # net allocations between two collections of the youngest generation (Python's own: 700);
    # an operation leaves no cyclic garbage, so most of what a page allocates is freed before a
    # collection would walk it
    gc_young_threshold: int = Field(default=20_000, ge=100, le=1_000_000)

    @property
    def introspection_enabled(self) -> bool:
        return self.graphql_introspection if self.graphql_introspection is not None else self.env != "production"

    @property
    def suggestions_enabled(self) -> bool:
        return self.graphql_suggestions if self.graphql_suggestions is not None else self.env != "production"

    @property
    def cost_bucket_size(self) -> int:
        return self.graphql_cost_bucket_size or self.graphql_max_cost

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env == "development"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def issuer(self) -> str:
        return self.jwt_issuer or self.base_url

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.env == "production"

    @property
    def admin_url(self) -> str | None:
        return self.database_admin_url or self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
