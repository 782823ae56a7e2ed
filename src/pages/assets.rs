//! The pages' stylesheet and ES module, compiled into the binary and served under names that
//! carry a hash of their content, so browsers may keep them for a year.

use poem::http::{header, StatusCode};
use poem::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &str = include_str!("assets/pages.css");
const JS: &str = include_str!("assets/pages.js");

pub struct Asset {
    /// `pages.<hash>.css`
    pub name: String,
    pub body: &'static str,
    pub content_type: &'static str,
}

fn asset(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
    Asset { name: format!("{stem}.{hash}.{ext}"), body, content_type }
}

pub static STYLES: LazyLock<Asset> = LazyLock::new(|| asset("pages", "css", CSS, "text/css; charset=utf-8"));
pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| asset("pages", "js", JS, "text/javascript; charset=utf-8"));

/// Where the pages link them.
pub fn url(asset: &Asset) -> String {
    format!("/booking/assets/{}", asset.name)
}

/// `GET /booking/assets/{name}`: the asset by its current name, else 404.
pub fn serve(name: &str) -> Response {
    let Some(asset) = [&*STYLES, &*SCRIPT].into_iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    asset
        .body
        .with_content_type(asset.content_type)
        .with_header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .into_response()
}
