//! Transactions that write: on SQLite one writer turn at a time in arrival order, then `BEGIN IMMEDIATE` (taken up front so
//! no read-then-upgrade deadlock), with the WAL checkpointed in the background ([`SqliteWriter`]),
//! a plain transaction with row locks on PostgreSQL; the
//! classification of database errors (transient: worth a retry, then a 503; conflicts); and
//! [`Writes`], which runs a write transaction with retries inside a time budget and bounds how
//! many of this process's requests wait at the database for one row. Its metrics: retried and
//! given-up transactions, statements run and slow ones ([`count_statements`]), the pool's
//! connections ([`pool_stats`]).

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Begins a write transaction. On SQLite every write transaction of this process first takes
/// the database file's one writer turn ([`SqliteWriter`]), in arrival order, so concurrent
/// writers queue here instead of polling SQLite's busy handler (which lets a lucky newcomer
/// overtake one that has waited long: at 20 concurrent writers one reservation in a hundred
/// waited most of a second), and runs on the file's writer connection, which only the turn's
/// holder uses (so a turn never waits for the pool, nor for a connection check); `BEGIN
/// IMMEDIATE` and the busy timeout still guard against other processes on the same file. Reads
/// take no turn and stay concurrent on the pool (WAL).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let writer = SqliteWriter::of(db);
            let turn = writer.turn().await?;
            let txn = writer
                .connection(db)
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            Ok(WriteTxn { txn, _turn: Some(turn) })
        }
        _ => Ok(WriteTxn { txn: db.begin().await?, _turn: None }),
    }
}

/// The connection for writes outside a transaction (an autocommit statement: an idempotency
/// key's row, a user's stored address). On SQLite each statement takes
/// the writer's turn, as [`begin_write`] does, and runs on the writer connection, so such
/// writes neither overtake waiting transactions nor starve behind them; elsewhere it is `db`.
/// Only for a `db` with no write transaction of this task open (on SQLite it would wait for
/// its own turn).
pub fn autocommit(db: &DatabaseConnection) -> Autocommit<'_> {
    Autocommit { db }
}

/// See [`autocommit`].
pub struct Autocommit<'a> {
    db: &'a DatabaseConnection,
}

impl Autocommit<'_> {
    /// The writer (and its turn, held while the statement runs) on SQLite, else `None`.
    async fn turn(&self) -> Result<Option<(SqliteWriter, tokio::sync::OwnedMutexGuard<()>)>, DbErr> {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => {
                let writer = SqliteWriter::of(self.db);
                let turn = writer.turn().await?;
                Ok(Some((writer, turn)))
            }
            _ => Ok(None),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Autocommit<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.turn().await? {
            Some((writer, _turn)) => writer.connection(self.db).execute_raw(stmt).await,
            None => self.db.execute_raw(stmt).await,
        }
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self.turn().await? {
            Some((writer, _turn)) => writer.connection(self.db).execute_unprepared(sql).await,
            None => self.db.execute_unprepared(sql).await,
        }
    }
    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.turn().await? {
            Some((writer, _turn)) => writer.connection(self.db).query_one_raw(stmt).await,
            None => self.db.query_one_raw(stmt).await,
        }
    }
    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.turn().await? {
            Some((writer, _turn)) => writer.connection(self.db).query_all_raw(stmt).await,
            None => self.db.query_all_raw(stmt).await,
        }
    }
    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }
}

/// A write transaction, holding its writer turn on SQLite until it commits, rolls back or is
/// dropped. Used as the transaction it wraps (`&WriteTxn` is a connection, `*txn` the
/// `DatabaseTransaction`).
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }
    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }
    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }
    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// One SQLite database file's writer: its turns, a fair (first come, first served) async mutex
/// shared by every pool of this process on that file, and for each pool a writer connection (a
/// pool of one with the pool's settings, never tested before use: the turn's holder is its only
/// user). A turn is waited for at most the pool's acquire timeout (a turn is what a writer
/// connection would be), then the wait is a transient fault like a pool timeout: retried within
/// the budget, then a 503.
///
/// The WAL is checkpointed (its pages copied into the database file, with an `fsync`) by a
/// background task on a connection of its own (`Checkpointer`), not by the commit that
/// happens to cross SQLite's threshold: that commit would do it holding the turn, and every
/// waiting writer would wait for the copy and the `fsync` too. The writer connections still
/// checkpoint past [`WRITER_AUTOCHECKPOINT_PAGES`], so the WAL stays bounded if the background
/// one falls behind.
pub struct SqliteWriter {
    turns: Arc<tokio::sync::Mutex<()>>,
    /// `None` for an in-memory database, one per connection: its writes run on the pool.
    connection: Option<DatabaseConnection>,
    wait: Duration,
    /// The file's turns taken so far (what tells the checkpointer there may be work).
    taken: Arc<AtomicU64>,
}

#[derive(Default)]
struct WriterFile {
    turns: Arc<tokio::sync::Mutex<()>>,
    /// Each pool's writer connection, by the pool's connect options (one `Arc` per pool).
    connections: Vec<(Arc<SqliteConnectOptions>, DatabaseConnection)>,
    taken: Arc<AtomicU64>,
    checkpoints: Arc<AtomicU64>,
    checkpointer: Option<tokio::task::JoinHandle<()>>,
}

/// A writer connection checkpoints the WAL itself only past this many pages (40 MiB of 4 KiB
/// pages; SQLite's default is 1,000): the `Checkpointer` does it long before.
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// How often the `Checkpointer` looks whether a turn was taken since it last checkpointed.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Checkpoints one SQLite file's WAL in the background: every [`CHECKPOINT_EVERY`] after a
/// writer's turn was taken since the last time, `PRAGMA wal_checkpoint(PASSIVE)` on a connection
/// of its own (a pool of one, like a writer connection). PASSIVE copies what it can without
/// waiting for readers or writers; a writer that begins once everything was copied starts the
/// WAL over from its beginning. It stops when its file's entry is gone (the file was deleted).
struct Checkpointer {
    connection: DatabaseConnection,
    taken: Weak<AtomicU64>,
    checkpoints: Arc<AtomicU64>,
}

impl Checkpointer {
    async fn run(self) {
        let mut seen = 0;
        let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(taken) = self.taken.upgrade().map(|t| t.load(Ordering::Relaxed)) else { return };
            if taken == seen {
                continue;
            }
            seen = taken;
            let statement = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
            match self.connection.query_one_raw(statement).await {
                Ok(_) => {
                    self.checkpoints.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(crate::metrics::DB_CHECKPOINTS).increment(1);
                }
                Err(e) => tracing::warn!(error = %e, "the background WAL checkpoint failed"),
            }
        }
    }
}

/// A pool of one connection on a SQLite file for one user at a time (the turn's holder, or the
/// checkpointer): never tested before use, never closed for idleness; with
/// `wal_autocheckpoint` set when given.
fn writer_pool(options: &SqliteConnectOptions, wait: Duration, autocheckpoint: Option<u32>) -> DatabaseConnection {
    let mut options = options.clone();
    if let Some(pages) = autocheckpoint {
        options = options.pragma("wal_autocheckpoint", pages.to_string());
    }
    sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(
        sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(wait)
            .connect_lazy_with(options),
    )
}

impl SqliteWriter {
    fn files() -> &'static std::sync::Mutex<HashMap<std::path::PathBuf, WriterFile>> {
        static FILES: std::sync::LazyLock<std::sync::Mutex<HashMap<std::path::PathBuf, WriterFile>>> =
            std::sync::LazyLock::new(Default::default);
        &FILES
    }

    pub fn of(db: &DatabaseConnection) -> Self {
        let pool = db.get_sqlite_connection_pool();
        let wait = pool.options().get_acquire_timeout();
        let options = pool.connect_options();
        let file = options.get_filename();
        let in_memory =
            file.as_os_str().is_empty() || file.to_string_lossy().starts_with(":memory:") || file.starts_with("file:");
        let mut files = Self::files().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !files.contains_key(file) {
            // A file that is gone (a test's) takes its writer connections with it.
            files.retain(|path, _| path.exists());
        }
        let writers = files.entry(file.to_path_buf()).or_default();
        let (turns, taken) = (writers.turns.clone(), writers.taken.clone());
        if in_memory {
            return Self { turns, connection: None, wait, taken };
        }
        if writers.checkpointer.as_ref().is_none_or(|task| task.is_finished()) {
            // (A runtime that ended took the task with it: the next one starts it again.)
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let checkpointer = Checkpointer {
                    connection: writer_pool(&options, wait, None),
                    taken: Arc::downgrade(&writers.taken),
                    checkpoints: writers.checkpoints.clone(),
                };
                writers.checkpointer = Some(runtime.spawn(checkpointer.run()));
            }
        }
        if let Some((_, connection)) = writers.connections.iter().find(|(known, _)| Arc::ptr_eq(known, &options)) {
            return Self { turns, connection: Some(connection.clone()), wait, taken };
        }
        // The writer connections of pools that are gone (only this map holds their options).
        writers.connections.retain(|(known, _)| Arc::strong_count(known) > 1);
        let mut connection = writer_pool(&options, wait, Some(WRITER_AUTOCHECKPOINT_PAGES));
        count_statements(&mut connection);
        writers.connections.push((options, connection.clone()));
        Self { turns, connection: Some(connection), wait, taken }
    }

    /// Background checkpoints run so far on `db`'s file (for tests and operators' curiosity;
    /// the metric counts them for every file).
    pub fn checkpoints(db: &DatabaseConnection) -> u64 {
        let file = db.get_sqlite_connection_pool().connect_options().get_filename().to_path_buf();
        let files = Self::files().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        files.get(&file).map_or(0, |f| f.checkpoints.load(Ordering::Relaxed))
    }

    /// The connection the turn's holder writes on (`db` itself for an in-memory database).
    fn connection<'a>(&'a self, db: &'a DatabaseConnection) -> &'a DatabaseConnection {
        self.connection.as_ref().unwrap_or(db)
    }

    pub async fn turn(&self) -> Result<tokio::sync::OwnedMutexGuard<()>, DbErr> {
        let turn = tokio::time::timeout(self.wait, self.turns.clone().lock_owned())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout))?;
        self.taken.fetch_add(1, Ordering::Relaxed);
        Ok(turn)
    }
}

/// Counts every statement `db` runs, and those over [`crate::metrics::SLOW_STATEMENT`] (sea-orm
/// times each statement and calls back).
pub fn count_statements(db: &mut DatabaseConnection) {
    db.set_metric_callback(|info| {
        metrics::counter!(crate::metrics::DB_STATEMENTS).increment(1);
        if info.elapsed > crate::metrics::SLOW_STATEMENT {
            metrics::counter!(crate::metrics::DB_SLOW_STATEMENTS).increment(1);
        }
    });
}

/// The pool's connections now: how many it holds, how many of those are idle, and its most.
pub fn pool_stats(db: &DatabaseConnection) -> Option<(u32, usize, u32)> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((pool.size(), pool.num_idle(), pool.options().get_max_connections()))
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((pool.size(), pool.num_idle(), pool.options().get_max_connections()))
        }
        _ => None,
    }
}

/// The SQLSTATE (PostgreSQL) or extended result code (SQLite) of a database error.
pub fn error_code(err: &DbErr) -> Option<String> {
    sqlx_error(err).and_then(|e| e.as_database_error()).and_then(|d| d.code()).map(|c| c.into_owned())
}

fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// A fault that says nothing about the request and may be gone in a moment: a PostgreSQL
/// deadlock, serialization failure, lock or statement timeout, a server shutting down or
/// refusing connections, a read-only server; SQLite busy, locked or read-only; a lost
/// connection; no pooled connection in time. Such a request is retried, then answered 503.
pub fn is_transient(err: &DbErr) -> bool {
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match error_code(err).as_deref() {
        // 40P01 deadlock, 40001 serialization, 55P03 lock_timeout, 57014 statement_timeout,
        // 57P01..57P03 the server terminating or refusing connections, 53300 too many
        // connections, 25006 a read-only transaction (a standby, a read-only database), 08xxx
        // connection exceptions.
        Some("40P01" | "40001" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "53300" | "25006") => true,
        Some(code) if code.starts_with("08") => true,
        // SQLite extended result codes: the primary code is the low byte (5 BUSY, 6 LOCKED,
        // 8 READONLY).
        Some(code) => code.parse::<u32>().map(|c| matches!(c & 0xff, 5 | 6 | 8)).unwrap_or(false),
        None => match sqlx_error(err) {
            Some(e) => matches!(
                e,
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
                    | sea_orm::sqlx::Error::WorkerCrashed
                    | sea_orm::sqlx::Error::Protocol(_)
            ),
            None => {
                let text = err.to_string();
                text.contains("database is locked") || text.contains("deadlock detected")
            }
        },
    }
}

/// An exclusion-constraint violation (PostgreSQL 23P01): the last line of defence said no.
pub fn is_exclusion_violation(err: &DbErr) -> bool {
    error_code(err).as_deref() == Some("23P01")
}

/// An error that may say "transient: try again" (see [`is_transient`]), and the transient
/// fault [`Writes`] answers when a request waited for a row past its budget.
pub trait Transient {
    fn is_transient(&self) -> bool;
    fn unavailable(cause: String) -> Self;
}

/// A row a write transaction locks, as a key for [`Writes`]: the table and the row's id (or
/// another unique column it is reached by, such as a booking link's token). Made from an id by
/// [`Locks::row_key`], which the entities implement, so the table is the entity's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    table: &'static str,
    id: String,
}

impl RowKey {
    pub fn new(table: &'static str, id: impl std::fmt::Display) -> Self {
        Self { table, id: id.to_string() }
    }
}

/// An id (or token) that names one row a write may lock.
pub trait Locks {
    fn row_key(&self) -> RowKey;
}

/// The most times one write is tried.
pub(crate) const MAX_TRIES: u32 = 5;

/// Runs write transactions: at most one request of this process at a time waits at the database
/// for a given row (the others wait here, holding no connection, so requests held up by one row
/// locked elsewhere cannot take the whole pool), and transient faults are retried until
/// `budget` has passed since the request started; after that the fault is the answer (a 503).
pub struct Writes {
    budget: Duration,
    gates: std::sync::Mutex<Gates>,
}

#[derive(Default)]
struct Gates {
    by_key: HashMap<RowKey, Weak<tokio::sync::Mutex<()>>>,
    prune_at: usize,
}

impl Writes {
    pub fn new(budget: Duration) -> Self {
        Self { budget, gates: std::sync::Mutex::new(Gates { by_key: HashMap::new(), prune_at: 1024 }) }
    }

    pub(crate) fn gate(&self, key: &RowKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(gate) = gates.by_key.get(key).and_then(Weak::upgrade) {
            return gate;
        }
        if gates.by_key.len() >= gates.prune_at {
            gates.by_key.retain(|_, gate| gate.strong_count() > 0);
            gates.prune_at = (gates.by_key.len() * 2).max(1024);
        }
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        gates.by_key.insert(key.clone(), Arc::downgrade(&gate));
        gate
    }

    /// Runs `attempt` (one whole transaction) for a request that locks the rows `keys`, until it
    /// succeeds, fails for a reason that is not transient, has been tried five times, or the
    /// budget has passed. Waiting for another request of this process on the same row counts
    /// against the budget and ends in a 503 too.
    pub async fn retrying<T, E, F, Fut>(&self, keys: &[RowKey], mut attempt: F) -> Result<T, E>
    where
        E: Transient,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let deadline = Instant::now() + self.budget;
        let mut keys: Vec<&RowKey> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        let mut held = Vec::with_capacity(keys.len());
        for key in keys {
            // In key order, so two requests wanting the same rows cannot wait for each other.
            match tokio::time::timeout_at(deadline, self.gate(key).lock_owned()).await {
                Ok(guard) => held.push(guard),
                Err(_) => {
                    metrics::counter!(crate::metrics::DB_TRANSACTIONS_TIMED_OUT).increment(1);
                    return Err(E::unavailable(format!(
                        "{} {} is held by another request past the retry budget",
                        key.table, key.id
                    )));
                }
            }
        }
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(e) if e.is_transient() && tries < MAX_TRIES && Instant::now() < deadline => {
                    tracing::debug!(tries, "retrying a transaction after a transient fault");
                    metrics::counter!(crate::metrics::DB_TRANSACTIONS_RETRIED).increment(1);
                    let pause = Duration::from_millis(5 * tries as u64 + rand::random::<u64>() % 10);
                    tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
                }
                Err(e) if e.is_transient() => {
                    metrics::counter!(crate::metrics::DB_TRANSACTIONS_TIMED_OUT).increment(1);
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectOptions, Database};

    /// A pool of `connections` on a new WAL file `name` in `dir`.
    async fn file_db(dir: &tempfile::TempDir, name: &str, connections: u32) -> DatabaseConnection {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
        let mut options = ConnectOptions::new(url);
        options.max_connections(connections).acquire_timeout(Duration::from_secs(10)).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal).busy_timeout(Duration::from_secs(10))
        });
        Database::connect(options).await.unwrap()
    }

    /// Writers on one SQLite file get their turns in the order they asked, however many wait:
    /// with only `BEGIN IMMEDIATE` and the busy handler's polling, later writers overtake.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_writers_take_turns_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(&dir, "turns.db", 8).await;
        db.execute_unprepared("CREATE TABLE turns (n INTEGER NOT NULL)").await.unwrap();

        let first = begin_write(&db).await.unwrap();
        let mut waiting = Vec::new();
        for n in 0..7 {
            let db = db.clone();
            waiting.push(tokio::spawn(async move {
                let txn = begin_write(&db).await.unwrap();
                txn.execute_unprepared(&format!("INSERT INTO turns (n) VALUES ({n})")).await.unwrap();
                txn.commit().await.unwrap();
            }));
            // Each asks after the one before it is waiting.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        first.commit().await.unwrap();
        for task in waiting {
            task.await.unwrap();
        }
        let order: Vec<i64> = db
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT n FROM turns ORDER BY rowid"))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<i64>("", "n").unwrap())
            .collect();
        assert_eq!(order, (0..7).collect::<Vec<_>>());
    }

    /// A write outside a transaction waits for the writer's turn like a transaction does, in
    /// arrival order: asked for before a transaction, it lands before it (polling SQLite's busy
    /// handler, the transaction woken by the turn would begin first).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_autocommit_writes_wait_for_the_turn() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(&dir, "autocommit.db", 8).await;
        db.execute_unprepared("CREATE TABLE turns (n INTEGER NOT NULL)").await.unwrap();

        let first = begin_write(&db).await.unwrap();
        let autocommitted = {
            let db = db.clone();
            tokio::spawn(async move {
                autocommit(&db).execute_unprepared("INSERT INTO turns (n) VALUES (1)").await.unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let transaction = {
            let db = db.clone();
            tokio::spawn(async move {
                let txn = begin_write(&db).await.unwrap();
                txn.execute_unprepared("INSERT INTO turns (n) VALUES (2)").await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
                txn.commit().await.unwrap();
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!autocommitted.is_finished(), "the autocommit write ran while a transaction held the turn");
        first.execute_unprepared("INSERT INTO turns (n) VALUES (0)").await.unwrap();
        first.commit().await.unwrap();
        autocommitted.await.unwrap();
        transaction.await.unwrap();
        let order: Vec<i64> = db
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT n FROM turns ORDER BY rowid"))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<i64>("", "n").unwrap())
            .collect();
        assert_eq!(order, vec![0, 1, 2]);
    }

    /// The WAL is checkpointed in the background after writes, not by a writer's commit: a writer
    /// connection leaves it to the checkpointer up to 10,000 pages, the checkpointer runs after
    /// turns were taken and not while none are.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(&dir, "checkpoints.db", 4).await;
        db.execute_unprepared("CREATE TABLE rows (n INTEGER NOT NULL, body BLOB NOT NULL)").await.unwrap();
        let txn = begin_write(&db).await.unwrap();
        let pages = txn
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_autocheckpoint"))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(pages, i64::from(WRITER_AUTOCHECKPOINT_PAGES));
        txn.commit().await.unwrap();
        let before = SqliteWriter::checkpoints(&db);
        for n in 0..50 {
            let txn = begin_write(&db).await.unwrap();
            txn.execute_unprepared(&format!("INSERT INTO rows VALUES ({n}, zeroblob(8000))")).await.unwrap();
            txn.commit().await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while SqliteWriter::checkpoints(&db) == before {
            assert!(Instant::now() < deadline, "no background checkpoint after the writes");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Once caught up, nothing more while nothing is written.
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        let idle = SqliteWriter::checkpoints(&db);
        tokio::time::sleep(CHECKPOINT_EVERY * 5).await;
        assert_eq!(SqliteWriter::checkpoints(&db), idle);
        // The rows are in the database file itself: a checkpoint copied them there (a writer's
        // own would not have, at ~100 pages).
        let file = dir.path().join("checkpoints.db");
        let bytes = std::fs::metadata(&file).unwrap().len();
        assert!(bytes > 50 * 8000, "the database file holds the rows ({bytes} bytes)");
    }
}
