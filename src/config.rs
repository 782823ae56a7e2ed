//! Settings from flags and environment variables (flags win). Secrets are never printed:
//! `Debug` shows whether they are set, not what they are.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "bookings", version, about = "Spec-first bookings server")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run migrations, then serve the API (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print a bearer token signed with the configured key.
    Token(TokenArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// The user's id (the `sub` claim); a new random one when left out.
    #[arg(long)]
    pub sub: Option<uuid::Uuid>,
    /// Space-separated scopes.
    #[arg(long, default_value = crate::policy::DEFAULT_SCOPES)]
    pub scope: String,
    /// Give the token the admin role.
    #[arg(long)]
    pub admin: bool,
    /// The `email` claim.
    #[arg(long)]
    pub email: Option<String>,
    /// Lifetime, e.g. `3600` (seconds), `90m`, `12h`, `30d`; at most `--jwt-max-ttl`.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub ttl: std::time::Duration,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Production,
    Development,
    Test,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

#[derive(Args, Clone)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long = "bind", env = "BIND_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,
    /// Where the embedded database and the generated signing secret live.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default: an SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Base URL the public booking links are built from; default `http://<bind>`.
    #[arg(long, env = "PUBLIC_BASE_URL", global = true)]
    pub public_base_url: Option<String>,
    /// The secret visitors' manage tokens are made with (at least 32 characters); without one it
    /// is generated once and kept in `<data-dir>/manage-link-secret`. Instances that share a
    /// database share it (set it, or share the data directory): emails rendered by one carry
    /// links the others accept.
    #[arg(long = "manage-link-secret", env = "MANAGE_LINK_SECRET", hide_env_values = true, global = true)]
    pub manage_link_secret: Option<String>,
    /// production, development or test.
    #[arg(long, env = "APP_ENV", value_enum, default_value = "production", global = true)]
    pub app_env: AppEnv,
    /// Shifts the server's clock by this many seconds (development and test only).
    #[arg(long, env = "CLOCK_OFFSET_SECONDS", allow_hyphen_values = true, global = true)]
    pub clock_offset_seconds: Option<i64>,
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Serve `GET /metrics` on this address only (and not on `--bind`); default: on `--bind`.
    #[arg(long = "metrics-bind", env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,
    /// Export traces over OTLP (HTTP, protobuf) to `<this>/v1/traces`; default: not exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// How long availability may reuse a link's settings and its calendar's busy time (`1s`;
    /// `0`: read them on every request). Writes through this process show at once; writes
    /// through another process sharing the database, within this time. Reservations always
    /// check under a lock.
    #[arg(long = "availability-cache", env = "AVAILABILITY_CACHE", value_parser = parse_duration_or_zero, global = true)]
    availability_cache: Option<Duration>,
    /// Deprecated: AVAILABILITY_CACHE in milliseconds.
    #[arg(long = "availability-cache-ms", env = "AVAILABILITY_CACHE_MS", hide = true, global = true)]
    availability_cache_ms: Option<u64>,
    #[command(flatten)]
    pub jwt: JwtSettings,
    #[command(flatten)]
    pub notify: NotifySettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub db: DbSettings,
    #[command(flatten)]
    pub pages: PageSettings,
}

/// The visitor's pages (`/booking/...`): who may frame them, and which other origins' browsers
/// may call the public operations.
#[derive(Args, Clone, Debug)]
pub struct PageSettings {
    /// Who may frame the booking page's embed view (`?embed=1`): CSP `frame-ancestors` sources
    /// separated by spaces (`*`: anyone). Every other page may only be framed by itself.
    #[arg(long = "embed-frame-ancestors", env = "EMBED_FRAME_ANCESTORS", default_value = "*", global = true)]
    pub embed_frame_ancestors: String,
    /// Origins (comma-separated, e.g. `https://shop.example`) whose browser scripts may call the
    /// public operations (availability, reserve, the guest's reservation); default none.
    #[arg(long = "cors-allowed-origins", env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,
}

/// How long the server waits on the database before it answers 503 (with Retry-After) instead.
/// Every length of time is a humantime duration (`1s`, `500ms`, `2m`); the `*_MS` names that took
/// milliseconds are still read, deprecated (see [`Setting`]).
#[derive(Args, Clone, Debug)]
pub struct DbSettings {
    /// PostgreSQL `lock_timeout` of every statement: how long one waits for a row another
    /// transaction holds.
    #[arg(long = "db-lock-timeout", env = "DB_LOCK_TIMEOUT", value_parser = parse_duration, global = true)]
    lock_timeout: Option<Duration>,
    /// Deprecated: DB_LOCK_TIMEOUT in milliseconds.
    #[arg(long = "db-lock-timeout-ms", env = "DB_LOCK_TIMEOUT_MS", hide = true, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    lock_timeout_ms: Option<u64>,
    /// PostgreSQL `statement_timeout` of every statement.
    #[arg(long = "db-statement-timeout", env = "DB_STATEMENT_TIMEOUT", value_parser = parse_duration, global = true)]
    statement_timeout: Option<Duration>,
    /// Deprecated: DB_STATEMENT_TIMEOUT in milliseconds.
    #[arg(long = "db-statement-timeout-ms", env = "DB_STATEMENT_TIMEOUT_MS", hide = true, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    statement_timeout_ms: Option<u64>,
    /// SQLite `busy_timeout`: how long a write waits for another connection or process holding
    /// the database's write lock.
    #[arg(long = "db-busy-timeout", env = "DB_BUSY_TIMEOUT", value_parser = parse_duration_or_zero, global = true)]
    busy_timeout: Option<Duration>,
    /// Deprecated: DB_BUSY_TIMEOUT in milliseconds.
    #[arg(long = "db-busy-timeout-ms", env = "DB_BUSY_TIMEOUT_MS", hide = true, global = true)]
    busy_timeout_ms: Option<u64>,
    /// How long a request waits for a pooled connection.
    #[arg(long = "db-acquire-timeout", env = "DB_ACQUIRE_TIMEOUT", value_parser = parse_duration, global = true)]
    acquire_timeout: Option<Duration>,
    /// Deprecated: DB_ACQUIRE_TIMEOUT in milliseconds.
    #[arg(long = "db-acquire-timeout-ms", env = "DB_ACQUIRE_TIMEOUT_MS", hide = true, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    acquire_timeout_ms: Option<u64>,
    /// How long a write keeps retrying transient faults (a held row, a lost connection, SQLite
    /// busy) before it answers 503: no new attempt starts after this.
    #[arg(long = "db-retry-budget", env = "DB_RETRY_BUDGET", value_parser = parse_duration_or_zero, global = true)]
    retry_budget: Option<Duration>,
    /// Deprecated: DB_RETRY_BUDGET in milliseconds.
    #[arg(long = "db-retry-budget-ms", env = "DB_RETRY_BUDGET_MS", hide = true, global = true)]
    retry_budget_ms: Option<u64>,
}

impl DbSettings {
    pub fn lock_timeout(&self) -> Duration {
        Setting::new("DB_LOCK_TIMEOUT", self.lock_timeout, self.lock_timeout_ms).or(Duration::from_secs(1))
    }
    pub fn statement_timeout(&self) -> Duration {
        Setting::new("DB_STATEMENT_TIMEOUT", self.statement_timeout, self.statement_timeout_ms)
            .or(Duration::from_secs(5))
    }
    pub fn busy_timeout(&self) -> Duration {
        Setting::new("DB_BUSY_TIMEOUT", self.busy_timeout, self.busy_timeout_ms).or(Duration::from_secs(1))
    }
    pub fn acquire_timeout(&self) -> Duration {
        Setting::new("DB_ACQUIRE_TIMEOUT", self.acquire_timeout, self.acquire_timeout_ms).or(Duration::from_secs(2))
    }
    pub fn retry_budget(&self) -> Duration {
        Setting::new("DB_RETRY_BUDGET", self.retry_budget, self.retry_budget_ms).or(Duration::from_secs(2))
    }

    fn settings(&self) -> [Setting; 5] {
        [
            Setting::new("DB_LOCK_TIMEOUT", self.lock_timeout, self.lock_timeout_ms),
            Setting::new("DB_STATEMENT_TIMEOUT", self.statement_timeout, self.statement_timeout_ms),
            Setting::new("DB_BUSY_TIMEOUT", self.busy_timeout, self.busy_timeout_ms),
            Setting::new("DB_ACQUIRE_TIMEOUT", self.acquire_timeout, self.acquire_timeout_ms),
            Setting::new("DB_RETRY_BUDGET", self.retry_budget, self.retry_budget_ms),
        ]
    }
}

/// A length of time given by its name (a humantime duration) or by its deprecated `<NAME>_MS`
/// (milliseconds); both at once is a mistake [`Settings::validate`] refuses.
struct Setting {
    name: &'static str,
    value: Option<Duration>,
    deprecated_ms: Option<u64>,
}

impl Setting {
    fn new(name: &'static str, value: Option<Duration>, deprecated_ms: Option<u64>) -> Self {
        Self { name, value, deprecated_ms }
    }

    fn or(&self, default: Duration) -> Duration {
        self.value.or(self.deprecated_ms.map(Duration::from_millis)).unwrap_or(default)
    }

    fn check(&self) -> Result<(), ConfigError> {
        match (self.value, self.deprecated_ms) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
                "{name} and {name}_MS are both set: set {name} (a duration such as 1s or 500ms) only",
                name = self.name
            ))),
            (None, Some(_)) => {
                tracing::warn!(
                    setting = self.name,
                    "{}_MS is deprecated: set {} (a duration such as 500ms)",
                    self.name,
                    self.name
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct LimitSettings {
    /// The largest request body accepted, in bytes.
    #[arg(long = "max-body-bytes", env = "MAX_BODY_BYTES", default_value = "65536", global = true)]
    pub max_body_bytes: usize,
    /// Requests a minute each client may make to the public operations (0: no limit).
    #[arg(long = "public-rate-limit", env = "PUBLIC_RATE_LIMIT_PER_MINUTE", default_value = "600", global = true)]
    pub public_per_minute: u32,
    /// How many of those may come in one burst.
    #[arg(long = "public-rate-burst", env = "PUBLIC_RATE_LIMIT_BURST", default_value = "100", global = true)]
    pub public_burst: u32,
    /// How many proxies in front of the server append the address they were connected from to
    /// X-Forwarded-For. The client is the entry that many places from the right (0: the
    /// connection's peer; the header is ignored).
    #[arg(long = "trusted-proxy-hops", env = "TRUSTED_PROXY_HOPS", default_value = "0", global = true)]
    pub trusted_proxy_hops: usize,
    /// How long a connection may take to send a request's head, counted from its opening or
    /// from the previous response (an idle keep-alive connection is closed then too).
    #[arg(long = "header-read-timeout", env = "HEADER_READ_TIMEOUT", value_parser = parse_duration, global = true)]
    header_read_timeout: Option<Duration>,
    /// Deprecated: HEADER_READ_TIMEOUT in milliseconds.
    #[arg(long = "header-read-timeout-ms", env = "HEADER_READ_TIMEOUT_MS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    header_read_timeout_ms: Option<u64>,
    /// How long an operation's request body may take to arrive.
    #[arg(long = "body-read-timeout", env = "BODY_READ_TIMEOUT", value_parser = parse_duration, global = true)]
    body_read_timeout: Option<Duration>,
    /// Deprecated: BODY_READ_TIMEOUT in milliseconds.
    #[arg(long = "body-read-timeout-ms", env = "BODY_READ_TIMEOUT_MS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    body_read_timeout_ms: Option<u64>,
    /// Connections one client address may hold open at once (0: no cap).
    #[arg(
        long = "max-connections-per-client",
        env = "MAX_CONNECTIONS_PER_CLIENT",
        default_value = "64",
        global = true
    )]
    pub max_connections_per_client: usize,
    /// Replaced by TRUSTED_PROXY_HOPS; still read so that a deployment setting it is refused
    /// at start rather than silently limited by its proxy's address.
    #[arg(long = "trust-forwarded-for", env = "TRUST_FORWARDED_FOR", hide = true, global = true)]
    pub trust_forwarded_for: bool,
    #[command(flatten)]
    pub redis: RedisSettings,
}

/// The Redis the public rate limits are shared through (several instances admit the limit once);
/// without `REDIS_URL` each instance counts alone. `Debug` redacts the URL's password.
#[derive(Args, Clone)]
pub struct RedisSettings {
    /// `redis://[:password@]host:port[/db]` (or `rediss://`); unset: each instance counts alone.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true, global = true)]
    pub url: Option<String>,
    /// How long one call to Redis may take before the instance counts alone (and asks again a
    /// second later).
    #[arg(long = "redis-timeout", env = "REDIS_TIMEOUT", default_value = "100ms", value_parser = parse_duration, global = true)]
    pub timeout: Duration,
    /// The start of every key the limits write (`<prefix>:<scope>:<client address>`).
    #[arg(long = "redis-key-prefix", env = "REDIS_KEY_PREFIX", default_value = "bookings:ratelimit", global = true)]
    pub key_prefix: String,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("timeout", &self.timeout)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl LimitSettings {
    pub fn header_read_timeout(&self) -> Duration {
        self.settings()[0].or(Duration::from_secs(10))
    }
    pub fn body_read_timeout(&self) -> Duration {
        self.settings()[1].or(Duration::from_secs(30))
    }

    fn settings(&self) -> [Setting; 2] {
        [
            Setting::new("HEADER_READ_TIMEOUT", self.header_read_timeout, self.header_read_timeout_ms),
            Setting::new("BODY_READ_TIMEOUT", self.body_read_timeout, self.body_read_timeout_ms),
        ]
    }
}

#[derive(Args, Clone)]
pub struct NotifySettings {
    /// SMTP server for email, e.g. `smtp://127.0.0.1:2525` or `smtps://user:pass@host:465`.
    /// Without one, messages are logged instead of sent.
    #[arg(long = "smtp-url", env = "SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of every email.
    #[arg(long = "smtp-from", env = "SMTP_FROM", default_value = "Bookings <bookings@localhost>", global = true)]
    pub smtp_from: String,
    /// Comma-separated URLs every webhook message is POSTed to.
    #[arg(long = "webhook-urls", env = "WEBHOOK_URLS", global = true)]
    pub webhook_urls: Option<String>,
    /// The secret webhook messages are signed with (HMAC-SHA256): `whsec_<base64>` (Standard
    /// Webhooks' form: the key is the decoded bytes) or a raw secret of at least 16 characters.
    #[arg(long = "webhook-secret", env = "WEBHOOK_SECRET", hide_env_values = true, global = true)]
    pub webhook_secret: Option<String>,
    /// A rules file to use instead of the shipped `config/notifications.yaml`.
    #[arg(long = "notification-rules", env = "NOTIFICATION_RULES", global = true)]
    pub rules_file: Option<PathBuf>,
    /// Run a notification pass every N seconds inside `serve` (0: off; a cron calls
    /// POST /v1/bookings/notify instead).
    #[arg(long = "notify-interval-seconds", env = "NOTIFY_INTERVAL_SECONDS", default_value = "0", global = true)]
    pub interval_seconds: u64,
    /// How long connecting to the SMTP server, and each SMTP command, may take (e.g. `10s`).
    #[arg(long = "smtp-timeout", env = "SMTP_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub smtp_timeout: std::time::Duration,
    /// How long one email may take from start to end, connecting included (e.g. `60s`).
    #[arg(long = "smtp-message-timeout", env = "SMTP_MESSAGE_TIMEOUT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub smtp_message_timeout: std::time::Duration,
    /// How long one webhook POST may take, from connecting to the end of the answer (e.g. `10s`).
    #[arg(long = "webhook-timeout", env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub webhook_timeout: std::time::Duration,
}

impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("webhook_urls", &self.webhook_urls)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "<redacted>"))
            .field("rules_file", &self.rules_file)
            .field("interval_seconds", &self.interval_seconds)
            .field("smtp_timeout", &self.smtp_timeout)
            .field("smtp_message_timeout", &self.smtp_message_timeout)
            .field("webhook_timeout", &self.webhook_timeout)
            .finish()
    }
}

#[derive(Args, Clone)]
pub struct JwtSettings {
    /// HS256 (shared secret), RS256 or ES256 (public key or JWKS).
    #[arg(long = "jwt-algorithm", env = "JWT_ALGORITHM", value_enum, default_value = "HS256", global = true)]
    pub algorithm: JwtAlgorithm,
    /// HS256 shared secret. Without one (and without a key file) a random secret is generated on
    /// first start and kept in `<data-dir>/jwt-secret`.
    #[arg(long = "jwt-secret", env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,
    /// PEM public key that verifies RS256/ES256 tokens.
    #[arg(long = "jwt-public-key-file", env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub public_key_file: Option<PathBuf>,
    /// JWKS file whose keys verify RS256/ES256 tokens (chosen by `kid`).
    #[arg(long = "jwt-jwks-file", env = "JWT_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,
    /// PEM private key the `token` command signs RS256/ES256 tokens with.
    #[arg(long = "jwt-private-key-file", env = "JWT_PRIVATE_KEY_FILE", global = true)]
    pub private_key_file: Option<PathBuf>,
    /// Required `iss`, when set.
    #[arg(long = "jwt-issuer", env = "JWT_ISSUER", global = true)]
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    #[arg(long = "jwt-audience", env = "JWT_AUDIENCE", global = true)]
    pub audience: Option<String>,
    /// The longest token lifetime: a token whose `exp` is further ahead is refused, and `token
    /// --ttl` may not exceed it. E.g. `365d`, `12h`, `3600` (seconds).
    #[arg(long = "jwt-max-ttl", env = "JWT_MAX_TTL", default_value = "365d", value_parser = parse_duration, global = true)]
    pub max_ttl: std::time::Duration,
}

impl JwtSettings {
    /// What [`crate::auth`] signs and verifies with.
    pub fn keys(&self) -> crate::auth::KeySettings {
        crate::auth::KeySettings {
            algorithm: match self.algorithm {
                JwtAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
                JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
                JwtAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            },
            secret: self.secret.clone(),
            public_key_file: self.public_key_file.clone(),
            jwks_file: self.jwks_file.clone(),
            private_key_file: self.private_key_file.clone(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            max_ttl: self.max_ttl,
        }
    }
}

impl TokenArgs {
    /// The token these arguments ask for.
    pub fn request(&self) -> crate::auth::TokenRequest {
        crate::auth::TokenRequest {
            sub: self.sub,
            scope: self.scope.clone(),
            admin: self.admin,
            email: self.email.clone(),
            ttl: self.ttl,
        }
    }
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("public_key_file", &self.public_key_file)
            .field("jwks_file", &self.jwks_file)
            .field("private_key_file", &self.private_key_file)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_ttl", &self.max_ttl)
            .finish()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("public_base_url", &self.public_base_url)
            .field("manage_link_secret", &self.manage_link_secret.as_ref().map(|_| "<redacted>"))
            .field("app_env", &self.app_env)
            .field("clock_offset_seconds", &self.clock_offset_seconds)
            .field("availability_cache", &self.availability_cache())
            .field("log_format", &self.log_format)
            .field("metrics_bind", &self.metrics_bind)
            .field("otlp_endpoint", &self.otlp_endpoint.as_deref().map(redact_url))
            .field("jwt", &self.jwt)
            .field("notify", &self.notify)
            .field("limits", &self.limits)
            .field("db", &self.db)
            .field("pages", &self.pages)
            .finish()
    }
}

/// A database URL with any password replaced, for logs. Anything `url` cannot read as a URL
/// with a password (a SQLite path, say) is shown as it is.
pub fn redact_url(raw: &str) -> String {
    const MARK: &str = "REDACTED";
    let Ok(mut url) = url::Url::parse(raw) else { return raw.to_string() };
    if url.password().is_none() || url.set_password(Some(MARK)).is_err() {
        return raw.to_string();
    }
    url.to_string().replacen(&format!(":{MARK}@"), ":<redacted>@", 1)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "CLOCK_OFFSET_SECONDS is set but APP_ENV is {0:?}: shifting the clock is only allowed when APP_ENV is development or test"
    )]
    ClockOffsetInProduction(AppEnv),
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.clock_offset_seconds.is_some() && self.app_env == AppEnv::Production {
            return Err(ConfigError::ClockOffsetInProduction(self.app_env));
        }
        if self.limits.trust_forwarded_for {
            return Err(ConfigError::Invalid(
                "TRUST_FORWARDED_FOR was replaced by TRUSTED_PROXY_HOPS: set it to the number of proxies that \
                 append to X-Forwarded-For (1 behind one load balancer), and unset TRUST_FORWARDED_FOR"
                    .into(),
            ));
        }
        for setting in
            self.db.settings().iter().chain(&self.limits.settings()).chain([&self.availability_cache_setting()])
        {
            setting.check()?;
        }
        if let Some(url) = &self.limits.redis.url {
            if let Err(e) = redis::Client::open(url.as_str()) {
                return Err(ConfigError::Invalid(format!("REDIS_URL {} is not a Redis URL: {e}", redact_url(url))));
            }
        }
        if let Some(url) = &self.public_base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "PUBLIC_BASE_URL must start with http:// or https://, got {url}"
                )));
            }
        }
        Ok(())
    }

    /// How long availability may reuse a link's settings and busy time (zero: off).
    pub fn availability_cache(&self) -> Duration {
        self.availability_cache_setting().or(Duration::from_secs(1))
    }

    fn availability_cache_setting(&self) -> Setting {
        Setting::new("AVAILABILITY_CACHE", self.availability_cache, self.availability_cache_ms)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("bookings.db").display()),
        }
    }

    /// Visitors' manage links: the kept or configured secret, and the public base URL.
    pub fn manage_links(&self) -> anyhow::Result<crate::domain::reservation::ManageLinks> {
        use crate::domain::reservation::{ManageKey, ManageLinks};
        let secret = crate::auth::kept_secret(
            &crate::auth::MANAGE_LINK_SECRET,
            self.manage_link_secret.as_deref(),
            &self.data_dir,
        )?;
        Ok(ManageLinks::new(ManageKey::new(&secret), &self.public_base_url()))
    }

    pub fn public_base_url(&self) -> String {
        self.public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

/// A positive length of time: bare digits are seconds (`3600`), anything else is read by
/// humantime (`500ms`, `90s`, `90m`, `12h`, `30d`, `1h 30m`).
pub fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    let value = value.trim();
    let duration = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        std::time::Duration::from_secs(value.parse().map_err(|_| format!("{value:?} is too large"))?)
    } else {
        humantime::parse_duration(value)
            .map_err(|e| format!("{value:?} is not a duration like 90s, 15m, 12h or 30d: {e}"))?
    };
    if duration.is_zero() {
        return Err(format!("{value:?} is not a positive duration"));
    }
    Ok(duration)
}

/// [`parse_duration`], or zero (`0`, `0s`): "off" for the settings that allow it.
pub fn parse_duration_or_zero(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value.trim()) {
        Ok(duration) if duration.is_zero() => Ok(duration),
        _ if value.trim() == "0" => Ok(Duration::ZERO),
        _ => parse_duration(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_database_urls() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:<redacted>@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[test]
    fn parses_durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("365d"), Ok(Duration::from_secs(365 * 86400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        for bad in ["0", "0s", "", "soon", "-5s", "5 parsecs", "99999999999999999999", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_a_shifted_clock_in_production() {
        let cli =
            Cli::try_parse_from(["bookings", "--app-env", "production", "--clock-offset-seconds", "-60"]).unwrap();
        assert!(matches!(cli.settings.validate(), Err(ConfigError::ClockOffsetInProduction(_))));
        let cli = Cli::try_parse_from(["bookings", "--app-env", "test", "--clock-offset-seconds", "-60"]).unwrap();
        assert!(cli.settings.validate().is_ok());
    }

    #[test]
    fn refuses_the_replaced_forwarded_for_switch() {
        let cli = Cli::try_parse_from(["bookings", "--trust-forwarded-for"]).unwrap();
        let err = cli.settings.validate().unwrap_err().to_string();
        assert!(err.contains("TRUSTED_PROXY_HOPS"), "{err}");
        let cli = Cli::try_parse_from(["bookings", "--trusted-proxy-hops", "2"]).unwrap();
        assert!(cli.settings.validate().is_ok());
        assert_eq!(cli.settings.limits.trusted_proxy_hops, 2);
        assert!(Cli::try_parse_from(["bookings", "--header-read-timeout-ms", "0"]).is_err());
    }

    #[test]
    fn lengths_of_time_are_durations_and_the_ms_names_still_read() {
        let cli = Cli::try_parse_from(["bookings"]).unwrap();
        assert_eq!(cli.settings.db.lock_timeout(), Duration::from_secs(1));
        assert_eq!(cli.settings.limits.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(cli.settings.availability_cache(), Duration::from_secs(1));
        let cli = Cli::try_parse_from([
            "bookings",
            "--db-lock-timeout",
            "1500ms",
            "--body-read-timeout",
            "2m",
            "--availability-cache",
            "0",
        ])
        .unwrap();
        assert!(cli.settings.validate().is_ok());
        assert_eq!(cli.settings.db.lock_timeout(), Duration::from_millis(1500));
        assert_eq!(cli.settings.limits.body_read_timeout(), Duration::from_secs(120));
        assert_eq!(cli.settings.availability_cache(), Duration::ZERO);
        let old =
            Cli::try_parse_from(["bookings", "--db-lock-timeout-ms", "1500", "--availability-cache-ms", "0"]).unwrap();
        assert!(old.settings.validate().is_ok());
        assert_eq!(old.settings.db.lock_timeout(), Duration::from_millis(1500));
        assert_eq!(old.settings.availability_cache(), Duration::ZERO);
        let both =
            Cli::try_parse_from(["bookings", "--db-lock-timeout", "1s", "--db-lock-timeout-ms", "1000"]).unwrap();
        let err = both.settings.validate().unwrap_err().to_string();
        assert!(err.contains("DB_LOCK_TIMEOUT and DB_LOCK_TIMEOUT_MS"), "{err}");
        assert!(Cli::try_parse_from(["bookings", "--header-read-timeout", "0"]).is_err());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let cli = Cli::try_parse_from([
            "bookings",
            "--jwt-secret",
            "hunter2-very-secret",
            "--smtp-url",
            "smtps://mailer:smtp-password@mail.example:465",
            "--webhook-secret",
            "webhook-secret-value",
            "--redis-url",
            "redis://:redis-password@cache.example:6379/2",
        ])
        .unwrap();
        let printed = format!("{:?}", cli.settings);
        assert!(printed.contains("redis://:<redacted>@cache.example:6379/2"), "{printed}");
        assert!(!printed.contains("redis-password"));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("smtp-password"));
        assert!(!printed.contains("webhook-secret-value"));
    }
}
