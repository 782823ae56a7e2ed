//! HTTP validators (RFC 9110 §8.8, §13.1.2) for public reads that are the same for everyone:
//! availability (the edge's answer cache) and the booking page's picker (the pages). A strong
//! `ETag` is a digest of the answer's bytes; `If-None-Match` is compared weakly (a `W/` prefix is
//! ignored), as RFC 9110 asks of it. Pure: neither the edge nor the pages own it, both use it.

use base64::Engine;
use std::time::Duration;

/// The strong entity tag of `body`, quoted: its 128-bit XXH3 hash, URL-safe base64 (24
/// characters with the quotes). A strong tag needs only that different bytes get different tags
/// (RFC 9110 §8.8.3), not a cryptographic digest: nobody gains by forging one (a client can send
/// any tag it likes in `If-None-Match` anyway), and a collision within one link's answers is not
/// a concern. Every availability answer that is computed is tagged, so this is on its hot path:
/// SHA-256 (with the CPU's SHA extensions) was 9% of the server's CPU samples for availability
/// with every range new (`PERF=1 bench/http.sh`, ~30 KB answers); XXH3 hashes them many times
/// faster.
pub fn etag_of(body: &[u8]) -> String {
    let digest = xxhash_rust::xxh3::xxh3_128(body).to_be_bytes();
    let mut tag = String::with_capacity(24);
    tag.push('"');
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(digest, &mut tag);
    tag.push('"');
    tag
}

/// `Cache-Control` of an answer that may be kept `ttl` (whole seconds, rounded down).
pub fn cache_control(ttl: Duration) -> String {
    format!("public, max-age={}", ttl.as_secs())
}

/// Whether `If-None-Match` (every field line of it, in order) matches `etag` (quoted, as
/// [`etag_of`] makes it): `*`, or any entity tag in the list whose opaque tag equals it. A
/// malformed member ends the list (what came before it still counts); nothing matches then.
pub fn none_match<'a>(fields: impl IntoIterator<Item = &'a [u8]>, etag: &str) -> bool {
    let etag = etag.as_bytes();
    fields.into_iter().any(|field| list_matches(field, etag))
}

fn list_matches(mut rest: &[u8], etag: &[u8]) -> bool {
    loop {
        while let [b' ' | b'\t' | b',', tail @ ..] = rest {
            rest = tail;
        }
        match rest {
            [] => return false,
            [b'*', ..] => return true,
            _ => {}
        }
        if let [b'W', b'/', tail @ ..] = rest {
            rest = tail;
        }
        let [b'"', tail @ ..] = rest else { return false };
        let Some(close) = tail.iter().position(|&b| b == b'"') else { return false };
        if &rest[..close + 2] == etag {
            return true;
        }
        rest = &tail[close + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(field: &str, etag: &str) -> bool {
        none_match([field.as_bytes()], etag)
    }

    #[test]
    fn the_same_bytes_have_the_same_tag_and_others_another() {
        assert_eq!(etag_of(b"{}"), etag_of(b"{}"));
        assert_ne!(etag_of(b"{}"), etag_of(b"{ }"));
        let tag = etag_of(b"abc");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 24, "{tag}");
    }

    #[test]
    fn if_none_match_is_a_weakly_compared_list_or_a_star() {
        let tag = etag_of(b"x");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("W/{tag}"), &tag), "weak comparison ignores W/");
        assert!(matches(&format!("\"a\", {tag}"), &tag));
        assert!(matches(&format!("\"a\",W/\"b\" ,\t{tag}, \"c\""), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"a\", \"b\"", &tag));
        assert!(!matches("", &tag));
        assert!(!matches(tag.trim_matches('"'), &tag), "an unquoted tag is no entity tag");
        assert!(!matches(&format!("\"{tag}"), &tag));
        // Several field lines are one list.
        assert!(none_match(["\"a\"".as_bytes(), tag.as_bytes()], &tag));
    }

    #[test]
    fn max_age_is_the_cache_time_in_whole_seconds() {
        assert_eq!(cache_control(Duration::from_secs(60)), "public, max-age=60");
        assert_eq!(cache_control(Duration::from_millis(1500)), "public, max-age=1");
        assert_eq!(cache_control(Duration::ZERO), "public, max-age=0");
    }
}
