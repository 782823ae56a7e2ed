//! Database faults: a row held by another connection, backends terminated mid-burst, SQLite
//! locked by another process, a database that cannot take a write. Each answers the operation's
//! declared 503 (with Retry-After) in bounded time, never a 500, and writes nothing partial;
//! requests that need other rows keep being answered.

use crate::helpers::*;
use crate::leko::{create_event, order_body};
use chrono::{TimeZone, Utc};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait,
};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// Generous: the server's own limits are about 2 s; a hang fails the test instead of blocking it.
const BOUND: Duration = Duration::from_secs(20);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f).await.unwrap_or_else(|_| panic!("{what} did not finish within {BOUND:?}"))
}

/// A 503 in the operation's envelope, with Retry-After.
#[track_caller]
fn assert_unavailable(r: &Reply) {
    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
    assert_eq!(r.code(), "unavailable", "{}", r.text);
    let retry: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("503 without a Retry-After in seconds: {:?}", r.headers));
    assert!(retry >= 1);
}

async fn link(app: &TestApp, owner: &User) -> (Uuid, String) {
    let cal = app.new_calendar(owner).await;
    let body = json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "08:00", "end": "20:00"}]}});
    let r = app.create_link(owner, cal, body).await.expect(200);
    (cal, r.body["token"].as_str().unwrap().to_string())
}

/// The n-th half-hour slot of Monday 2030-01-07 from 08:00 UTC.
fn slot(n: u32) -> (String, String) {
    let start = Utc.with_ymd_and_hms(2030, 1, 7, 8, 0, 0).unwrap() + chrono::Duration::minutes(30 * n as i64);
    let end = start + chrono::Duration::minutes(30);
    (start.to_rfc3339(), end.to_rfc3339())
}

async fn other_connection(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.settings.database_url.clone().unwrap()).await.expect("a second connection")
}

/// A transaction of another connection holding `table`'s row `id` (`SELECT ... FOR UPDATE`).
async fn hold_row(db: &DatabaseConnection, table: &str, id: Uuid) -> DatabaseTransaction {
    let txn = db.begin().await.unwrap();
    let rows = txn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"),
            [id.into()],
        ))
        .await
        .unwrap();
    assert_eq!(rows.rows_affected(), 1);
    txn
}

/// SQLite's write lock, held by another connection (as another process would).
async fn hold_sqlite(db: &DatabaseConnection) -> DatabaseTransaction {
    let txn = db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .unwrap();
    txn.execute_unprepared("DELETE FROM calendars WHERE name = 'none'").await.unwrap();
    txn
}

fn pg_app_needed() -> bool {
    if pg_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return false;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_row_held_elsewhere_answers_503_and_other_calendars_go_on() {
    if !pg_app_needed() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let owner = app.user();
    let (held_cal, held) = link(&app, &owner).await;
    let (_, free) = link(&app, &owner).await;
    let other = other_connection(&app).await;
    let lock = hold_row(&other, "calendars", held_cal).await;

    let (start, end) = slot(0);
    let r = bounded("a reservation of the held calendar", app.reserve(&held, &start, &end)).await;
    assert_unavailable(&r);
    assert_eq!(r.error()["endpoint"], "POST /v1/booking/{token}/reserve");
    // Meanwhile, many at once: the held calendar again, another calendar, reads, health.
    let replies = bounded(
        "requests beside the held row",
        futures::future::join_all((0..8u32).map(|n| {
            let (app, held, free) = (&app, held.clone(), free.clone());
            async move {
                let (start, end) = slot(n);
                let (a, b, c, d) = futures::join!(
                    app.reserve(&held, &start, &end),
                    app.reserve(&free, &start, &end),
                    app.availability(&held, "2030-01-07T00:00:00Z", "2030-01-08T00:00:00Z"),
                    app.get("/healthz", None),
                );
                (a, b, c, d)
            }
        })),
    )
    .await;
    for (a, b, c, d) in &replies {
        assert_unavailable(a);
        assert_eq!(b.status.as_u16(), 200, "{}", b.text);
        assert_eq!(c.status.as_u16(), 200, "{}", c.text);
        assert_eq!(d.status.as_u16(), 200, "{}", d.text);
    }
    lock.rollback().await.unwrap();
    // Released: the calendar takes reservations again, and nothing was written while held.
    app.reserve(&held, &start, &end).await.expect(200);
    let listed = app
        .list_calendar_events(
            held_cal,
            "start=2030-01-07T00%3A00%3A00Z&end=2030-01-08T00%3A00%3A00Z",
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.text);
}

/// With a long lock timeout, waiters for one held row would sit on pooled connections for that
/// long: more of them than the pool has connections must not keep other requests waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_for_one_row_do_not_take_the_pool() {
    if !pg_app_needed() {
        return;
    }
    let app = spawn_app_with(
        Backend::Postgres,
        &["--db-lock-timeout-ms", "15000", "--db-retry-budget-ms", "15000", "--db-acquire-timeout-ms", "2000"],
    )
    .await;
    let owner = app.user();
    let (held_cal, held) = link(&app, &owner).await;
    let (_, free) = link(&app, &owner).await;
    let other = other_connection(&app).await;
    let lock = hold_row(&other, "calendars", held_cal).await;
    // 30 waiters (the pool has 20 connections), left waiting.
    let waiters: Vec<_> = (0..30u32)
        .map(|n| {
            let client = app.client.clone();
            let url = format!("{}/v1/booking/{held}/reserve", app.address);
            let (start, end) = slot(n % 20);
            tokio::spawn(async move {
                let body = json!({"name": "W", "email": "w@example.com", "slot_start": start, "slot_end": end});
                client.post(url).json(&body).send().await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // While they wait, other calendars and reads are served (a pooled connection in time).
    for n in 0..10u32 {
        let (start, end) = slot(n);
        bounded("another calendar's reservation", app.reserve(&free, &start, &end)).await.expect(200);
        app.get_calendar(held_cal, Some(&owner.token)).await.expect(200);
    }
    lock.rollback().await.unwrap();
    for w in waiters {
        let status = bounded("a waiter", w).await.unwrap().unwrap();
        assert!(matches!(status, 200 | 409), "a waiter answered {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coach_event_row_held_elsewhere_answers_503_and_other_events_go_on() {
    if !pg_app_needed() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let coach = app.user();
    let jan = |d: u32, h: u32| Utc.with_ymd_and_hms(2030, 1, d, h, 0, 0).unwrap();
    let held = create_event(&app, &coach, jan(7, 10), jan(7, 11), 5).await;
    let free = create_event(&app, &coach, jan(8, 10), jan(8, 11), 10).await;
    let other = other_connection(&app).await;
    let lock = hold_row(&other, "coach_events", held).await;
    // Two athletes each time: an order holds its athlete's row while it waits for the event's.
    let athletes: Vec<(User, User)> = (0..6).map(|_| (app.user(), app.user())).collect();
    let replies = bounded(
        "orders beside the held event",
        futures::future::join_all(athletes.iter().map(|(a, b)| async {
            futures::join!(
                app.book_events(Some(&a.token), order_body(a.id, &[held])),
                app.book_events(Some(&b.token), order_body(b.id, &[free])),
                app.get_coach_event(held, Some(&a.token)),
            )
        })),
    )
    .await;
    for (h, f, read) in &replies {
        assert_unavailable(h);
        // bookEvents answers its own envelope (no `errors` list).
        assert!(h.body.get("errors").is_none(), "{}", h.text);
        assert_eq!(f.status.as_u16(), 201, "{}", f.text);
        assert_eq!(read.status.as_u16(), 200, "{}", read.text);
    }
    let r = bounded("cancelling the held event", app.cancel_coach_event(held, Some(&coach.token))).await;
    assert_unavailable(&r);
    lock.rollback().await.unwrap();
    let e = app.get_coach_event(held, Some(&coach.token)).await.expect(200);
    assert_eq!(e.body["placesTaken"], 0, "nothing was written while it was held: {}", e.text);
    assert_eq!(e.body["status"], "Scheduled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_terminated_during_a_burst_answer_declared_statuses_and_write_nothing_partial() {
    if !pg_app_needed() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let owner = app.user();
    let coach = app.user();
    let jan = |d: u32, h: u32| Utc.with_ymd_and_hms(2030, 1, d, h, 0, 0).unwrap();
    let events = [
        create_event(&app, &coach, jan(9, 10), jan(9, 11), 100).await,
        create_event(&app, &coach, jan(10, 10), jan(10, 11), 100).await,
    ];
    let (cal, token) = link(&app, &owner).await;
    let killer_db = other_connection(&app).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut killed = 0u64;
            for _ in 0..500 {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let r = killer_db
                    .query_all_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
                         WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    ))
                    .await
                    .expect("terminating backends");
                killed += r.len() as u64;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            killed
        })
    };
    let athletes: Vec<User> = (0..30).map(|_| app.user()).collect();
    type Pending<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send + 'a>>;
    let mut burst: Vec<Pending> = Vec::new();
    for a in &athletes {
        burst.push(Box::pin(app.book_events(Some(&a.token), order_body(a.id, &events))));
    }
    for n in 0..20u32 {
        let (token, app) = (token.clone(), &app);
        burst.push(Box::pin(async move {
            let (start, end) = slot(n);
            app.reserve(&token, &start, &end).await
        }));
    }
    let replies: Vec<Reply> = bounded("the burst", futures::future::join_all(burst)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let killed = killer.await.unwrap();
    assert!(killed > 0, "no backend was terminated");
    let (mut orders_created, mut reserved) = (0, 0);
    for r in &replies {
        match r.status.as_u16() {
            201 => orders_created += 1,
            200 => reserved += 1,
            503 => assert_unavailable(r),
            other => panic!("undeclared or unexpected {other}: {}", r.text),
        }
    }
    // Nothing partial: every order holds both its bookings; each 201 and 200 is there.
    let check = other_connection(&app).await;
    let partial = check
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM booking_orders o WHERE (SELECT count(*) FROM bookings b WHERE b.order_id = o.id) <> 2",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(partial, 0);
    let orders: i64 = check
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT count(*) AS n FROM booking_orders"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert!(orders >= orders_created, "{orders} orders, {orders_created} answered 201");
    let events_of_cal: i64 = check
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM calendar_events WHERE calendar_id = $1 AND NOT cancelled",
            [cal.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert!(events_of_cal >= reserved, "{events_of_cal} reservations, {reserved} answered 200");
    // The server recovers.
    let (start, end) = slot(21);
    app.reserve(&token, &start, &end).await.expect(200);
    app.get("/readyz", None).await.expect(200);
}

/// A pooled connection is checked before use only after it has sat idle (src/startup.rs); one
/// the server dropped while it sat idle is replaced then, so the next request is answered as
/// if nothing had happened: no 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_while_idle_are_replaced_before_use() {
    if !pg_app_needed() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let owner = app.user();
    let (_, token) = link(&app, &owner).await;
    let (start, end) = slot(0);
    app.reserve(&token, &start, &end).await.expect(200);
    let killer = other_connection(&app).await;
    let killed = killer
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap();
    assert!(!killed.is_empty(), "no pooled connection to drop");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (start, end) = slot(1);
    bounded("a reservation after the drop", app.reserve(&token, &start, &end)).await.expect(200);
    bounded("readiness after the drop", app.get("/readyz", None)).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_answers_503_in_bounded_time() {
    let app = spawn_app(Backend::Sqlite).await;
    let owner = app.user();
    let (_, token) = link(&app, &owner).await;
    app.get("/readyz", None).await.expect(200);
    let other = other_connection(&app).await;
    let lock = hold_sqlite(&other).await;
    let (start, end) = slot(0);
    let r = bounded("a reservation while SQLite is locked", app.reserve(&token, &start, &end)).await;
    assert_unavailable(&r);
    let r =
        bounded("createCalendar while SQLite is locked", app.create_calendar(Some(&owner.token), json!({"name": "x"})))
            .await;
    assert_unavailable(&r);
    // Reads go on (WAL); readiness says the database cannot take a write.
    app.availability(&token, "2030-01-07T00:00:00Z", "2030-01-08T00:00:00Z").await.expect(200);
    app.get("/healthz", None).await.expect(200);
    let ready = bounded("readyz while SQLite is locked", app.get("/readyz", None)).await;
    assert_eq!(ready.status.as_u16(), 503, "{}", ready.text);
    lock.rollback().await.unwrap();
    app.reserve(&token, &start, &end).await.expect(200);
    app.get("/readyz", None).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_cannot_take_a_write() {
    // SQLite: the same database file opened read-only (as a file the server may not write; the
    // tests run as root, whom file modes do not stop, so `mode=ro` makes it read-only).
    let app = spawn_app(Backend::Sqlite).await;
    app.get("/readyz", None).await.expect(200);
    let url = app.settings.database_url.clone().unwrap().replace("mode=rwc", "mode=ro");
    let read_only = spawn_app_on(&app, &url).await;
    let r = bounded("readyz on a read-only file", read_only.get("/readyz", None)).await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
    assert_eq!(read_only.get("/healthz", None).await.status.as_u16(), 200);
    let owner = read_only.user();
    let r = bounded("a write to a read-only file", read_only.create_calendar(Some(&owner.token), json!({"name": "x"})))
        .await;
    assert_unavailable(&r);
    drop(read_only);

    // PostgreSQL: a database whose transactions are read-only.
    if pg_url().is_none() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    app.get("/readyz", None).await.expect(200);
    let admin = other_connection(&app).await;
    let name: String = admin
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT current_database() AS name"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "name")
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" SET default_transaction_read_only = on; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..3 {
        let r = bounded("readyz on a read-only database", app.get("/readyz", None)).await;
        last = Some(r.status.as_u16());
        if last == Some(503) {
            break;
        }
    }
    assert_eq!(last, Some(503));
    let reset = admin
        .begin_with_options(sea_orm::TransactionOptions {
            access_mode: Some(sea_orm::AccessMode::ReadWrite),
            ..Default::default()
        })
        .await
        .unwrap();
    reset.execute_unprepared(&format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only")).await.unwrap();
    reset.commit().await.unwrap();
}

/// The notification pass writes the outbox; with the outbox held by another connection it
/// answers 503 in bounded time instead of waiting for it.
async fn the_notification_pass_ends_in_bounded_time_under_a_held_lock(app: TestApp) {
    let admin = app.admin();
    app.notify_bookings(Some(&admin.token)).await.expect(204);
    let other = other_connection(&app).await;
    let lock = match app.backend {
        Backend::Postgres => {
            let txn = other.begin().await.unwrap();
            txn.execute_unprepared("LOCK TABLE notifications IN EXCLUSIVE MODE").await.unwrap();
            txn
        }
        Backend::Sqlite => hold_sqlite(&other).await,
    };
    let r = bounded("a notification pass under a held lock", app.notify_bookings(Some(&admin.token))).await;
    assert_unavailable(&r);
    assert!(r.body["errors"].is_array(), "notifyBookings answers its list envelope: {}", r.text);
    lock.rollback().await.unwrap();
    app.notify_bookings(Some(&admin.token)).await.expect(204);
}

crate::db_tests!(the_notification_pass_ends_in_bounded_time_under_a_held_lock);
