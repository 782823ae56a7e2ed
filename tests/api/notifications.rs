//! Notifications over real conversations: an SMTP sink and a webhook receiver on loopback,
//! bookings and reservations made over HTTP, the clock shifted past each trigger, notify called
//! repeatedly and concurrently.

use crate::db_tests;
use crate::helpers::*;
use crate::leko::{book_ok, cancel, create_event, only_booking};
use crate::smtp_sink::SmtpSink;
use crate::webhook_sink::WebhookSink;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

struct Env {
    smtp: SmtpSink,
    hooks: WebhookSink,
}

impl Env {
    async fn start() -> Self {
        Env { smtp: SmtpSink::start().await, hooks: WebhookSink::start().await }
    }

    /// A server on `app`'s database, its clock shifted by `offset`, sending to the sinks.
    async fn notifier(&self, app: &TestApp, offset: Duration) -> TestApp {
        self.notifier_with(app, offset, &[]).await
    }

    async fn notifier_with(&self, app: &TestApp, offset: Duration, extra: &[&str]) -> TestApp {
        let smtp = self.smtp.url();
        let hook = self.hooks.url("/hook");
        let mut args = vec!["--smtp-url", &smtp, "--webhook-urls", &hook, "--webhook-secret", WEBHOOK_SECRET];
        args.extend_from_slice(extra);
        spawn_app_sharing_with(app, offset.num_seconds(), &args).await
    }
}

fn person(app: &TestApp, email: &str) -> User {
    let id = Uuid::new_v4();
    User { id, token: app.token_for(id, bookings::policy::DEFAULT_SCOPES, false, Some(email)) }
}

async fn notify(app: &TestApp) {
    let admin = app.admin();
    app.notify_bookings(Some(&admin.token)).await.expect(204);
}

/// Messages by recipient address, counting each idempotency key once.
fn by_recipient(smtp: &SmtpSink) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in smtp.messages() {
        for to in &m.to {
            out.entry(to.clone()).or_default().push(m.header("Subject").unwrap_or_default());
        }
    }
    out
}

fn soon(days: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::days(days)).trunc_subsecs(0)
}

async fn confirmations_reminders_and_no_duplicates(app: TestApp) {
    let env = Env::start().await;
    let coach = person(&app, "coach@example.com");
    let athlete = person(&app, "athlete@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    // The athlete's token carries the email claim: the server keeps it for notifications.
    let order = book_ok(&app, &athlete, &[event]).await;
    let booking = only_booking(&order);

    let now = env.notifier(&app, Duration::zero()).await;
    notify(&now).await;
    let got = env.smtp.wait_for(2, std::time::Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let to_athlete = got.iter().find(|m| m.to == ["athlete@example.com"]).expect("athlete confirmation");
    assert!(to_athlete.header("Subject").unwrap().starts_with("Booking confirmed"));
    assert!(got.iter().any(|m| m.to == ["coach@example.com"]), "coach confirmation");
    // The confirmation carries an iCalendar invitation in the event's zone.
    let data = &to_athlete.data;
    assert!(data.contains("text/calendar"), "{data}");
    let ics = crate::notify_ics::extract(data).expect("an ics part");
    let props = crate::notify_ics::parse(&ics);
    assert_eq!(props["METHOD"], "REQUEST");
    assert_eq!(props["UID"], format!("{booking}@bookings"));
    assert!(props.keys().any(|k| k.starts_with("DTSTART;TZID=")), "{props:?}");
    // And a signed webhook.
    let hooks = env.hooks.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(hooks.len(), 1);
    let h = &hooks[0];
    let ts: i64 = h.header("x-webhook-timestamp").unwrap().parse().unwrap();
    assert!(bookings::notify::webhook::verify(WEBHOOK_SECRET, ts, &h.body, h.header("x-webhook-signature").unwrap()));
    assert_eq!(h.json()["type"], "booking.created");
    assert_eq!(h.json()["data"]["booking"]["id"], booking.to_string());
    assert!(h.json()["timestamp"].is_string());
    assert_eq!(h.header("idempotency-key"), h.header("webhook-id"));
    let receiver = crate::standard_webhooks::Webhook::from_raw(WEBHOOK_SECRET.as_bytes());
    assert_eq!(receiver.verify(&h.body, |n| h.header(n), Utc::now().timestamp()), Ok(()));

    // Repeated calls send nothing new.
    notify(&now).await;
    notify(&app).await;
    assert_eq!(env.smtp.messages().len(), 2);
    assert_eq!(env.hooks.requests().len(), 1);

    // 24 hours before the start the reminder goes out, once.
    let day_before = env.notifier(&app, (start - Duration::hours(24) - Utc::now()) + Duration::minutes(5)).await;
    notify(&day_before).await;
    notify(&day_before).await;
    let subjects = by_recipient(&env.smtp);
    let reminders: Vec<&String> =
        subjects["athlete@example.com"].iter().filter(|s| s.starts_with("Reminder")).collect();
    assert_eq!(reminders.len(), 1, "{subjects:?}");

    // An hour before: the 1-hour reminder; the 24-hour one is not sent again.
    let hour_before = env.notifier(&app, (start - Duration::minutes(50)) - Utc::now()).await;
    notify(&hour_before).await;
    let subjects = by_recipient(&env.smtp);
    assert_eq!(subjects["athlete@example.com"].iter().filter(|s| s.starts_with("Reminder")).count(), 2);
    // After the end the coach is asked to mark it completed.
    let after = env.notifier(&app, (start + Duration::hours(2) + Duration::minutes(10)) - Utc::now()).await;
    notify(&after).await;
    let subjects = by_recipient(&env.smtp);
    assert!(subjects["coach@example.com"].iter().any(|s| s.starts_with("Was the event")), "{subjects:?}");
}

async fn canceled_bookings_get_no_reminder_and_late_reminders_are_not_sent(app: TestApp) {
    let env = Env::start().await;
    let coach = person(&app, "coach2@example.com");
    let athlete = person(&app, "athlete2@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    let booking = only_booking(&book_ok(&app, &athlete, &[event]).await);
    cancel(&app, &athlete, booking, "NoTime", Some("sorry")).await.expect(200);
    // Past the 24-hour moment, no reminder: the booking is canceled; the coach hears of it.
    let day_before = env.notifier(&app, (start - Duration::hours(24) - Utc::now()) + Duration::minutes(5)).await;
    notify(&day_before).await;
    let subjects = by_recipient(&env.smtp);
    assert!(
        subjects.get("athlete2@example.com").is_none_or(|s| s.iter().all(|s| !s.starts_with("Reminder"))),
        "{subjects:?}"
    );
    assert!(subjects["coach2@example.com"].iter().any(|s| s.starts_with("Booking canceled")), "{subjects:?}");

    // A reminder whose moment passed more than the late horizon (2h) ago is not sent.
    let late_start = soon(4);
    let late_event = create_event(&app, &coach, late_start, late_start + Duration::hours(1), 5).await;
    let other = person(&app, "athlete3@example.com");
    book_ok(&app, &other, &[late_event]).await;
    let too_late = env.notifier(&app, (late_start - Duration::hours(20)) - Utc::now()).await;
    env.smtp.clear();
    notify(&too_late).await;
    let subjects = by_recipient(&env.smtp);
    assert!(
        subjects.get("athlete3@example.com").is_none_or(|s| s.iter().all(|s| !s.starts_with("Reminder"))),
        "{subjects:?}"
    );
}

async fn concurrent_passes_deliver_each_message_once(app: TestApp) {
    let env = Env::start().await;
    let coach = person(&app, "busy-coach@example.com");
    let start = soon(5);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 200).await;
    // 170 bookings: an athlete confirmation, a coach confirmation and a webhook each = 510 messages.
    let athletes: Vec<User> = (0..170).map(|i| person(&app, &format!("a{i}@example.com"))).collect();
    let events = [event];
    for chunk in athletes.chunks(10) {
        futures::future::join_all(chunk.iter().map(|a| book_ok(&app, a, &events))).await;
    }
    // Two servers on one database, notify called on both at once, twice.
    // What this checks is exactly-once delivery across overlapping passes, not how long a pass
    // may wait for another's write lock (faults.rs checks the 503): on SQLite the four passes
    // take turns at the one write lock, which on a loaded machine can take longer than the
    // production retry budget of 2 s, so these servers get a longer one.
    let patient = ["--db-retry-budget-ms", "30000", "--db-busy-timeout-ms", "5000"];
    let one = env.notifier_with(&app, Duration::zero(), &patient).await;
    let two = env.notifier_with(&app, Duration::zero(), &patient).await;
    let admin = one.admin();
    let calls = [&one, &two, &one, &two].map(|server| server.notify_bookings(Some(&admin.token)));
    for r in futures::future::join_all(calls).await {
        r.expect(204);
    }
    let mails = env.smtp.messages();
    let hooks = env.hooks.requests();
    assert_eq!(mails.len(), 340, "every email once");
    assert_eq!(hooks.len(), 170, "every webhook once");
    let mut keys: Vec<String> = mails.iter().map(|m| m.header("X-Idempotency-Key").unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 340);
    let mut hook_keys: Vec<&str> = hooks.iter().map(|h| h.header("idempotency-key").unwrap()).collect();
    hook_keys.sort();
    hook_keys.dedup();
    assert_eq!(hook_keys.len(), 170);
}

async fn smtp_down_means_later_not_lost_and_deletion_forgets_the_queue(app: TestApp) {
    let env = Env::start().await;
    let coach = person(&app, "coach4@example.com");
    let athlete = person(&app, "athlete4@example.com");
    let leaving = person(&app, "leaving@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    book_ok(&app, &athlete, &[event]).await;
    book_ok(&app, &leaving, &[event]).await;
    env.smtp.stop().await;
    let now = env.notifier(&app, Duration::zero()).await;
    notify(&now).await;
    assert!(env.smtp.messages().is_empty());
    let admin = now.admin();
    let pending = now.list_notifications("status=pending", Some(&admin.token)).await.expect(200);
    assert!(
        pending.body.as_array().unwrap().iter().any(|n| n["recipientEmail"] == "athlete4@example.com"),
        "{}",
        pending.text
    );
    assert!(pending.body.as_array().unwrap().iter().all(|n| n["attempts"] == 1 && n["lastError"].is_string()));

    // The leaving athlete deletes their data: what was queued for them goes too.
    now.delete_user_from_bookings(leaving.id, "", Some(&now.as_user(leaving.id).token)).await.expect(204);
    let all = now.list_notifications("limit=500", Some(&admin.token)).await.expect(200);
    assert!(all.body.as_array().unwrap().iter().all(|n| n["recipientEmail"] != "leaving@example.com"), "{}", all.text);

    // Back up: after the backoff the messages arrive, once.
    env.smtp.restart().await;
    let later = env.notifier(&app, Duration::minutes(5)).await;
    notify(&later).await;
    notify(&later).await;
    let subjects = by_recipient(&env.smtp);
    assert_eq!(subjects["athlete4@example.com"].len(), 1, "{subjects:?}");
    // The coach: the confirmation of the booking that stays, and the cancellation of the one
    // whose athlete left (its invitation leaves the coach's calendar; the confirmation about
    // the leaving athlete went with them).
    let mut coach_got = subjects["coach4@example.com"].clone();
    coach_got.sort();
    assert_eq!(coach_got.len(), 2, "{subjects:?}");
    assert!(coach_got[0].starts_with("Booking canceled") && coach_got[1].starts_with("New booking"), "{subjects:?}");
    assert!(!subjects.contains_key("leaving@example.com"), "{subjects:?}");
}

async fn reservations_permanent_failures_and_skips(app: TestApp) {
    let env = Env::start().await;
    let owner = person(&app, "owner@example.com");
    let cal = app.new_calendar(&owner).await;
    let link = app
        .create_link(
            &owner,
            cal,
            json!({"duration_minutes": 60, "timezone": "Asia/Kathmandu", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}}),
        )
        .await
        .expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    // Monday 2027-03-01 09:00 in Kathmandu (+05:45) = 03:15Z.
    let r = app
        .reserve_booking_slot(
            &token,
            json!({"name": "Vera", "email": "vera@example.com", "slot_start": "2027-03-01T03:15:00Z", "slot_end": "2027-03-01T04:15:00Z"}),
        )
        .await
        .expect(200);
    let event_id: Uuid = r.body["event"]["id"].as_str().unwrap().parse().unwrap();
    // The visitor's server rejects the next one for good.
    env.smtp.reject_recipient("bounce@example.com", 550);
    app.reserve_booking_slot(
        &token,
        json!({"name": "Bo", "email": "bounce@example.com", "slot_start": "2027-03-01T04:15:00Z", "slot_end": "2027-03-01T05:15:00Z"}),
    )
    .await
    .expect(200);
    let now = env.notifier(&app, Duration::zero()).await;
    notify(&now).await;
    let subjects = by_recipient(&env.smtp);
    assert!(subjects["vera@example.com"][0].starts_with("Confirmed"), "{subjects:?}");
    assert_eq!(subjects["owner@example.com"].len(), 2, "{subjects:?}");
    let vera = env.smtp.messages().into_iter().find(|m| m.to == ["vera@example.com"]).unwrap();
    let props = crate::notify_ics::parse(&crate::notify_ics::extract(&vera.data).unwrap());
    assert_eq!(props["DTSTART;TZID=Asia/Kathmandu"], "20270301T090000");
    let admin = now.admin();
    let failed = now.list_notifications("status=failed", Some(&admin.token)).await.expect(200);
    let failed = failed.body.as_array().unwrap().clone();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["recipientEmail"], "bounce@example.com");

    // The owner deletes the reservation: the visitor is told.
    app.delete_calendar_event(cal, event_id, Some(&owner.token)).await.expect(204);
    notify(&now).await;
    let subjects = by_recipient(&env.smtp);
    assert!(subjects["vera@example.com"].iter().any(|s| s.starts_with("Canceled")), "{subjects:?}");

    // A user with no known address: skipped, with the reason.
    let silent = app.user();
    let coach = person(&app, "coach5@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    book_ok(&app, &silent, &[event]).await;
    notify(&now).await;
    let skipped = now.list_notifications("status=skipped", Some(&admin.token)).await.expect(200);
    assert!(
        skipped
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["lastError"].as_str().unwrap_or("").contains("no email address")),
        "{}",
        skipped.text
    );
    // An admin can give them one.
    app.set_user_email(silent.id, Some(&admin.token), json!({"email": "found@example.com"})).await.expect(204);
}

async fn a_stalled_mail_server_or_silent_receiver_means_retry_not_stuck(app: TestApp) {
    let env = Env::start().await;
    let coach = person(&app, "coach6@example.com");
    let athlete = person(&app, "athlete6@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    book_ok(&app, &athlete, &[event]).await;
    // The mail server answers EHLO and then nothing; the webhook receiver takes the request and
    // never answers.
    env.smtp.stall_after_ehlo();
    env.hooks.stall();
    let smtp = env.smtp.url();
    let hook = env.hooks.url("/hook");
    #[rustfmt::skip]
    let now = spawn_app_sharing_with(&app, 0, &[
        "--smtp-url", &smtp, "--webhook-urls", &hook, "--webhook-secret", WEBHOOK_SECRET,
        "--smtp-timeout", "500ms", "--smtp-message-timeout", "2s", "--webhook-timeout", "500ms",
    ])
    .await;

    // The pass ends by itself, within its timeouts (the bound here is only so a hang fails).
    tokio::time::timeout(std::time::Duration::from_secs(20), notify(&now)).await.expect("the notify pass hung");
    assert!(env.smtp.stalled_commands() >= 1, "the mail server was reached");
    assert!(!env.hooks.requests().is_empty(), "the receiver was reached");
    assert!(env.smtp.messages().is_empty());

    let admin = now.admin();
    let sending = now.list_notifications("status=sending", Some(&admin.token)).await.expect(200);
    assert_eq!(sending.body.as_array().unwrap().len(), 0, "nothing is left `sending`: {}", sending.text);
    let pending = now.list_notifications("status=pending", Some(&admin.token)).await.expect(200);
    let pending = pending.body.as_array().unwrap().clone();
    let channels: Vec<&str> = pending.iter().map(|n| n["channel"].as_str().unwrap_or("")).collect();
    assert_eq!(pending.len(), 3, "two emails and a webhook, each to be retried: {pending:?}");
    assert_eq!(channels.iter().filter(|c| **c == "webhook").count(), 1, "{pending:?}");
    for n in &pending {
        assert_eq!(n["attempts"], 1, "{n}");
        assert!(n["lastError"].as_str().unwrap_or("").contains("timed out"), "{n}");
    }

    // Once both answer again, the retry after the backoff delivers each message once.
    env.smtp.stop_stalling();
    let hooks = WebhookSink::start().await;
    let smtp = env.smtp.url();
    let hook = hooks.url("/hook");
    let later = spawn_app_sharing_with(
        &app,
        Duration::minutes(5).num_seconds(),
        &["--smtp-url", &smtp, "--webhook-urls", &hook, "--webhook-secret", WEBHOOK_SECRET],
    )
    .await;
    notify(&later).await;
    let subjects = by_recipient(&env.smtp);
    assert_eq!(subjects["athlete6@example.com"].len(), 1, "{subjects:?}");
    assert_eq!(subjects["coach6@example.com"].len(), 1, "{subjects:?}");
    assert_eq!(hooks.requests().len(), 1);
}

async fn notify_is_for_admins_and_the_cron_scope(app: TestApp) {
    app.notify_bookings(None).await.expect(401);
    let user = app.user();
    let r = app.notify_bookings(Some(&user.token)).await.expect(403);
    assert!(r.body["errors"].is_array(), "{}", r.text);
    let cron = app.token_for(Uuid::new_v4(), "notifications:send", false, None);
    app.notify_bookings(Some(&cron)).await.expect(204);
    app.list_notifications("", Some(&user.token)).await.expect(403);
    app.set_user_email(user.id, Some(&user.token), json!({"email": "x@example.com"})).await.expect(403);
}

/// The webhook messages of the outbox (newest first).
async fn webhook_messages(app: &TestApp) -> Vec<serde_json::Value> {
    let admin = app.admin();
    let all = app.list_notifications("limit=500", Some(&admin.token)).await.expect(200);
    all.body.as_array().unwrap().iter().filter(|n| n["channel"] == "webhook").cloned().collect()
}

fn at(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("a date-time: {v}")).parse().unwrap()
}

const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn webhooks_retry_on_the_schedule_honour_retry_after_and_a_410_disables_the_endpoint(app: TestApp) {
    let hooks = WebhookSink::start().await;
    let url = hooks.url("/hook");
    let server = |offset: Duration| {
        let url = url.clone();
        let app = &app;
        async move {
            spawn_app_sharing_with(
                app,
                offset.num_seconds(),
                &["--webhook-urls", &url, "--webhook-secret", STANDARD_SECRET],
            )
            .await
        }
    };
    let receiver = crate::standard_webhooks::Webhook::new(STANDARD_SECRET);
    let verified = |n: usize| {
        let requests = hooks.requests();
        assert_eq!(requests.len(), n, "{requests:?}");
        for r in &requests {
            assert_eq!(receiver.verify(&r.body, |h| r.header(h), Utc::now().timestamp()), Ok(()), "{r:?}");
        }
        requests
    };
    let coach = person(&app, "hook-coach@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    let first = only_booking(&book_ok(&app, &person(&app, "hook-a@example.com"), &[event]).await);

    // 500: retried 5 s later (±10 %).
    hooks.set_status(500);
    let now = server(Duration::zero()).await;
    notify(&now).await;
    verified(1);
    let messages = webhook_messages(&now).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!((m["status"].as_str(), m["attempts"].as_i64()), (Some("pending"), Some(1)), "{m}");
    let log = m["attemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{m}");
    assert_eq!((log[0]["attempt"].as_i64(), log[0]["statusCode"].as_i64()), (Some(1), Some(500)), "{m}");
    assert_eq!(log[0]["delivered"], false);
    assert!(log[0]["error"].as_str().unwrap().contains("500"), "{m}");
    let wait = at(&log[0]["nextAttemptAt"]) - at(&log[0]["at"]);
    assert!(wait >= Duration::milliseconds(4500) && wait <= Duration::milliseconds(5500), "{wait}");
    assert_eq!(at(&m["nextAttemptAt"]), at(&log[0]["nextAttemptAt"]));

    // Not before then.
    notify(&now).await;
    verified(1);

    // 429 with Retry-After: 3600 (longer than the schedule's 5 minutes): not before an hour.
    hooks.set_status(429);
    hooks.set_retry_after(Some("3600"));
    let later = server(Duration::seconds(10)).await;
    notify(&later).await;
    let requests = verified(2);
    assert_eq!(requests[0].header("webhook-id"), requests[1].header("webhook-id"), "one id across retries");
    let m = &webhook_messages(&later).await[0];
    let log = m["attemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{m}");
    assert_eq!((log[1]["attempt"].as_i64(), log[1]["statusCode"].as_i64()), (Some(2), Some(429)), "{m}");
    assert_eq!(at(&log[1]["nextAttemptAt"]) - at(&log[1]["at"]), Duration::hours(1), "{m}");
    let half_hour = server(Duration::minutes(31)).await;
    notify(&half_hour).await;
    verified(2);

    // 410 Gone: the message fails and the endpoint is disabled.
    hooks.set_status(410);
    hooks.set_retry_after(None);
    let gone = server(Duration::minutes(62)).await;
    notify(&gone).await;
    verified(3);
    let m = &webhook_messages(&gone).await[0];
    assert_eq!(m["status"], "failed", "{m}");
    let log = m["attemptLog"].as_array().unwrap();
    assert_eq!((log[2]["statusCode"].as_i64(), &log[2]["nextAttemptAt"]), (Some(410), &json!(null)), "{m}");
    let admin = gone.admin();
    let endpoints = gone.list_webhook_endpoints(Some(&admin.token)).await.expect(200);
    let endpoint = &endpoints.body.as_array().unwrap()[0];
    assert_eq!(endpoint["state"], "disabled", "{endpoint}");
    assert_eq!(endpoint["target"], format!("http://127.0.0.1:{}", hooks.port), "never the path: {endpoint}");
    assert!(endpoint["disabledReason"].as_str().unwrap().contains("410"), "{endpoint}");
    let id = endpoint["id"].as_str().unwrap().to_string();
    assert_eq!(log[2]["endpointId"], id.as_str());

    // While disabled, new messages are skipped, not sent.
    hooks.set_status(200);
    book_ok(&app, &person(&app, "hook-b@example.com"), &[event]).await;
    notify(&gone).await;
    verified(3);
    let messages = webhook_messages(&gone).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["status"], "skipped", "{messages:?}");
    assert!(messages[0]["lastError"].as_str().unwrap().contains("disabled"), "{messages:?}");

    // Only an admin sees or enables endpoints; an unknown one is a 404.
    let user = gone.user();
    gone.list_webhook_endpoints(Some(&user.token)).await.expect(403);
    gone.enable_webhook_endpoint(&id, Some(&user.token)).await.expect(403);
    gone.enable_webhook_endpoint("0123456789abcdef", Some(&admin.token)).await.expect(404);
    gone.enable_webhook_endpoint("not-an-id", Some(&admin.token)).await.expect(404);
    gone.enable_webhook_endpoint(&"0".repeat(65), Some(&admin.token)).await.expect(404);

    // Enabled again, the next message is delivered.
    let enabled = gone.enable_webhook_endpoint(&id, Some(&admin.token)).await.expect(200);
    assert_eq!((enabled.body["state"].as_str(), &enabled.body["disabledAt"]), (Some("enabled"), &json!(null)));
    let listed = gone.list_webhook_endpoints(Some(&admin.token)).await.expect(200);
    assert_eq!(listed.body[0]["state"], "enabled");
    let third = only_booking(&book_ok(&app, &person(&app, "hook-c@example.com"), &[event]).await);
    notify(&gone).await;
    let requests = verified(4);
    assert_eq!(requests[3].json()["data"]["booking"]["id"], third.to_string());
    assert_eq!(requests[0].json()["data"]["booking"]["id"], first.to_string());
    let m = &webhook_messages(&gone).await[0];
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(m["attemptLog"][0]["delivered"], true, "{m}");
    assert_eq!(m["attemptLog"][0]["statusCode"], 200, "{m}");
}

/// With two endpoints, a retry goes only to the one that did not get the message.
async fn a_webhook_retry_goes_only_to_the_endpoints_that_failed(app: TestApp) {
    let ok = WebhookSink::start().await;
    let failing = WebhookSink::start().await;
    failing.set_status(503);
    let urls = format!("{},{}", ok.url("/ok"), failing.url("/down"));
    let args = ["--webhook-urls", urls.as_str(), "--webhook-secret", STANDARD_SECRET];
    let coach = person(&app, "pair-coach@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    book_ok(&app, &person(&app, "pair-a@example.com"), &[event]).await;
    let now = spawn_app_sharing_with(&app, 0, &args).await;
    notify(&now).await;
    assert_eq!((ok.requests().len(), failing.requests().len()), (1, 1));
    let m = &webhook_messages(&now).await[0];
    assert_eq!(m["status"], "pending", "{m}");
    let log = m["attemptLog"].as_array().unwrap();
    let codes: BTreeMap<i64, bool> =
        log.iter().map(|a| (a["statusCode"].as_i64().unwrap(), a["delivered"] == true)).collect();
    assert_eq!(codes, BTreeMap::from([(200, true), (503, false)]), "{m}");

    failing.set_status(200);
    let later = spawn_app_sharing_with(&app, 10, &args).await;
    notify(&later).await;
    assert_eq!((ok.requests().len(), failing.requests().len()), (1, 2), "the delivered endpoint is not sent it again");
    let m = &webhook_messages(&later).await[0];
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(m["attemptLog"].as_array().unwrap().len(), 3, "{m}");
    assert_eq!(m["attemptLog"][2]["attempt"], 2, "{m}");
}

async fn without_webhook_urls_webhook_rules_are_not_enqueued(app: TestApp) {
    let coach = person(&app, "nohook-coach@example.com");
    let start = soon(3);
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    book_ok(&app, &person(&app, "nohook-a@example.com"), &[event]).await;
    notify(&app).await;
    assert!(webhook_messages(&app).await.is_empty(), "no webhook message is queued");
    let admin = app.admin();
    let all = app.list_notifications("", Some(&admin.token)).await.expect(200);
    let all = all.body.as_array().unwrap().clone();
    assert_eq!(all.len(), 2, "the two confirmations: {all:?}");
    // Each sent email shows its send.
    for n in &all {
        assert_eq!(n["attemptLog"].as_array().map(Vec::len), Some(1), "{n}");
        assert_eq!(n["attemptLog"][0]["delivered"], true, "{n}");
        assert_eq!(n["attemptLog"][0]["endpointId"], json!(null), "{n}");
    }
    let endpoints = app.list_webhook_endpoints(Some(&admin.token)).await.expect(200);
    assert_eq!(endpoints.body, json!([]));
}

/// A reservation's life as webhook receivers see it: created, rescheduled (once per move, with
/// its sequence), canceled by its guest (with the reason and the trigger that tells who).
async fn a_reservations_life_in_webhooks(app: TestApp) {
    let env = Env::start().await;
    let owner = person(&app, "hook-owner@example.com");
    let (_, link) = crate::guests::all_day_link(&app, &owner, "Europe/Berlin", json!({})).await;
    let slots = crate::guests::offered(&app, &link, crate::guests::days_ahead(4), 1).await;
    let r = app.reserve(&link, &slots[10].0, &slots[10].1).await.expect(200);
    let (id, token) = (r.body["event"]["id"].clone(), r.body["manage_token"].as_str().unwrap().to_string());
    let server = env.notifier(&app, Duration::zero()).await;
    notify(&server).await;
    app.reschedule_reservation(&token, &slots[12].0, &slots[12].1).await.expect(200);
    notify(&server).await;
    let path = format!("/v1/reservations/{token}/reschedule");
    app.post(&path, None, json!({"slot_start": slots[14].0, "slot_end": slots[14].1, "sequence": 1})).await.expect(200);
    notify(&server).await;
    app.cancel_reservation(&token, json!({"reason": "away"})).await.expect(200);
    notify(&server).await;
    notify(&server).await;
    let hooks = env.hooks.wait_for(4, std::time::Duration::from_secs(10)).await;
    let receiver = crate::standard_webhooks::Webhook::from_raw(WEBHOOK_SECRET.as_bytes());
    let mut seen = Vec::new();
    for h in &hooks {
        assert_eq!(receiver.verify(&h.body, |n| h.header(n), Utc::now().timestamp()), Ok(()));
        let body = h.json();
        assert_eq!(body["data"]["reservation"]["id"], id);
        seen.push((
            body["type"].as_str().unwrap().to_string(),
            body["data"]["trigger"].as_str().unwrap().to_string(),
            body["data"]["reservation"]["sequence"].as_i64().unwrap(),
        ));
    }
    let seen: Vec<(&str, &str, i64)> = seen.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), *c)).collect();
    assert_eq!(
        seen,
        [
            ("reservation.created", "reservation.created", 0),
            ("reservation.rescheduled", "reservation.rescheduled", 1),
            ("reservation.rescheduled", "reservation.rescheduled", 2),
            ("reservation.canceled", "reservation.canceled_by_guest", 2),
        ]
    );
    assert_eq!(hooks[3].json()["data"]["reservation"]["cancel_reason"], "away");
    assert!(
        !hooks.iter().any(|h| String::from_utf8_lossy(&h.body).contains(&token)),
        "a webhook never carries the guest's token"
    );
}

db_tests!(
    a_reservations_life_in_webhooks,
    webhooks_retry_on_the_schedule_honour_retry_after_and_a_410_disables_the_endpoint,
    without_webhook_urls_webhook_rules_are_not_enqueued,
    a_webhook_retry_goes_only_to_the_endpoints_that_failed,
    confirmations_reminders_and_no_duplicates,
    canceled_bookings_get_no_reminder_and_late_reminders_are_not_sent,
    concurrent_passes_deliver_each_message_once,
    smtp_down_means_later_not_lost_and_deletion_forgets_the_queue,
    reservations_permanent_failures_and_skips,
    a_stalled_mail_server_or_silent_receiver_means_retry_not_stuck,
    notify_is_for_admins_and_the_cron_scope,
);
