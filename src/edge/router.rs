//! The HTTP application: the contract's operations under `/v1` with the layers around each
//! (request tracing, the guard's limits, idempotency, the answer cache), the contract and its
//! docs, the visitor's links, the health checks and the metrics.

use crate::auth::Authenticated;
use crate::edge::{answer_cache, cors, errors, forms, guard, idempotency, rate_limit, trace};
use crate::handlers::Handlers;
use crate::state::AppState;
use poem::middleware::CatchPanic;
use poem::web::{Html, Json};
use poem::{get, handler, http::StatusCode, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::OpenApiService;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The merged contract, as build.rs wrote it.
pub const CONTRACT_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.yaml"));

pub fn contract_json() -> serde_json::Value {
    serde_yaml::from_str(CONTRACT_YAML).expect("the merged contract is valid YAML (checked at build time)")
}

fn api_service(state: Arc<AppState>) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    let handlers = Arc::new(Handlers::new(state));
    OpenApiService::new(crate::api::all_apis(handlers), "Bookings API", env!("CARGO_PKG_VERSION"))
}

/// poem-openapi's own rendering of the routes it serves (checked against the contract in tests).
pub fn routed_spec(state: Arc<AppState>) -> String {
    api_service(state).spec()
}

/// What runs around every routed operation, in order: the request span is told the operation,
/// the guard's limits apply, a secured operation's bearer token is verified, then a write with
/// an Idempotency-Key is served by the idempotency
/// layer (stored answers, replays), and anything else by the answer cache, which answers or
/// keeps what it may (so an answer from the cache or a replay counts against the rate limit and
/// is logged).
struct Layers {
    state: Arc<AppState>,
    guard: guard::Guard,
    idempotency: idempotency::Idempotency,
    answers: answer_cache::AvailabilityAnswers,
}

impl crate::api::OperationMiddleware for Layers {
    fn call<'a>(
        &'a self,
        op: &'static crate::api::OperationMeta,
        mut req: poem::Request,
        next: &'a dyn poem::endpoint::DynEndpoint<Output = Response>,
    ) -> crate::api::OperationFuture<'a> {
        Box::pin(async move {
            trace::record_operation(op);
            if let Some(refusal) = self.guard.admit(op, &mut req).await {
                return Ok(refusal);
            }
            if op.secured {
                // Verified once, here: the operation's authenticator and the idempotency layer
                // take the principal from the request (a token that does not verify is left to
                // the operation, which answers the 401 saying why).
                if let Some(verified) = Authenticated::from_request(&self.state.verifier, &req) {
                    req.set_data(verified);
                }
            }
            if idempotency::Idempotency::applies(op, &req) {
                return self.idempotency.call(op, req, next).await;
            }
            self.answers.call(op, req, next).await
        })
    }
}

/// The whole HTTP application, `/metrics` included.
pub fn app(state: Arc<AppState>) -> impl poem::Endpoint<Output = Response> {
    app_with(state, true)
}

/// The whole HTTP application; `/metrics` only with `metrics_here` (not when `METRICS_BIND`
/// serves it apart).
pub fn app_with(state: Arc<AppState>, metrics_here: bool) -> impl poem::Endpoint<Output = Response> {
    // One Redis connection for both scopes of the public rate limit (when it is configured).
    let redis = state.limits.redis.url.as_deref().and_then(|url| {
        let redis = &state.limits.redis;
        rate_limit::Redis::new(url, redis.timeout, &redis.key_prefix)
            .inspect_err(
                |e| tracing::error!(error = %e, "REDIS_URL is not usable: the rate limits are counted per instance"),
            )
            .ok()
    });
    let layers = Layers {
        state: state.clone(),
        guard: guard::Guard::new(guard::GuardSettings::from(&state.limits), "public", redis.clone()),
        idempotency: idempotency::Idempotency::new(state.clone()),
        answers: answer_cache::AvailabilityAnswers::new(state.clone()),
    };
    let forms = Arc::new(forms::FormGate {
        guard: guard::Guard::new(guard::GuardSettings::from(&state.limits), "pages", redis),
        idempotency: idempotency::Idempotency::new(state.clone()),
    });
    let api = api_service(state.clone());
    let contract = contract_json();
    let contract_json_text = serde_json::to_string(&contract).expect("serialisable");
    let docs_html = swagger_html(&api, &contract_json_text);
    let db_for_ready = state.db.clone();
    let route = if metrics_here {
        Route::new().at("/metrics", get(crate::edge::metrics::Metrics::new(state.clone())))
    } else {
        crate::metrics::install();
        Route::new()
    };
    route
        .nest(crate::api::BASE_PATH, cors::around(api, &state.pages.cors_allowed_origins))
        .at("/openapi.json", get(ContractJson(contract_json_text)))
        .at("/openapi.yaml", get(ContractYaml))
        .at("/docs", get(Docs(docs_html.clone())))
        .at("/docs/", get(Docs(docs_html)))
        // Pages and their assets compressed as the browser accepts (a page with its stylesheet
        // and script is a tenth of its size gzipped).
        .nest(
            "/booking",
            crate::pages::routes(state.clone(), forms)
                .with(poem::middleware::Compression::new())
                .around(coded_validators),
        )
        .at("/healthz", get(healthz))
        .at("/readyz", get(Readyz(db_for_ready)))
        .data(crate::api::OperationLayer(Arc::new(layers)))
        .around(moved_paths)
        .with(CatchPanic::new().with_handler(|_| {
            errors::error_response("", "", &poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
        }))
        .before(head_as_get)
        .with(trace::RequestTracing)
        .map_to_response()
}

/// Paths the contract moved, still served until its next major version: contract 2.0.0 moved
/// the guest's operations from `/v1/booking/reservations/` (ambiguous with the seed's
/// `/v1/booking/{token}/availability`) to `/v1/reservations/`. Clients written against 1.x (and
/// links already shared) keep working: a request at an old path is served as the one at its
/// new path, and its answer says so with `Deprecation: true` and a `Link` to the successor
/// (RFC 8288 `successor-version`). The contract documents only the new paths.
const MOVED_PATHS: &[(&str, &str)] = &[("/v1/booking/reservations/", "/v1/reservations/")];

/// The pages' validators once compressed: a compressed page is another representation than the
/// plain one, so its strong `ETag` becomes weak (`If-None-Match` compares weakly: either
/// revalidates); a 304 has no body to compress, so it says no content coding.
async fn coded_validators<E: poem::Endpoint>(next: Arc<E>, req: poem::Request) -> poem::Result<Response> {
    use poem::http::{header, HeaderValue};
    let mut response = next.call(req).await?.into_response();
    if response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().remove(header::CONTENT_ENCODING);
        response.set_body(poem::Body::empty());
        return Ok(response);
    }
    let headers = response.headers_mut();
    if headers.contains_key(header::CONTENT_ENCODING) {
        let weak = headers
            .get(header::ETAG)
            .and_then(|tag| tag.to_str().ok())
            .filter(|tag| tag.starts_with('"'))
            .and_then(|tag| HeaderValue::from_str(&format!("W/{tag}")).ok());
        if let Some(weak) = weak {
            headers.insert(header::ETAG, weak);
        }
    }
    Ok(response)
}

async fn moved_paths<E: poem::Endpoint>(next: Arc<E>, mut req: poem::Request) -> poem::Result<Response> {
    let path = req.uri().path();
    let Some(new_path) =
        MOVED_PATHS.iter().find_map(|(old, new)| path.strip_prefix(old).map(|rest| format!("{new}{rest}")))
    else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let target = match req.uri().query() {
        Some(query) => format!("{new_path}?{query}"),
        None => new_path.clone(),
    };
    match target.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
    let mut response = next.call(req).await?.into_response();
    let headers = response.headers_mut();
    headers.insert("deprecation", poem::http::HeaderValue::from_static("true"));
    if let Ok(link) = poem::http::HeaderValue::from_str(&format!("<{new_path}>; rel=\"successor-version\"")) {
        headers.insert(poem::http::header::LINK, link);
    }
    Ok(response)
}

/// A `HEAD` is served as its `GET` (so it is limited, cached and logged as that operation); hyper,
/// which knows the request was a `HEAD`, sends the `GET`'s headers, its length among them, and
/// no body. (Left to the router, a `HEAD` would lose its body, and with it its length.)
async fn head_as_get(mut req: poem::Request) -> poem::Result<poem::Request> {
    if req.method() == poem::http::Method::HEAD {
        req.set_method(poem::http::Method::GET);
    }
    Ok(req)
}

/// Swagger UI (assets bundled in poem-openapi, no CDN) showing the merged contract rather than
/// poem-openapi's own rendering of it.
fn swagger_html(api: &OpenApiService<impl poem_openapi::OpenApi, ()>, contract_json: &str) -> String {
    let html = api.swagger_ui_html();
    let generated = api.spec();
    assert!(html.contains(&generated), "swagger UI template embeds the spec verbatim");
    html.replacen(&generated, contract_json, 1).replace("<title>Swagger UI</title>", "<title>Bookings API</title>")
}

struct ContractJson(String);
impl poem::Endpoint for ContractJson {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(self.0.clone().with_content_type("application/json").into_response())
    }
}

#[handler]
fn contract_yaml() -> Response {
    CONTRACT_YAML.with_content_type("application/yaml").into_response()
}
#[allow(non_upper_case_globals)]
const ContractYaml: contract_yaml = contract_yaml;

struct Docs(String);
impl poem::Endpoint for Docs {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(Html(self.0.clone()).into_response())
    }
}

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready when the database takes a write: a transaction that deletes nothing from the
/// migrations table and rolls back (a read-only or locked database, or one out of reach, fails
/// it within the configured timeouts).
struct Readyz(DatabaseConnection);
impl poem::Endpoint for Readyz {
    type Output = Response;
    async fn call(&self, _req: poem::Request) -> poem::Result<Response> {
        Ok(match crate::store::can_write(&self.0).await {
            Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                Json(serde_json::json!({"status": "database cannot take a write"}))
                    .with_status(StatusCode::SERVICE_UNAVAILABLE)
                    .into_response()
            }
        })
    }
}
