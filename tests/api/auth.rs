//! Bearer JWT: missing, malformed, expired, tampered, `alg: none` and wrongly signed tokens get
//! 401 in the Error shape; a token from `token` is accepted.

use crate::helpers::*;
use base64::Engine;
use serde_json::json;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn assert_401(app: &TestApp, token: Option<&str>) {
    let r = app.post("/v1/calendars", token, json!({"name": "x"})).await.expect(401);
    assert_eq!(r.code(), "unauthorized");
    assert_eq!(r.error()["endpoint"], "POST /v1/calendars");
}

#[tokio::test]
async fn tokens_are_verified() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    app.post("/v1/calendars", Some(&user.token), json!({"name": "mine"})).await.expect(201);

    assert_401(&app, None).await;
    assert_401(&app, Some("not.a.jwt")).await;

    // Tampered payload, original signature.
    let parts: Vec<&str> = user.token.split('.').collect();
    let forged = b64(&json!({"sub": uuid::Uuid::new_v4().to_string(), "exp": 4102444800i64, "roles": ["admin"]}));
    assert_401(&app, Some(&format!("{}.{}.{}", parts[0], forged, parts[2]))).await;

    // alg: none.
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), forged);
    assert_401(&app, Some(&none)).await;

    // Signed with another secret.
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string(), "exp": 4102444800i64}),
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
        &json!({"sub": user.id.to_string(), "exp": 4102444800i64}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&hs384)).await;

    // A subject that is not a UUID.
    let bad_sub = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "alice", "exp": 4102444800i64}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&bad_sub)).await;
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = spawn_app_with(Backend::Sqlite, &["--jwt-issuer", "https://issuer.test", "--jwt-audience", "bookings"]).await;
    let user = app.user();
    app.post("/v1/calendars", Some(&user.token), json!({"name": "ok"})).await.expect(201);
    let wrong = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user.id.to_string(), "exp": 4102444800i64, "iss": "https://evil.test", "aud": "bookings"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_401(&app, Some(&wrong)).await;
}
