//! Bearer JWT verification -> a [`Principal`], and signing for the `token` command.
//!
//! One algorithm family per deployment: HS256 with a shared secret, or RS256/ES256 with a public
//! key or a JWKS file. Only the configured algorithm is accepted (so `alg: none` and
//! algorithm confusion are rejected); `exp` and `sub` are required. `exp`, `nbf` and how far ahead
//! `exp` may lie (`JWT_MAX_TTL`) are checked against the server's [`Clock`] with [`LEEWAY_SECONDS`]
//! for clock skew. When an issuer or audience is configured the claim is required and must match
//! (`aud` may be a string or an array that contains ours, RFC 7519 4.1.3).

use crate::clock::Clock;
use anyhow::{bail, Context};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The role claim that makes a token an admin's.
pub const ADMIN_ROLE: &str = "admin";
/// Clock skew allowed between the token's issuer and this server, on `exp`, `nbf` and the
/// maximum lifetime alike.
pub const LEEWAY_SECONDS: i64 = 60;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: crate::domain::ids::UserId,
    pub scopes: BTreeSet<String>,
    pub admin: bool,
    pub email: Option<String>,
}

/// A bearer token the edge verified for a secured operation, kept on the request so the
/// operation's authenticator and the idempotency layer use this one verification.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub token: String,
    pub principal: Principal,
}

impl Authenticated {
    /// The request's `Authorization: Bearer <token>` when `verifier` accepts it (else `None`:
    /// the operation answers its 401 with the reason).
    pub fn from_request(verifier: &Verifier, req: &poem::Request) -> Option<Self> {
        let value = req.headers().get(poem::http::header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        let principal = verifier.verify(token).ok()?;
        Some(Self { token: token.to_string(), principal })
    }
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// `aud`: one audience or several (RFC 7519 4.1.3). Which one must be ours is checked by
/// jsonwebtoken's validation; this only lets either form through deserialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the bearer token is malformed or its signature is invalid")]
    Invalid,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token's subject is not a user id")]
    BadSubject,
    #[error("the bearer token was not issued for this server (its iss or aud is missing or not ours)")]
    NotForUs,
    #[error("the bearer token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the bearer token's expiry is further ahead than this server accepts")]
    TooLongLived,
}

/// How tokens are signed and checked; built from the configuration (`config::JwtSettings::keys`),
/// so this module knows no command line or environment.
#[derive(Clone)]
pub struct KeySettings {
    /// HS256, RS256 or ES256: the only algorithm accepted.
    pub algorithm: Algorithm,
    /// The HS256 shared secret; without one it is kept in the data directory.
    pub secret: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    pub private_key_file: Option<PathBuf>,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// The longest token lifetime accepted or signed.
    pub max_ttl: std::time::Duration,
}

/// What a signed token says (the `token` command's arguments).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The `sub` claim; a new random user id when `None`.
    pub sub: Option<Uuid>,
    /// Space-separated scopes.
    pub scope: String,
    pub admin: bool,
    pub email: Option<String>,
    pub ttl: std::time::Duration,
}

enum Keys {
    Single(DecodingKey),
    Jwks(JwkSet),
}

pub struct Verifier {
    keys: Keys,
    validation: Validation,
    clock: Clock,
    /// The furthest ahead an `exp` may be, in seconds.
    max_ttl: i64,
}

/// The HS256 secret: configured, or generated once and kept (mode 0600) in the data directory.
pub fn hs256_secret(settings: &KeySettings, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    kept_secret(&JWT_SECRET, settings.secret.as_deref(), data_dir)
}

/// A server secret that is configured (an environment variable) or else generated once and kept
/// in the data directory (several instances share it by configuring it, or the directory).
#[derive(Debug, Clone, Copy)]
pub struct SecretSpec {
    /// What it is, in messages ("JWT secret").
    pub what: &'static str,
    /// The variable that configures it.
    pub env: &'static str,
    /// The generated secret's file name in the data directory.
    pub file: &'static str,
    /// What stops working when it changes.
    pub breaks: &'static str,
}

/// The JWT HS256 secret.
pub const JWT_SECRET: SecretSpec =
    SecretSpec { what: "JWT secret", env: "JWT_SECRET", file: SECRET_FILE, breaks: "tokens signed with the old one" };

/// The secret visitors' manage tokens are made with.
pub const MANAGE_LINK_SECRET: SecretSpec = SecretSpec {
    what: "manage link secret",
    env: "MANAGE_LINK_SECRET",
    file: "manage-link-secret",
    breaks: "manage links in later messages about earlier reservations (they are left out)",
};

/// The secret configured for `spec`, or the one kept in the data directory (generated on first
/// use). A secret file that is there but unusable (short, empty, not text) is an error: it is
/// never replaced, since what was made with it, or another instance reading it, would silently
/// stop working.
pub fn kept_secret(spec: &SecretSpec, configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        if secret.len() < MIN_SECRET_LEN {
            bail!("{} must be at least {MIN_SECRET_LEN} characters", spec.env);
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join(spec.file);
    if let Some(existing) = read_secret_file(spec, &path)? {
        return Ok(existing);
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    use base64::Engine;
    let bytes: [u8; 48] = rand::random();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    if create_private(&path, &secret)? {
        tracing::info!(path = %path.display(), "generated a new {}", spec.what);
        return Ok(secret.into_bytes());
    }
    // Another process created it first: use theirs.
    read_secret_file(spec, &path)?.with_context(|| format!("{} disappeared while it was being created", path.display()))
}

/// The shortest HS256 secret accepted, configured or in the secret file.
pub const MIN_SECRET_LEN: usize = 32;
/// The generated secret's file name in the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// The secret in `path`: `None` when there is no such file; an error when it is there but cannot be
/// read or holds no usable secret (at least 32 printable characters, surrounding whitespace aside).
fn read_secret_file(spec: &SecretSpec, path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    let (what, env, breaks) = (spec.what, spec.env, spec.breaks);
    let fix = format!("fix or remove it (a new one is then generated; {breaks} stop working), or set {env}");
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading the {what} file {}", path.display())),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        bail!("the {what} file {} is not text (corrupt?): {fix}", path.display());
    };
    let secret = text.trim();
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("the {what} file {} holds characters a secret never has (corrupt?): {fix}", path.display());
    }
    if secret.len() < MIN_SECRET_LEN {
        bail!(
            "the {what} file {} holds {} characters; a secret needs at least {MIN_SECRET_LEN}: {fix}",
            path.display(),
            secret.len()
        );
    }
    Ok(Some(secret.as_bytes().to_vec()))
}

/// Creates `path` holding `contents` (mode 0600), all at once: the contents go to a temporary file
/// that is then hard-linked into place, so no reader ever sees a partly written secret. `false`
/// when `path` already exists (another process got there first).
fn create_private(path: &Path, contents: &str) -> anyhow::Result<bool> {
    use std::io::Write;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(SECRET_FILE);
    let temp = path.with_file_name(format!(".{name}.{}.{:016x}", std::process::id(), rand::random::<u64>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

impl Verifier {
    pub fn from_settings(settings: &KeySettings, data_dir: &Path, clock: Clock) -> anyhow::Result<Self> {
        let alg = settings.algorithm;
        let keys = match alg {
            Algorithm::HS256 => Keys::Single(DecodingKey::from_secret(&hs256_secret(settings, data_dir)?)),
            Algorithm::RS256 | Algorithm::ES256 => {
                if let Some(path) = &settings.jwks_file {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    Keys::Jwks(serde_json::from_str(&text).context("parsing the JWKS file")?)
                } else if let Some(path) = &settings.public_key_file {
                    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    Keys::Single(match alg {
                        Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem)?,
                        _ => DecodingKey::from_ec_pem(&pem)?,
                    })
                } else {
                    bail!("JWT_ALGORITHM {} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE", algorithm_name(alg));
                }
            }
            other => bail!("JWT_ALGORITHM {other:?} is not supported (HS256, RS256 or ES256)"),
        };
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        // A configured issuer or audience makes its claim required: jsonwebtoken only compares
        // the claims that are present.
        let mut required = vec!["exp", "sub"];
        match &settings.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &settings.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        // `exp` and `nbf` are checked against the server's clock in `verify`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let max_ttl = i64::try_from(settings.max_ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(Self { keys, validation, clock, max_ttl })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let key = match &self.keys {
            Keys::Single(key) => key.clone(),
            Keys::Jwks(set) => {
                let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
                let kid = header.kid.ok_or(AuthError::Invalid)?;
                let jwk = set.find(&kid).ok_or(AuthError::Invalid)?;
                DecodingKey::from_jwk(jwk).map_err(|_| AuthError::Invalid)?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => AuthError::NotForUs,
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" || claim == "aud" => AuthError::NotForUs,
                _ => AuthError::Invalid,
            }
        })?;
        let claims = data.claims;
        let now = self.clock.now().timestamp();
        if claims.exp.saturating_add(LEEWAY_SECONDS) <= now {
            return Err(AuthError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECONDS)) {
            return Err(AuthError::NotYetValid);
        }
        if claims.exp.saturating_sub(now) > self.max_ttl.saturating_add(LEEWAY_SECONDS) {
            return Err(AuthError::TooLongLived);
        }
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::BadSubject)?;
        Ok(Principal {
            user_id: crate::domain::ids::UserId::from_uuid(user_id),
            scopes: claims.scope.unwrap_or_default().split_whitespace().map(str::to_string).collect(),
            admin: claims.roles.iter().any(|r| r == ADMIN_ROLE),
            email: claims.email,
        })
    }
}

/// As the configuration names it.
fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        _ => "HS256",
    }
}

/// `400d`, `36h`, `90m`, `45s`: the largest unit that divides `d` whole (as `--ttl` takes it).
fn in_largest_unit(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// Signs a token the way `Verifier` checks it (the `token` command, and tests).
pub fn sign(settings: &KeySettings, data_dir: &Path, clock: Clock, args: &TokenRequest) -> anyhow::Result<String> {
    if args.ttl > settings.max_ttl {
        bail!(
            "--ttl {} is longer than the longest token lifetime the server accepts, {} (JWT_MAX_TTL / --jwt-max-ttl)",
            in_largest_unit(args.ttl),
            in_largest_unit(settings.max_ttl)
        );
    }
    let now = clock.now().timestamp();
    let exp = i64::try_from(args.ttl.as_secs())
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .with_context(|| format!("--ttl {} is too long", in_largest_unit(args.ttl)))?;
    let claims = Claims {
        sub: args.sub.unwrap_or_else(Uuid::new_v4).to_string(),
        exp,
        iat: Some(now),
        scope: Some(args.scope.clone()).filter(|s| !s.trim().is_empty()),
        roles: if args.admin { vec![ADMIN_ROLE.to_string()] } else { vec![] },
        email: args.email.clone(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone().map(Audience::One),
        nbf: None,
    };
    let alg = settings.algorithm;
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(&hs256_secret(settings, data_dir)?),
        _ => {
            let path =
                settings.private_key_file.as_ref().context("signing RS256/ES256 tokens needs JWT_PRIVATE_KEY_FILE")?;
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            match alg {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem)?,
                _ => EncodingKey::from_ec_pem(&pem)?,
            }
        }
    };
    Ok(jsonwebtoken::encode(&Header::new(alg), &claims, &key)?)
}
