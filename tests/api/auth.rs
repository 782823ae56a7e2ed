//! Bearer JWT: missing, malformed, expired, tampered, `alg: none` and wrongly signed tokens get
//! 401 in the Error shape; a token from `token` is accepted. A configured issuer and audience are
//! required (`aud` may be an array holding ours), `nbf` is honoured and an `exp` further ahead than
//! `--jwt-max-ttl` is refused.

use crate::helpers::*;
use base64::Engine;
use serde_json::json;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn assert_401(app: &TestApp, token: Option<&str>) {
    let r = app.create_calendar(token, json!({"name": "x"})).await.expect(401);
    assert_eq!(r.code(), "unauthorized");
    assert_eq!(r.error()["endpoint"], "POST /v1/calendars");
}

async fn assert_accepted(app: &TestApp, token: &str) {
    app.create_calendar(Some(token), json!({"name": "accepted"})).await.expect(201);
}

/// Unix seconds `seconds` from now (the test apps' clocks are not shifted).
fn from_now(seconds: i64) -> i64 {
    chrono::Utc::now().timestamp() + seconds
}

/// An HS256 token with these claims and the `calendar:write` scope, signed with the test apps'
/// secret.
fn signed(mut claims: serde_json::Value) -> String {
    claims["scope"] = json!("calendar:write");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_are_verified() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    app.create_calendar(Some(&user.token), json!({"name": "mine"})).await.expect(201);

    assert_401(&app, None).await;
    assert_401(&app, Some("not.a.jwt")).await;

    // Tampered payload, original signature. (Tokens below expire in an hour, so that only the
    // flaw each one is about can be the reason it is refused.)
    let later = from_now(3600);
    let parts: Vec<&str> = user.token.split('.').collect();
    let forged = b64(&json!({"sub": uuid::Uuid::new_v4().to_string(), "exp": later, "roles": ["admin"]}));
    assert_401(&app, Some(&format!("{}.{}.{}", parts[0], forged, parts[2]))).await;

    // alg: none.
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), forged);
    assert_401(&app, Some(&none)).await;

    // Signed with another secret.
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string(), "exp": later}),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .unwrap();
    assert_401(&app, Some(&other)).await;

    // Expired.
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string(), "exp": 1_000_000_000i64}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&expired)).await;

    // No exp at all.
    let no_exp = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string()}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&no_exp)).await;

    // HS384 with the right secret: another algorithm than configured.
    let hs384 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &json!({"sub": user.id.to_string(), "exp": later}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&hs384)).await;

    // A subject that is not a UUID.
    let bad_sub = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "alice", "exp": later}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&bad_sub)).await;
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app =
        spawn_app_with(Backend::Sqlite, &["--jwt-issuer", "https://issuer.test", "--jwt-audience", "bookings"]).await;
    let user = app.user();
    app.create_calendar(Some(&user.token), json!({"name": "ok"})).await.expect(201);
    let later = from_now(3600);
    let wrong = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string(), "exp": later, "iss": "https://evil.test", "aud": "bookings"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&wrong)).await;
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required_claims() {
    let app =
        spawn_app_with(Backend::Sqlite, &["--jwt-issuer", "https://issuer.test", "--jwt-audience", "bookings"]).await;
    let sub = app.user().id.to_string();
    let (iss, later) = ("https://issuer.test", from_now(3600));

    // Another service's token from the same key: no iss, no aud, or neither.
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "aud": "bookings"})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": iss})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later})))).await;
    // Present but empty or null counts as missing, not as a wildcard.
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": []})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": null})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": null, "aud": "bookings"})))).await;

    // Without the settings, neither claim is needed.
    let open = spawn_app(Backend::Sqlite).await;
    assert_accepted(&open, &signed(json!({"sub": sub, "exp": later}))).await;
}

#[tokio::test]
async fn an_audience_array_is_accepted_when_it_holds_ours() {
    let app =
        spawn_app_with(Backend::Sqlite, &["--jwt-issuer", "https://issuer.test", "--jwt-audience", "bookings"]).await;
    let sub = app.user().id.to_string();
    let (iss, later) = ("https://issuer.test", from_now(3600));
    // aud as an array (RFC 7519 4.1.3): accepted when it holds ours, refused when it does not.
    assert_accepted(&app, &signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": ["billing", "bookings"]}))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": ["billing", "reports"]})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": "billing"})))).await;
    // And the plain form.
    assert_accepted(&app, &signed(json!({"sub": sub, "exp": later, "iss": iss, "aud": "bookings"}))).await;
}

#[tokio::test]
async fn not_before_is_honoured_with_a_small_leeway() {
    let app = spawn_app(Backend::Sqlite).await;
    let sub = app.user().id.to_string();
    let later = from_now(2 * 3600);
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "nbf": from_now(3600)})))).await;
    let r = app
        .create_calendar(Some(&signed(json!({"sub": sub, "exp": later, "nbf": from_now(600)}))), json!({"name": "x"}))
        .await
        .expect(401);
    assert!(r.error()["message"].as_str().unwrap_or("").contains("not valid yet"), "{}", r.text);
    // Already valid, or within the clock-skew leeway.
    assert_accepted(&app, &signed(json!({"sub": sub, "exp": later, "nbf": from_now(-60)}))).await;
    assert_accepted(&app, &signed(json!({"sub": sub, "exp": later, "nbf": from_now(10)}))).await;
    // A malformed nbf is not ignored.
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": later, "nbf": "tomorrow"})))).await;
}

#[tokio::test]
async fn an_expiry_further_ahead_than_the_maximum_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let sub = app.user().id.to_string();
    let day = 86_400;
    // The default maximum is a year.
    assert_accepted(&app, &signed(json!({"sub": sub, "exp": from_now(364 * day)}))).await;
    let r = app
        .create_calendar(Some(&signed(json!({"sub": sub, "exp": from_now(366 * day)}))), json!({"name": "x"}))
        .await
        .expect(401);
    assert!(r.error()["message"].as_str().unwrap_or("").contains("further ahead"), "{}", r.text);
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": 4102444800i64})))).await;
    assert_401(&app, Some(&signed(json!({"sub": sub, "exp": i64::MAX})))).await;

    // The maximum is a setting.
    let short = spawn_app_with(Backend::Sqlite, &["--jwt-max-ttl", "2h"]).await;
    assert_accepted(&short, &signed(json!({"sub": sub, "exp": from_now(3600)}))).await;
    assert_401(&short, Some(&signed(json!({"sub": sub, "exp": from_now(3 * 3600)})))).await;
    let long = spawn_app_with(Backend::Sqlite, &["--jwt-max-ttl", "800d"]).await;
    assert_accepted(&long, &signed(json!({"sub": sub, "exp": from_now(700 * day)}))).await;
}
