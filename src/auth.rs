//! Bearer JWT verification -> a [`Principal`], and signing for the `token` command.
//!
//! One algorithm family per deployment: HS256 with a shared secret, or RS256/ES256 with a public
//! key or a JWKS file. Only the configured algorithm is accepted (so `alg: none` and
//! algorithm confusion are rejected); `exp` and `sub` are required and `exp` is checked against
//! the server's [`Clock`]; `iss`/`aud` are checked when configured.

use crate::clock::Clock;
use crate::config::{JwtAlgorithm, JwtSettings, TokenArgs};
use anyhow::{bail, Context};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use uuid::Uuid;

/// Scopes a `token` gets unless told otherwise: everything a regular user may do.
pub const DEFAULT_SCOPES: &str = "calendar:write booking:write";
pub const ADMIN_ROLE: &str = "admin";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub scopes: BTreeSet<String>,
    pub admin: bool,
    pub email: Option<String>,
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
    pub aud: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the bearer token is malformed or its signature is invalid")]
    Invalid,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token's subject is not a user id")]
    BadSubject,
}

enum Keys {
    Single(DecodingKey),
    Jwks(JwkSet),
}

pub struct Verifier {
    keys: Keys,
    validation: Validation,
    clock: Clock,
}

fn algorithm(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// The HS256 secret: configured, or generated once and kept (mode 0600) in the data directory.
pub fn hs256_secret(settings: &JwtSettings, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.secret {
        if secret.len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters");
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing.into_bytes());
        }
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    use base64::Engine;
    let bytes: [u8; 48] = rand::random();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a new JWT signing secret");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(contents.as_bytes())?;
    Ok(())
}

impl Verifier {
    pub fn from_settings(settings: &JwtSettings, data_dir: &Path, clock: Clock) -> anyhow::Result<Self> {
        let alg = algorithm(settings.algorithm);
        let keys = match settings.algorithm {
            JwtAlgorithm::Hs256 => Keys::Single(DecodingKey::from_secret(&hs256_secret(settings, data_dir)?)),
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                if let Some(path) = &settings.jwks_file {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    Keys::Jwks(serde_json::from_str(&text).context("parsing the JWKS file")?)
                } else if let Some(path) = &settings.public_key_file {
                    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    Keys::Single(match settings.algorithm {
                        JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(&pem)?,
                        _ => DecodingKey::from_ec_pem(&pem)?,
                    })
                } else {
                    bail!("JWT_ALGORITHM {:?} needs JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE", settings.algorithm);
                }
            }
        };
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_required_spec_claims(&["exp", "sub"]);
        // `exp` is checked against the server's clock below.
        validation.validate_exp = false;
        validation.leeway = 0;
        match &settings.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &settings.issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self { keys, validation, clock })
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
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= self.clock.now().timestamp() {
            return Err(AuthError::Expired);
        }
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::BadSubject)?;
        Ok(Principal {
            user_id,
            scopes: claims.scope.unwrap_or_default().split_whitespace().map(str::to_string).collect(),
            admin: claims.roles.iter().any(|r| r == ADMIN_ROLE),
            email: claims.email,
        })
    }
}

/// Signs a token the way `Verifier` checks it (the `token` command, and tests).
pub fn sign(settings: &JwtSettings, data_dir: &Path, clock: Clock, args: &TokenArgs) -> anyhow::Result<String> {
    let ttl = crate::config::parse_ttl(&args.ttl).map_err(anyhow::Error::msg)?;
    let now = clock.now().timestamp();
    let claims = Claims {
        sub: args.sub.unwrap_or_else(Uuid::new_v4).to_string(),
        exp: now + ttl,
        iat: Some(now),
        scope: Some(args.scope.clone()).filter(|s| !s.trim().is_empty()),
        roles: if args.admin { vec![ADMIN_ROLE.to_string()] } else { vec![] },
        email: args.email.clone(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    };
    let alg = algorithm(settings.algorithm);
    let key = match settings.algorithm {
        JwtAlgorithm::Hs256 => EncodingKey::from_secret(&hs256_secret(settings, data_dir)?),
        _ => {
            let path = settings
                .private_key_file
                .as_ref()
                .context("signing RS256/ES256 tokens needs JWT_PRIVATE_KEY_FILE")?;
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            match settings.algorithm {
                JwtAlgorithm::Rs256 => EncodingKey::from_rsa_pem(&pem)?,
                _ => EncodingKey::from_ec_pem(&pem)?,
            }
        }
    };
    Ok(jsonwebtoken::encode(&Header::new(alg), &claims, &key)?)
}
