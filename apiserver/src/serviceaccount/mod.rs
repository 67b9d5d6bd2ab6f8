//! Service-account tokens, as upstream: the `serviceaccounts/token` subresource (TokenRequest)
//! signs ES256 JWTs with the apiserver's key (`keys`), whose claims and verification are pure
//! (`jwt`); the public keys are published for OIDC relying parties at
//! `/.well-known/openid-configuration` and `/openid/v1/jwks`.

pub mod jwt;
pub mod keys;
pub mod token;

use std::path::PathBuf;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::config::Config;
use crate::http::Shared;

/// Name of the generated key in the data dir when no `--service-account-signing-key-file`.
pub const GENERATED_KEY_FILE: &str = "service-account-signing.key";

/// The apiserver's token issuer: the signing key, the keys that verify, and who it is.
#[derive(Debug)]
pub struct Issuer {
    /// Signs new tokens.
    pub signing: keys::SigningKey,
    /// Verify tokens (the signing key's public half first, then `--service-account-key-file`).
    pub keys: Vec<keys::PublicKey>,
    /// `--service-account-issuer`: the first is written into new tokens, all are accepted.
    pub issuers: Vec<String>,
    /// `--api-audiences`: the default audience of new tokens, and what the API accepts.
    pub api_audiences: Vec<String>,
    /// Where the discovery document says the JWKS lives.
    pub jwks_uri: String,
    /// `--service-account-extend-token-expiration`.
    pub extend_expiration: bool,
}

impl Issuer {
    /// Loads (or, without `--service-account-signing-key-file`, generates in the data dir) the
    /// signing key and reads the verification keys.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let signing = match &config.service_account_signing_key_file {
            Some(path) => keys::load_signing_key(path)?,
            None => {
                let path: PathBuf = config.data_dir.join(GENERATED_KEY_FILE);
                match keys::load_or_generate(&path) {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot store a service-account signing key; using a key that lasts until restart (set --service-account-signing-key-file)");
                        keys::SigningKey::generate().0
                    }
                }
            }
        };
        let mut verify = vec![signing.public().clone()];
        for path in &config.service_account_key_file {
            for k in keys::load_public_keys(path)? {
                if !verify.contains(&k) {
                    verify.push(k);
                }
            }
        }
        let issuers: Vec<String> = config.service_account_issuer.iter().filter(|s| !s.is_empty()).cloned().collect();
        anyhow::ensure!(!issuers.is_empty(), "--service-account-issuer must be set");
        let api_audiences =
            if config.api_audiences.iter().all(String::is_empty) { vec![issuers[0].clone()] } else { config.api_audiences.clone() };
        let jwks_uri = config
            .service_account_jwks_uri
            .clone()
            .unwrap_or_else(|| format!("http://{}/openid/v1/jwks", config.insecure_bind_address));
        Ok(Issuer {
            signing,
            keys: verify,
            issuers,
            api_audiences,
            jwks_uri,
            extend_expiration: config.service_account_extend_token_expiration,
        })
    }

    /// Signs a token for `spec` issued at `now` (Unix seconds).
    pub fn issue(&self, spec: &jwt::TokenSpec, now: i64, warn_after: Option<i64>) -> String {
        let mut claims = jwt::claims(spec, now);
        if let Some(w) = warn_after {
            claims["kubernetes.io"]["warnafter"] = json!(w);
        }
        jwt::sign(&self.signing, &claims)
    }

    /// Verifies a token meant for this API (issuer and API audiences) and returns its claims.
    /// The authentication chain calls this for bearer tokens that look like ours.
    pub fn verify(&self, token: &str) -> Result<Value, jwt::VerifyError> {
        let expect = jwt::Expectations { issuers: self.issuers.clone(), audiences: self.api_audiences.clone() };
        jwt::verify(token, &self.keys, &expect, chrono::Utc::now().timestamp())
    }

    /// The OIDC discovery document.
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuers[0],
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    /// The verification keys as a JWK set.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(keys::PublicKey::jwk).collect::<Vec<_>>() })
    }
}

fn cacheable(content_type: &'static str, body: &Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", content_type), ("cache-control", "public, max-age=3600")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// GET /.well-known/openid-configuration
pub async fn serve_openid_configuration(State(state): State<Shared>) -> Response {
    cacheable("application/json", &state.service_accounts.openid_configuration())
}

/// GET /openid/v1/jwks
pub async fn serve_jwks(State(state): State<Shared>) -> Response {
    cacheable("application/jwk-set+json", &state.service_accounts.jwks())
}
