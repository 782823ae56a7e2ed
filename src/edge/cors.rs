//! `CORS_ALLOWED_ORIGINS`: browser scripts of those origins may call the public operations
//! (availability, reserve, the guest's reservation), for owners who build their own booking
//! front end elsewhere. Default none: no `Access-Control-*` header at all. The `Authorization`
//! header is not allowed across origins, so a secured operation stays out of other origins'
//! scripts. Mounted around the API by the edge's router.

use poem::http::HeaderValue;
use poem::middleware::Cors;
use poem::{EndpointExt, IntoEndpoint, Response};

/// `api`, answering preflights and marking answers for the configured origins (unchanged when
/// there are none; an origin that is no header value is left out, logged).
pub fn around<E>(api: E, origins: &[String]) -> poem::endpoint::BoxEndpoint<'static, Response>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let api = api.into_endpoint().map_to_response();
    let origins: Vec<&str> = origins.iter().map(|o| o.trim().trim_end_matches('/')).filter(|o| !o.is_empty()).collect();
    let mut cors = Cors::new()
        .allow_methods(["GET", "POST", "OPTIONS"])
        .allow_headers(["content-type", "idempotency-key"])
        .expose_headers(["retry-after", "idempotent-replayed", "x-request-id", "deprecation", "link"])
        .max_age(600);
    let mut any = false;
    for origin in origins {
        if HeaderValue::from_str(origin).is_ok() && origin != "*" {
            cors = cors.allow_origin(origin);
            any = true;
        } else {
            tracing::warn!(origin, "CORS_ALLOWED_ORIGINS: not an origin; left out");
        }
    }
    if any {
        api.with(cors).boxed()
    } else {
        api.boxed()
    }
}
