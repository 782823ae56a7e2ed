//! The visitor's pages (issue #22), over HTTP as a browser without JavaScript uses them: status
//! codes, the security headers, the booking form (validation, a double submit, a slot taken
//! meanwhile), the manage page (GET changes nothing; cancel and reschedule with their CSRF
//! token), the .ics download, the languages. The browser's own tests are e2e/booking.test.mjs.

use crate::db_tests;
use crate::guests::{all_day_link, days_ahead, offered};
use crate::helpers::*;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::json;

/// A client that does not follow redirects, so a 303 is seen as such.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

struct Page {
    status: u16,
    headers: HeaderMap,
    html: String,
}

async fn get(app: &TestApp, path: &str) -> Page {
    page(browser().get(format!("{}{path}", app.address)).send().await.unwrap()).await
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Page {
    page(browser().post(format!("{}{path}", app.address)).form(form).send().await.unwrap()).await
}

async fn page(r: reqwest::Response) -> Page {
    Page { status: r.status().as_u16(), headers: r.headers().clone(), html: r.text().await.unwrap() }
}

impl Page {
    #[track_caller]
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The value of the hidden (or other) input `name`.
    #[track_caller]
    fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.html.find(&marker).unwrap_or_else(|| panic!("no input {name} in {}", self.html)) + marker.len();
        let rest = &self.html[at..];
        unescape(&rest[..rest.find('"').unwrap()])
    }

    /// Every `href` on the page, unescaped.
    fn links(&self) -> Vec<String> {
        self.html.split("href=\"").skip(1).map(|s| unescape(&s[..s.find('"').unwrap()])).collect()
    }

    #[track_caller]
    fn link_containing(&self, part: &str) -> String {
        self.links().into_iter().find(|l| l.contains(part)).unwrap_or_else(|| panic!("no link with {part}"))
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&amp;", "&").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">")
}

/// The headers every page carries; `private`: a manage page (its URL is a secret).
#[track_caller]
fn assert_safe(p: &Page, private: bool) {
    let csp = p.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("style-src 'self'")
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(p.header("x-frame-options"), "SAMEORIGIN");
    assert_eq!(p.header("x-content-type-options"), "nosniff");
    assert_eq!(p.header("referrer-policy"), "no-referrer");
    if private {
        assert_eq!(p.header("cache-control"), "no-store");
    }
    assert!(p.header("content-type").starts_with("text/html"));
    assert!(!p.html.contains("<script>") && !p.html.contains("style="), "no inline script or style");
    assert_eq!(p.html.matches("<h1").count(), 1, "one h1");
}

/// The slot parameter of a page's slot link.
fn slot_of(link: &str) -> String {
    link.split("slot=").nth(1).unwrap().split('&').next().unwrap().to_string()
}

fn slot_instant(param: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(param, "%Y%m%dT%H%M%SZ").unwrap().and_utc()
}

async fn booking_page_shows_the_month_and_books_without_javascript(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "America/Asuncion", json!({})).await;
    let page = get(&app, &format!("/booking/{link}?tz=Pacific/Auckland")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert_safe(&page, false);
    assert!(page.html.contains("<h1>Work</h1>"), "the calendar's name is the title");
    assert!(page.html.contains("Pacific&#x2f;Auckland"), "the visitor's zone is named");
    assert!(page.html.contains("times free</span>"), "days are named in full");
    // The first slot shown, its form, and the booking.
    let slot_link = page.link_containing("slot=");
    let slot = slot_of(&slot_link);
    let form = get(&app, &slot_link).await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("name=\"name\""));
    let key = form.input("key");
    let fields = [
        ("slot", slot.as_str()),
        ("key", key.as_str()),
        ("tz", "Pacific/Auckland"),
        ("lang", "en"),
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("notes", ""),
    ];
    let booked = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(booked.status, 200, "{}", booked.html);
    assert_safe(&booked, true);
    assert!(booked.html.contains("You are booked"));
    let ics = booked.link_containing("event.ics");
    // A double submit (the same form again) books once: the same confirmation, replayed.
    let again = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.link_containing("event.ics"), ics);
    let start = slot_instant(&slot);
    let taken = offered(&app, &link, start - chrono::Duration::hours(1), 1).await;
    assert!(taken.iter().all(|(s, _)| DateTime::parse_from_rfc3339(s).unwrap() != start), "the slot is taken");
    // The .ics is the reservation at the same instant.
    let r = browser().get(format!("{}{ics}", app.address)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let text = r.text().await.unwrap();
    let cal: icalendar::Calendar = text.parse().unwrap();
    let event = cal.components.iter().find_map(|c| c.as_event()).unwrap();
    use icalendar::Component;
    assert_eq!(event.get_summary(), Some("Booking: Ada"));
    assert!(text.contains("TZID=America/Asuncion"), "{text}");
}

async fn form_errors_are_listed_and_the_values_kept(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let page = get(&app, &format!("/booking/{link}?lang=es")).await;
    let slot = slot_of(&page.link_containing("slot="));
    let form = get(&app, &format!("/booking/{link}?slot={slot}&lang=es")).await;
    let key = form.input("key");
    let fields = [
        ("slot", slot.as_str()),
        ("key", key.as_str()),
        ("lang", "es"),
        ("name", "  "),
        ("email", "ada@<b>"),
        ("notes", ""),
    ];
    let bad = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("Hay un problema"), "the summary, in Spanish");
    assert!(bad.html.contains("href=\"#name\"") && bad.html.contains("href=\"#email\""));
    assert!(bad.html.contains("aria-invalid=\"true\""));
    assert!(bad.html.contains("value=\"ada@&lt;b&gt;\""), "the value kept, escaped");
    assert_ne!(bad.input("key"), key, "a form shown again carries a new key");
}

async fn a_slot_taken_meanwhile_brings_back_the_picker(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let page = get(&app, &format!("/booking/{link}")).await;
    let slot = slot_of(&page.link_containing("slot="));
    let form = get(&app, &format!("/booking/{link}?slot={slot}")).await;
    let start = slot_instant(&slot);
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    app.reserve(&link, &iso(start), &iso(start + chrono::Duration::minutes(30))).await.expect(200);
    let key = form.input("key");
    let fields = [("slot", slot.as_str()), ("key", key.as_str()), ("name", "Ada"), ("email", "ada@example.com")];
    let taken = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(taken.status, 409);
    assert!(taken.html.contains("that time was just taken"));
    assert!(!taken.links().iter().any(|l| l.contains(&format!("slot={slot}"))), "fresh slots, without it");
    // Opening the form of a slot no longer offered says so too.
    let stale = get(&app, &format!("/booking/{link}?slot={slot}")).await;
    assert_eq!(stale.status, 409);
}

async fn unknown_links_and_tokens_are_404_pages(app: TestApp) {
    for path in
        ["/booking/nope", "/booking/no%20such", &format!("/booking/manage/{}", "A".repeat(43)), "/booking/manage/short"]
    {
        let p = get(&app, path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.header("content-type").starts_with("text/html"));
        assert!(p.html.contains("does not exist"));
    }
    // An inactive link is unknown to its visitors.
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    app.update_booking_link(cal, &link, Some(&owner.token), json!({"active": false})).await.expect(200);
    assert_eq!(get(&app, &format!("/booking/{link}")).await.status, 404);
}

async fn a_month_without_free_time_offers_the_first_month_with_some(app: TestApp) {
    let owner = app.user();
    // 45 days' notice: nothing this month, free time from a later month on.
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({"min_notice_minutes": 45 * 24 * 60})).await;
    let p = get(&app, &format!("/booking/{link}")).await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("There is no free time in"), "{}", p.html);
    let jump = p.link_containing("month=");
    assert!(p.html.contains("the first month with free time"));
    let later = get(&app, &p.links().into_iter().rev().find(|l| l.contains("month=")).unwrap()).await;
    assert!(later.html.contains("times free</span>") || later.html.contains("time free</span>"), "{jump}");
}

async fn a_link_without_free_time_says_so(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let r = app
        .create_link(
            &owner,
            cal,
            json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {}, "max_days_ahead": 10}),
        )
        .await
        .expect(200);
    let link = r.body["token"].as_str().unwrap();
    let p = get(&app, &format!("/booking/{link}")).await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("No free time to book"), "{}", p.html);
}

/// The link's location under its title (a meeting URL only as "online": it is made per
/// reservation), and the reservation's own on its manage page, a URL as a link.
async fn the_pages_say_where(app: TestApp) {
    let owner = app.user();
    let address = json!({"location": {"kind": "address", "value": "Calle Palma 3, Asunción"}});
    let (_, link) = all_day_link(&app, &owner, "America/Asuncion", address).await;
    let p = get(&app, &format!("/booking/{link}")).await;
    assert!(p.html.contains("Calle Palma 3, Asunción"), "{}", p.html);
    let manage = reservation(&app, &link).await;
    let p = get(&app, &format!("/booking/manage/{manage}")).await;
    assert!(p.html.contains("<dt>Where</dt><dd class=\"long\">Calle Palma 3, Asunción</dd>"), "{}", p.html);
    let url = json!({"location": {"kind": "url", "value": "https://meet.example.com/r/{reservation_id}"}});
    let (_, link) = all_day_link(&app, &owner, "UTC", url).await;
    let p = get(&app, &format!("/booking/{link}?lang=es")).await;
    assert!(p.html.contains("Reunión en línea"), "{}", p.html);
    assert!(!p.html.contains("{reservation_id}"));
    let manage = reservation(&app, &link).await;
    let p = get(&app, &format!("/booking/manage/{manage}")).await;
    assert!(p.links().iter().any(|l| l.starts_with("https://meet.example.com/r/")), "{}", p.html);
}

async fn the_booking_page_says_how_many_seats_are_left(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({"seats_per_slot": 4})).await;
    let day = days_ahead(2);
    let (start, end) = offered(&app, &link, day, 1).await.into_iter().next().unwrap();
    app.reserve(&link, &start, &end).await.expect(200);
    let query = format!("tz=UTC&month={}&day={}", day.format("%Y-%m"), day.format("%Y-%m-%d"));
    let p = get(&app, &format!("/booking/{link}?{query}")).await;
    assert!(p.html.contains("<span class=\"seats\">3 seats left</span>"), "{}", p.html);
    assert!(p.html.contains("<span class=\"seats\">4 seats left</span>"), "{}", p.html);
    // The screen reader's name of a slot says it too.
    assert!(p.html.contains("(UTC), 3 seats left</span>"), "{}", p.html);
    let p = get(&app, &format!("/booking/{link}?{query}&lang=es")).await;
    assert!(p.html.contains("quedan 3 plazas"), "{}", p.html);
    // A link of one seat per slot says nothing of seats.
    let (_, plain) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let p = get(&app, &format!("/booking/{plain}?{query}")).await;
    assert!(!p.html.contains("seats left"), "{}", p.html);
}

async fn a_request_that_waits_for_the_host_says_so(app: TestApp) {
    let owner = app.user();
    let rules = json!({"requires_confirmation": true, "pending_expires_minutes": 60});
    let (_, link) = all_day_link(&app, &owner, "UTC", rules).await;
    let page = get(&app, &format!("/booking/{link}?tz=UTC")).await;
    let slot_link = page.link_containing("slot=");
    let slot = slot_of(&slot_link);
    let form = get(&app, &slot_link).await;
    let key = form.input("key");
    let fields = [
        ("slot", slot.as_str()),
        ("key", key.as_str()),
        ("tz", "UTC"),
        ("lang", "en"),
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("notes", ""),
    ];
    let booked = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(booked.status, 200, "{}", booked.html);
    assert_safe(&booked, true);
    assert!(booked.html.contains("Request sent"), "{}", booked.html);
    assert!(booked.html.contains("Waiting for the host&#x27;s confirmation"), "{}", booked.html);
    assert!(booked.html.contains("it lapses"), "{}", booked.html);
    assert!(!booked.html.contains("event.ics"), "not in anyone's calendar yet");
    assert!(!booked.html.contains("action=reschedule"), "a request is withdrawn, not moved");
    assert!(booked.html.contains("action=cancel"));
}

/// A reservation made through the API, and its manage token.
async fn reservation(app: &TestApp, link: &str) -> String {
    let from = days_ahead(2);
    let (start, end) = offered(app, link, from, 1).await.into_iter().next().unwrap();
    let r = app.reserve(link, &start, &end).await.expect(200);
    r.body["manage_token"].as_str().unwrap().to_string()
}

async fn manage_page_get_changes_nothing_and_posts_need_the_csrf_token(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let token = reservation(&app, &link).await;
    let before = app.get_reservation(&token).await.expect(200).body;
    for query in ["", "?action=cancel", "?action=reschedule", "?action=reschedule&slot=20300101T000000Z"] {
        let p = get(&app, &format!("/booking/manage/{token}{query}")).await;
        assert_eq!(p.status, 200, "{query}: {}", p.html);
        assert_safe(&p, true);
    }
    assert_eq!(app.get_reservation(&token).await.expect(200).body, before, "GET changed nothing");
    // Cancel without the token, with a wrong one, from another origin: refused.
    let path = format!("/booking/manage/{token}/cancel");
    assert_eq!(post(&app, &path, &[]).await.status, 403);
    assert_eq!(post(&app, &path, &[("csrf", "forged")]).await.status, 403);
    let page = get(&app, &format!("/booking/manage/{token}?action=cancel")).await;
    let csrf = page.input("csrf");
    let cross = browser()
        .post(format!("{}{path}", app.address))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(app.get_reservation(&token).await.expect(200).body, before, "nothing refused changed anything");
    // With it: canceled, and the page says so and offers the link again.
    let done = post(&app, &path, &[("csrf", csrf.as_str()), ("reason", "sick")]).await;
    assert_eq!(done.status, 303);
    let location = done.header("location").to_string();
    assert!(location.contains("done=canceled"));
    assert_eq!(app.get_reservation(&token).await.expect(200).body["status"], "canceled");
    let after = get(&app, &location).await;
    assert!(after.html.contains("This booking is canceled."));
    assert!(after.links().iter().any(|l| l.starts_with(&format!("/booking/{link}"))), "book again");
}

async fn manage_page_reschedules(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "Europe/Berlin", json!({"min_cancel_notice_minutes": 60})).await;
    let token = reservation(&app, &link).await;
    let day = days_ahead(3);
    let (month, date) = (day.format("%Y-%m"), day.format("%Y-%m-%d"));
    let picker =
        get(&app, &format!("/booking/manage/{token}?action=reschedule&lang=es&month={month}&day={date}")).await;
    assert!(picker.html.contains("Elija una nueva hora"));
    assert!(picker.html.contains("60 minutos"), "the notice rule is explained");
    // The reservation's own time is offered (counted free), as the move would take it.
    let own_start = app.get_reservation(&token).await.expect(200).body["slot_start"].as_str().unwrap().to_string();
    let own = DateTime::parse_from_rfc3339(&own_start).unwrap().with_timezone(&Utc);
    let own_day = own.with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let own_picker = get(
        &app,
        &format!("/booking/manage/{token}?action=reschedule&month={}&day={own_day}", own_day.format("%Y-%m")),
    )
    .await;
    let own_param = format!("slot={}", own.format("%Y%m%dT%H%M%SZ"));
    assert!(own_picker.links().iter().any(|l| l.contains(&own_param)), "its own time is offered");
    assert!(!offered(&app, &link, own - chrono::Duration::hours(1), 1).await.iter().any(|(s, _)| s == &own_start));
    let slot_link = picker.links().into_iter().filter(|l| l.contains("slot=")).nth(3).unwrap();
    let confirm = get(&app, &slot_link).await;
    let (csrf, slot, sequence) = (confirm.input("csrf"), confirm.input("slot"), confirm.input("sequence"));
    let fields = [("csrf", csrf.as_str()), ("slot", slot.as_str()), ("sequence", sequence.as_str()), ("lang", "es")];
    let done = post(&app, &format!("/booking/manage/{token}/reschedule"), &fields).await;
    assert_eq!(done.status, 303, "{}", done.html);
    let read = app.get_reservation(&token).await.expect(200).body;
    assert_eq!(read["sequence"], 1);
    let start = DateTime::parse_from_rfc3339(read["slot_start"].as_str().unwrap()).unwrap();
    assert_eq!(start, slot_instant(&slot));
    // The same form again (a double submit) finds the move made.
    let again = post(&app, &format!("/booking/manage/{token}/reschedule"), &fields).await;
    assert_eq!(again.status, 303, "{}", again.html);
    assert_eq!(app.get_reservation(&token).await.expect(200).body["sequence"], 1);
}

async fn embed_view_may_be_framed_by_the_configured_ancestors(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let p = get(&app, &format!("/booking/{link}?embed=1")).await;
    assert_eq!(p.status, 200);
    let csp = p.header("content-security-policy");
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(p.headers.get("x-frame-options").is_none());
    assert!(p.html.contains("data-embed"));
    assert!(!p.html.contains("class=\"top\""), "no page chrome");
}

async fn language_follows_the_query_then_accept_language(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let es = browser()
        .get(format!("{}/booking/{link}", app.address))
        .header("accept-language", "es-PY,es;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let es = page(es).await;
    assert!(es.html.contains("<html lang=\"es\""));
    assert!(es.html.contains("horas libres"));
    let en = page(
        browser()
            .get(format!("{}/booking/{link}?lang=en", app.address))
            .header("accept-language", "es")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(en.html.contains("<html lang=\"en\""));
}

async fn assets_are_served_with_long_cache_headers(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let p = get(&app, &format!("/booking/{link}")).await;
    for asset in p
        .links()
        .into_iter()
        .filter(|l| l.starts_with("/booking/assets/"))
        .chain(p.html.split("src=\"").skip(1).map(|s| unescape(&s[..s.find('"').unwrap()])))
    {
        let r = browser().get(format!("{}{asset}", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    assert_eq!(get(&app, "/booking/assets/pages.0.css").await.status, 404);
}

/// A page with its stylesheet and script weighs under 30 KB as a browser that takes gzip gets it.
async fn a_page_with_its_assets_weighs_under_30_kb_compressed(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "America/Asuncion", json!({})).await;
    let address = app.address.clone();
    let fetch = |path: String| {
        let url = format!("{address}{path}");
        async move { gzipped(&url).await }
    };
    let plain = get(&app, &format!("/booking/{link}")).await;
    let mut total = fetch(format!("/booking/{link}")).await;
    let assets: Vec<String> = plain
        .links()
        .into_iter()
        .filter(|l| l.starts_with("/booking/assets/"))
        .chain(plain.html.split("src=\"").skip(1).map(|s| unescape(&s[..s.find('"').unwrap()])))
        .collect();
    assert_eq!(assets.len(), 2, "a stylesheet and a script: {assets:?}");
    for asset in assets {
        total += fetch(asset).await;
    }
    println!("booking page with its assets, gzipped: {total} bytes");
    assert!(total < 30 * 1024, "{total} bytes");
}

/// The length of `url`'s body as a browser that takes gzip receives it.
async fn gzipped(url: &str) -> usize {
    let r = browser().get(url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-encoding"], "gzip", "{url}");
    r.bytes().await.unwrap().len()
}

/// The confirmation's .ics is the invitation the visitor's email carries (all but `DTSTAMP`).
async fn the_ics_download_is_the_emails_invitation(app: TestApp) {
    let smtp = crate::smtp_sink::SmtpSink::start().await;
    let server = spawn_app_sharing_with(&app, 0, &["--smtp-url", &smtp.url()]).await;
    let id = uuid::Uuid::new_v4();
    let owner =
        User { id, token: app.token_for(id, bookings::policy::DEFAULT_SCOPES, false, Some("host@example.com")) };
    let (_, link) = all_day_link(&app, &owner, "America/Asuncion", json!({})).await;
    let page = get(&app, &format!("/booking/{link}?tz=Pacific/Auckland")).await;
    let slot = slot_of(&page.link_containing("slot="));
    let form = get(&app, &format!("/booking/{link}?slot={slot}")).await;
    let key = form.input("key");
    let fields = [
        ("slot", slot.as_str()),
        ("key", key.as_str()),
        ("name", "Vera"),
        ("email", "vera@example.com"),
        ("notes", "hola"),
    ];
    let booked = post(&app, &format!("/booking/{link}"), &fields).await;
    assert_eq!(booked.status, 200);
    let ics_path = booked.link_containing("event.ics");
    let download = browser().get(format!("{}{ics_path}", app.address)).send().await.unwrap().text().await.unwrap();
    server.notify_bookings(Some(&server.admin().token)).await.expect(204);
    let mail = smtp.messages().into_iter().find(|m| m.to == ["vera@example.com"]).expect("the visitor's email");
    let emailed = crate::notify_ics::extract(&mail.data).expect("an invitation");
    let unfolded = |ics: &str| -> Vec<String> {
        ics.replace("\r\n ", "").lines().filter(|l| !l.starts_with("DTSTAMP")).map(str::to_string).collect()
    };
    assert_eq!(unfolded(&download), unfolded(&emailed));
}

/// `EMBED_FRAME_ANCESTORS` names who may frame the embed view, and only it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_frame_ancestors_are_configurable() {
    let app =
        spawn_app_with(Backend::Sqlite, &["--embed-frame-ancestors", "https://shop.example https://*.shop.example"])
            .await;
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let embed = get(&app, &format!("/booking/{link}?embed=1")).await;
    assert!(embed
        .header("content-security-policy")
        .ends_with("frame-ancestors https://shop.example https://*.shop.example"));
    let plain = get(&app, &format!("/booking/{link}")).await;
    assert!(plain.header("content-security-policy").ends_with("frame-ancestors 'self'"));
    assert_eq!(plain.header("x-frame-options"), "SAMEORIGIN");
}

/// The form's POST is rate limited like reserve: a 429 page saying when to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_form_says_when_to_retry() {
    let app = spawn_app_with(Backend::Sqlite, &["--public-rate-limit", "1", "--public-rate-burst", "1"]).await;
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let form = [("slot", "20300101T000000Z"), ("name", ""), ("email", "")];
    let first = post(&app, &format!("/booking/{link}"), &form).await;
    assert_ne!(first.status, 429);
    let second = post(&app, &format!("/booking/{link}?lang=es"), &[("lang", "es"), ("slot", "x")]).await;
    assert_eq!(second.status, 429, "{}", second.html);
    let retry: u64 = second.header("retry-after").parse().unwrap();
    assert!(retry >= 1);
    assert!(second.html.contains(&format!("Espere {retry} segundos")), "{}", second.html);
    assert_safe(&second, true);
}

/// `CORS_ALLOWED_ORIGINS` opens the public operations to those origins' scripts, and only them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allowed_origins_open_the_public_operations() {
    let app = spawn_app_with(Backend::Sqlite, &["--cors-allowed-origins", "https://shop.example"]).await;
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let url = format!("{}/v1/booking/{link}/reserve", app.address);
    let preflight = browser()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, idempotency-key")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://shop.example");
    let other = browser()
        .get(format!(
            "{}/v1/booking/{link}/availability?start=2030-01-01T00:00:00Z&end=2030-01-02T00:00:00Z",
            app.address
        ))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // Without the setting: no CORS header for anyone.
    let plain = spawn_app(Backend::Sqlite).await;
    let (_, link) = all_day_link(&plain, &plain.user(), "UTC", json!({})).await;
    let r = browser()
        .get(format!(
            "{}/v1/booking/{link}/availability?start=2030-01-01T00:00:00Z&end=2030-01-02T00:00:00Z",
            plain.address
        ))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

db_tests!(
    the_pages_say_where,
    the_booking_page_says_how_many_seats_are_left,
    a_request_that_waits_for_the_host_says_so,
    booking_page_shows_the_month_and_books_without_javascript,
    form_errors_are_listed_and_the_values_kept,
    a_slot_taken_meanwhile_brings_back_the_picker,
    unknown_links_and_tokens_are_404_pages,
    a_link_without_free_time_says_so,
    a_month_without_free_time_offers_the_first_month_with_some,
    manage_page_get_changes_nothing_and_posts_need_the_csrf_token,
    manage_page_reschedules,
    embed_view_may_be_framed_by_the_configured_ancestors,
    language_follows_the_query_then_accept_language,
    assets_are_served_with_long_cache_headers,
    a_page_with_its_assets_weighs_under_30_kb_compressed,
    the_ics_download_is_the_emails_invitation,
);
