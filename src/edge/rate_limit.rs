//! Where the public operations' per-client rate limits are counted: in this process
//! ([`LocalLimiter`], governor's keyed GCRA), or with `REDIS_URL` in Redis, shared by every
//! instance ([`SharedLimiter`]: the same GCRA in one Lua script call per request), so N instances
//! admit the limit once. Both answer the same way: a token, or how long until there is one.
//!
//! Redis is asked within a short timeout. When it cannot answer (unreachable, slow, an error) an
//! instance counts alone, with its own [`LocalLimiter`], and keeps serving; it says so once (a
//! warning, `rate_limit_fallback_total`, the gauge `rate_limit_backend`), asks Redis again after
//! [`PROBE_AFTER`] (one request then, not every request while it is down), and says once more
//! (info) when the limits are shared again.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an instance counts alone before it asks Redis again.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);

/// A limit: `burst` requests at once, then `per_minute` spread evenly (one every
/// [`Rate::interval`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    /// The time one request's token takes to come back (GCRA's emission interval).
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(60.0 / f64::from(self.per_minute.max(1)))
    }

    /// How far ahead of now a client's theoretical arrival time may run: the whole burst.
    pub fn tolerance(self) -> Duration {
        self.interval() * self.burst.max(1)
    }
}

/// A token bucket per client address, in this process (governor's keyed GCRA limiter).
pub struct LocalLimiter<C: Clock = DefaultClock> {
    limiter: governor::RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

/// Clients kept before those whose bucket has refilled are forgotten.
const MAX_CLIENTS: usize = 100_000;

impl LocalLimiter {
    pub fn new(rate: Rate) -> Self {
        Self::with_clock(rate, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LocalLimiter<C> {
    pub fn with_clock(rate: Rate, clock: C) -> Self {
        let quota = Quota::with_period(rate.interval())
            .expect("a positive period")
            .allow_burst(NonZeroU32::new(rate.burst.max(1)).expect("at least 1"));
        let limiter = governor::RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone());
        Self { limiter, clock }
    }

    /// Takes a token for `client`, or says how long until one is there.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > MAX_CLIENTS {
            // Forget clients whose bucket has refilled: they are as good as new.
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// GCRA over one key, in Redis's clock (so every instance reads the same time): the key holds the
/// client's theoretical arrival time (TAT) in microseconds. A request is admitted when the TAT it
/// would leave is at most `tolerance` ahead of now, and then stored, expiring when it falls
/// behind now (an absent key and an expired one mean the same: a full bucket), so nothing
/// accumulates. A refusal stores nothing and answers the microseconds until a token is there;
/// an admission answers 0. The same arithmetic as governor's: `burst` at once, then one per
/// `interval`, a refusal waiting the time until the next token.
///
/// `KEYS[1]` the client's key; `ARGV[1]` the interval, `ARGV[2]` the tolerance, in microseconds.
pub const GCRA_SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + interval
local ahead = next_tat - now
if ahead > tolerance then
  return ahead - tolerance
end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil(ahead / 1000))
return 0
";

/// The Redis connection all of a process's shared limiters use, and whether it is answering.
pub struct Redis {
    client: redis::Client,
    connection: OnceLock<ConnectionManager>,
    script: redis::Script,
    timeout: Duration,
    key_prefix: String,
    /// `Some(when to ask again)` while this process counts alone.
    down: Mutex<Option<Instant>>,
    probing: AtomicBool,
}

impl Redis {
    /// A connection to `url`, made on first use; each call waits at most `timeout`.
    pub fn new(url: &str, timeout: Duration, key_prefix: &str) -> redis::RedisResult<Arc<Self>> {
        let client = redis::Client::open(url)?;
        metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "redis").set(1.0);
        metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "local").set(0.0);
        Ok(Arc::new(Self {
            client,
            connection: OnceLock::new(),
            script: redis::Script::new(GCRA_SCRIPT),
            timeout,
            key_prefix: key_prefix.to_string(),
            down: Mutex::new(None),
            probing: AtomicBool::new(false),
        }))
    }

    fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        // Lazy: it connects on its first command, and reconnects by itself after a failure. One
        // attempt per command (no retries inside it): the caller's timeout bounds the wait.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let made = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.connection.get_or_init(|| made).clone())
    }

    /// Runs the script for `key`: `Ok(Ok(()))` admitted, `Ok(Err(wait))` refused, `Err` when
    /// Redis did not answer within the timeout.
    async fn gcra(&self, key: &str, rate: Rate) -> Result<Result<(), Duration>, String> {
        let mut connection = self.connection().map_err(|e| e.to_string())?;
        let mut call = self.script.key(key);
        call.arg(rate.interval().as_micros() as u64).arg(rate.tolerance().as_micros() as u64);
        match tokio::time::timeout(self.timeout, call.invoke_async::<i64>(&mut connection)).await {
            Ok(Ok(0)) => Ok(Ok(())),
            Ok(Ok(wait)) => Ok(Err(Duration::from_micros(wait.unsigned_abs()))),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    /// Whether to ask Redis now: yes while it answers; while it does not, once per
    /// [`PROBE_AFTER`] (the first request after it, alone).
    fn should_ask(&self) -> bool {
        let down = *self.down.lock().unwrap_or_else(|e| e.into_inner());
        match down {
            None => true,
            Some(retry_at) => Instant::now() >= retry_at && !self.probing.swap(true, Ordering::AcqRel),
        }
    }

    fn answered(&self) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.take().is_some() {
            tracing::info!("Redis answers again: the public rate limits are shared across instances again");
            metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "redis").set(1.0);
            metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "local").set(0.0);
        }
        self.probing.store(false, Ordering::Release);
    }

    fn failed(&self, error: &str) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.is_none() {
            tracing::warn!(
                error,
                "Redis does not answer: the public rate limits are counted by this instance alone until it does"
            );
            metrics::counter!(crate::metrics::RATE_LIMIT_FALLBACK).increment(1);
            metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "redis").set(0.0);
            metrics::gauge!(crate::metrics::RATE_LIMIT_BACKEND, "backend" => "local").set(1.0);
        }
        *down = Some(Instant::now() + PROBE_AFTER);
        self.probing.store(false, Ordering::Release);
    }

    /// Whether this process counts alone now.
    pub fn is_down(&self) -> bool {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// A limit counted in Redis, with this process's own count to fall back on.
pub struct SharedLimiter {
    redis: Arc<Redis>,
    /// `<REDIS_KEY_PREFIX>:<scope>:`; a client's key is this and its address, nothing else.
    key_prefix: String,
    rate: Rate,
    local: LocalLimiter,
}

impl SharedLimiter {
    pub fn new(redis: Arc<Redis>, scope: &str, rate: Rate) -> Self {
        let key_prefix = format!("{}:{scope}:", redis.key_prefix);
        Self { redis, key_prefix, rate, local: LocalLimiter::new(rate) }
    }

    /// The Redis key `client` is counted under.
    pub fn key(&self, client: IpAddr) -> String {
        format!("{}{client}", self.key_prefix)
    }

    pub async fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.redis.should_ask() {
            match self.redis.gcra(&self.key(client), self.rate).await {
                Ok(verdict) => {
                    self.redis.answered();
                    return verdict;
                }
                Err(error) => self.redis.failed(&error),
            }
        }
        self.local.check(client)
    }
}

/// One limit (a scope: `public` for the operations, `pages` for the pages' form posts), counted
/// here or in Redis, so the guard has one code path. Every refusal is counted in
/// `rate_limit_rejections_total{scope}`.
pub struct Limiter {
    scope: &'static str,
    counter: Counter,
}

enum Counter {
    Local(LocalLimiter),
    Shared(SharedLimiter),
}

impl Limiter {
    /// `rate`, counted in Redis when there is one, else here.
    pub fn new(scope: &'static str, rate: Rate, redis: Option<Arc<Redis>>) -> Self {
        let counter = match redis {
            Some(redis) => Counter::Shared(SharedLimiter::new(redis, scope, rate)),
            None => Counter::Local(LocalLimiter::new(rate)),
        };
        Self { scope, counter }
    }

    /// Takes a token for `client`, or says how long until one is there.
    pub async fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let verdict = match &self.counter {
            Counter::Local(limiter) => limiter.check(client),
            Counter::Shared(limiter) => limiter.check(client).await,
        };
        if verdict.is_err() {
            metrics::counter!(crate::metrics::RATE_LIMIT_REJECTIONS, "scope" => self.scope).increment(1);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let clock = governor::clock::FakeRelativeClock::default();
        let limiter = LocalLimiter::with_clock(Rate { per_minute: 60, burst: 3 }, clock.clone());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(ip).is_ok());
        // Another client has its own bucket.
        assert!(limiter.check("10.0.0.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_rate_gives_the_scripts_interval_and_tolerance() {
        let rate = Rate { per_minute: 60, burst: 3 };
        assert_eq!(rate.interval(), Duration::from_secs(1));
        assert_eq!(rate.tolerance(), Duration::from_secs(3));
        let rate = Rate { per_minute: 600, burst: 100 };
        assert_eq!(rate.interval().as_micros(), 100_000);
        assert_eq!(rate.tolerance().as_micros(), 10_000_000);
    }

    /// Redis at 127.0.0.1:6379, as on the CI machines; `None` (the test is skipped) when it is
    /// unreachable, except with `CI` set: there the test fails.
    fn test_redis() -> Option<String> {
        let addr: std::net::SocketAddr = "127.0.0.1:6379".parse().unwrap();
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
            return Some(format!("redis://{addr}"));
        }
        assert!(std::env::var_os("CI").is_none(), "CI is set but Redis at {addr} is unreachable");
        eprintln!("skipped: Redis at {addr} is unreachable");
        None
    }

    fn unique_prefix() -> String {
        format!("bookings-test:{}", uuid::Uuid::new_v4().simple())
    }

    #[tokio::test]
    async fn the_script_in_redis_admits_the_burst_then_the_rate_to_every_instance_once() {
        let Some(url) = test_redis() else { return };
        let prefix = unique_prefix();
        let rate = Rate { per_minute: 60, burst: 3 };
        // Two instances: two connections, one bucket per client.
        let a = SharedLimiter::new(Redis::new(&url, Duration::from_secs(2), &prefix).unwrap(), "public", rate);
        let b = SharedLimiter::new(Redis::new(&url, Duration::from_secs(2), &prefix).unwrap(), "public", rate);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(a.key(ip), format!("{prefix}:public:192.0.2.7"));
        assert!(a.check(ip).await.is_ok());
        assert!(b.check(ip).await.is_ok());
        assert!(a.check(ip).await.is_ok());
        // The burst is spent in both; the wait is the time until the next token (one second).
        let wait = b.check(ip).await.unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        assert!(a.check(ip).await.is_err());
        assert!(!a.redis.is_down() && !b.redis.is_down());
        // The key expires by itself once the bucket is full again (three tokens: under 3 s).
        let mut connection = a.redis.client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = redis::cmd("PTTL").arg(a.key(ip)).query_async(&mut connection).await.unwrap();
        assert!(ttl > 2_000 && ttl <= 3_000, "{ttl}");
        // Another client, and another scope, have buckets of their own.
        assert!(a.check("192.0.2.8".parse().unwrap()).await.is_ok());
        let pages = SharedLimiter::new(a.redis.clone(), "pages", rate);
        assert!(pages.check(ip).await.is_ok());
        // A token comes back after the interval, one only.
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
        assert!(b.check(ip).await.is_ok());
        assert!(a.check(ip).await.is_err());
    }

    /// A metric's name, labels and value.
    type Recorded = Vec<(String, Vec<(String, String)>, String)>;

    /// The counters and gauges recorded while `run` runs on a runtime of this thread.
    fn recorded(run: impl std::future::Future<Output = ()>) -> Recorded {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run)
        });
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let labels = key.key().labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
                let value = match value {
                    DebugValue::Counter(n) => n.to_string(),
                    DebugValue::Gauge(g) => g.into_inner().to_string(),
                    DebugValue::Histogram(h) => format!("{h:?}"),
                };
                (key.key().name().to_string(), labels, value)
            })
            .collect()
    }

    fn value_of(recorded: &Recorded, name: &str, label: (&str, &str)) -> Option<String> {
        recorded
            .iter()
            .find(|(n, labels, _)| n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1))
            .map(|(_, _, v)| v.clone())
    }

    #[test]
    fn an_unreachable_redis_is_left_for_the_local_count_at_once_and_said_once() {
        // A port nothing listens on: connections are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let recorded = recorded(async move {
            let redis = Redis::new(&format!("redis://127.0.0.1:{port}"), Duration::from_millis(100), "t").unwrap();
            let limiter = Limiter::new("public", Rate { per_minute: 60, burst: 2 }, Some(redis.clone()));
            let ip: IpAddr = "192.0.2.7".parse().unwrap();
            let started = Instant::now();
            // This process's own bucket: its burst, then a refusal with the local wait.
            assert!(limiter.check(ip).await.is_ok());
            assert!(redis.is_down());
            assert!(limiter.check(ip).await.is_ok());
            let wait = limiter.check(ip).await.unwrap_err();
            assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
            assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
            // Not asked again on every request while it is down; once the back-off is over.
            assert!(!redis.should_ask());
            *redis.down.lock().unwrap() = Some(Instant::now());
            assert!(redis.should_ask());
            assert!(!redis.should_ask(), "one request probes at a time");
            assert!(limiter.check(ip).await.is_err());
            assert!(redis.is_down());
        });
        let fallbacks: Vec<_> = recorded.iter().filter(|(n, _, _)| n == "rate_limit_fallback_total").collect();
        assert_eq!(fallbacks.len(), 1, "{recorded:?}");
        assert_eq!(fallbacks[0].2, "1", "counted once: {recorded:?}");
        assert_eq!(value_of(&recorded, "rate_limit_backend", ("backend", "local")).as_deref(), Some("1"));
        assert_eq!(value_of(&recorded, "rate_limit_backend", ("backend", "redis")).as_deref(), Some("0"));
        assert_eq!(value_of(&recorded, "rate_limit_rejections_total", ("scope", "public")).as_deref(), Some("2"));
    }

    #[test]
    fn a_local_limit_counts_its_rejections_by_scope() {
        let recorded = recorded(async {
            let limiter = Limiter::new("pages", Rate { per_minute: 60, burst: 1 }, None);
            let ip: IpAddr = "192.0.2.7".parse().unwrap();
            assert!(limiter.check(ip).await.is_ok());
            assert!(limiter.check(ip).await.is_err());
        });
        assert_eq!(value_of(&recorded, "rate_limit_rejections_total", ("scope", "pages")).as_deref(), Some("1"));
    }
}
