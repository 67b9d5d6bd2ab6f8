//! Service-account JWTs (pure, no IO): upstream's claims, ES256 signing, and the verifier the
//! authentication chain will use (signature, issuer, exp/nbf/iat with upstream's one-minute
//! leeway, audience).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::{json, Map, Value};

use super::keys::{PublicKey, SigningKey};

/// Clock skew tolerated on exp, nbf and iat (go-jose's DefaultLeeway).
pub const LEEWAY_SECONDS: i64 = 60;

/// A name and UID, as in the `kubernetes.io` claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRef {
    /// Object name.
    pub name: String,
    /// Object UID (may be empty for a node that no longer exists).
    pub uid: String,
}

/// What a token is bound to besides its service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A pod, and the node it runs on when known.
    Pod(ObjectRef, Option<ObjectRef>),
    /// A secret.
    Secret(ObjectRef),
    /// A node.
    Node(ObjectRef),
}

/// Everything a token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSpec {
    /// The `iss` claim.
    pub issuer: String,
    /// Namespace of the service account.
    pub namespace: String,
    /// The service account.
    pub service_account: ObjectRef,
    /// The `aud` claim.
    pub audiences: Vec<String>,
    /// Lifetime in seconds.
    pub expiration_seconds: i64,
    /// The bound object, if any.
    pub binding: Option<Binding>,
    /// The `jti` claim.
    pub id: String,
}

/// `system:serviceaccount:<ns>:<name>`, the token's subject and user name.
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

fn reference(r: &ObjectRef) -> Value {
    let mut m = Map::new();
    if !r.name.is_empty() {
        m.insert("name".into(), json!(r.name));
    }
    if !r.uid.is_empty() {
        m.insert("uid".into(), json!(r.uid));
    }
    Value::Object(m)
}

/// The claims of a token issued at `now` (Unix seconds), as upstream's `serviceaccount.Claims`.
pub fn claims(spec: &TokenSpec, now: i64) -> Value {
    let mut k8s = Map::new();
    k8s.insert("namespace".into(), json!(spec.namespace));
    k8s.insert("serviceaccount".into(), reference(&spec.service_account));
    match &spec.binding {
        Some(Binding::Pod(pod, node)) => {
            k8s.insert("pod".into(), reference(pod));
            if let Some(n) = node {
                k8s.insert("node".into(), reference(n));
            }
        }
        Some(Binding::Secret(s)) => {
            k8s.insert("secret".into(), reference(s));
        }
        Some(Binding::Node(n)) => {
            k8s.insert("node".into(), reference(n));
        }
        None => {}
    }
    json!({
        "iss": spec.issuer,
        "sub": username(&spec.namespace, &spec.service_account.name),
        "aud": spec.audiences,
        "exp": now + spec.expiration_seconds,
        "iat": now,
        "nbf": now,
        "jti": spec.id,
        "kubernetes.io": Value::Object(k8s),
    })
}

/// A compact JWS (header.payload.signature) of `claims`, signed ES256 with `key`.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    let header = json!({ "alg": "ES256", "kid": key.public().kid });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default())
    );
    let sig = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a compact JWS with JSON header and claims.
    #[error("token is malformed: {0}")]
    Malformed(String),
    /// Not ES256, or no key verifies the signature.
    #[error("invalid signature")]
    BadSignature,
    /// Another issuer (the token may be for someone else).
    #[error("token issuer {0:?} is not accepted")]
    WrongIssuer(String),
    /// `exp` has passed.
    #[error("service account token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("service account token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("service account token is issued in the future")]
    IssuedInFuture,
    /// None of the token's audiences is accepted.
    #[error("token audiences {0:?} is invalid for the target audiences")]
    WrongAudience(Vec<String>),
}

/// What the verifier accepts.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
    /// Accepted audiences: the token must name at least one (empty: any).
    pub audiences: Vec<String>,
}

fn decode_json(part: &str, what: &str) -> Result<Value, VerifyError> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|e| VerifyError::Malformed(format!("{what}: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| VerifyError::Malformed(format!("{what}: {e}")))
}

/// The claims of a token, without checking anything (to route it to the right verifier).
pub fn unverified_claims(token: &str) -> Result<Value, VerifyError> {
    let mut parts = token.split('.');
    let (_, Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(VerifyError::Malformed("expected three dot-separated parts".into()));
    };
    decode_json(payload, "claims")
}

/// Verifies an ES256 token against `keys` at time `now` and returns its claims.
pub fn verify(token: &str, keys: &[PublicKey], expect: &Expectations, now: i64) -> Result<Value, VerifyError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, sig] = parts.as_slice() else {
        return Err(VerifyError::Malformed("expected three dot-separated parts".into()));
    };
    let header_json = decode_json(header, "header")?;
    if header_json.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(VerifyError::BadSignature);
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| VerifyError::BadSignature)?;
    let signing_input = &token.trim()[..header.len() + 1 + payload.len()];
    let kid = header_json.get("kid").and_then(Value::as_str);
    let verified = keys.iter().filter(|k| kid.is_none_or(|kid| kid == k.kid)).any(|k| {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &k.point).verify(signing_input.as_bytes(), &sig).is_ok()
    });
    if !verified {
        return Err(VerifyError::BadSignature);
    }
    let claims = decode_json(payload, "claims")?;
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if !expect.issuers.is_empty() && !expect.issuers.iter().any(|i| i == iss) {
        return Err(VerifyError::WrongIssuer(iss.to_string()));
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    if time("exp").is_some_and(|exp| now > exp + LEEWAY_SECONDS) {
        return Err(VerifyError::Expired);
    }
    if time("nbf").is_some_and(|nbf| now + LEEWAY_SECONDS < nbf) {
        return Err(VerifyError::NotYetValid);
    }
    if time("iat").is_some_and(|iat| now + LEEWAY_SECONDS < iat) {
        return Err(VerifyError::IssuedInFuture);
    }
    let auds: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => vec![],
    };
    if !expect.audiences.is_empty() && !auds.iter().any(|a| expect.audiences.contains(a)) {
        return Err(VerifyError::WrongAudience(auds));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://kubernetes.default.svc.cluster.local";

    fn spec(binding: Option<Binding>) -> TokenSpec {
        TokenSpec {
            issuer: ISS.into(),
            namespace: "ns1".into(),
            service_account: ObjectRef { name: "builder".into(), uid: "sa-uid".into() },
            audiences: vec![ISS.into()],
            expiration_seconds: 3600,
            binding,
            id: "jti-1".into(),
        }
    }

    fn expect() -> Expectations {
        Expectations { issuers: vec![ISS.into()], audiences: vec![ISS.into()] }
    }

    #[test]
    fn claims_match_upstream() {
        let pod = ObjectRef { name: "web".into(), uid: "pod-uid".into() };
        let node = ObjectRef { name: "n1".into(), uid: "node-uid".into() };
        let c = claims(&spec(Some(Binding::Pod(pod, Some(node)))), 1000);
        assert_eq!(
            c,
            json!({
                "iss": ISS, "sub": "system:serviceaccount:ns1:builder", "aud": [ISS],
                "exp": 4600, "iat": 1000, "nbf": 1000, "jti": "jti-1",
                "kubernetes.io": {
                    "namespace": "ns1",
                    "serviceaccount": {"name": "builder", "uid": "sa-uid"},
                    "pod": {"name": "web", "uid": "pod-uid"},
                    "node": {"name": "n1", "uid": "node-uid"},
                },
            })
        );
        let c = claims(&spec(Some(Binding::Secret(ObjectRef { name: "s".into(), uid: "u".into() }))), 0);
        assert_eq!(c["kubernetes.io"]["secret"], json!({"name": "s", "uid": "u"}));
        assert!(c["kubernetes.io"].get("pod").is_none());
        // A node that does not exist any more: the name only.
        let c = claims(&spec(Some(Binding::Pod(ObjectRef::default(), Some(ObjectRef { name: "gone".into(), uid: String::new() })))), 0);
        assert_eq!(c["kubernetes.io"]["node"], json!({"name": "gone"}));
    }

    #[test]
    fn signs_and_verifies() {
        let (key, _) = SigningKey::generate();
        let c = claims(&spec(None), 1000);
        let token = sign(&key, &c);
        let header = decode_json(token.split('.').next().unwrap(), "header").unwrap();
        assert_eq!(header, json!({"alg": "ES256", "kid": key.public().kid}));
        assert_eq!(verify(&token, &[key.public().clone()], &expect(), 1001), Ok(c.clone()));
        assert_eq!(unverified_claims(&token), Ok(c));
    }

    #[test]
    fn refuses_bad_tokens() {
        let (key, _) = SigningKey::generate();
        let (other, _) = SigningKey::generate();
        let keys = [key.public().clone()];
        let token = sign(&key, &claims(&spec(None), 1000));
        assert_eq!(verify(&sign(&other, &claims(&spec(None), 1000)), &keys, &expect(), 1000), Err(VerifyError::BadSignature));
        // Tampered claims.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"iss":"x","sub":"system:serviceaccount:kube-system:admin"}"#);
        assert_eq!(verify(&format!("{}.{forged}.{}", parts[0], parts[2]), &keys, &expect(), 1000), Err(VerifyError::BadSignature));
        // alg none.
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(verify(&none, &keys, &expect(), 1000), Err(VerifyError::BadSignature));
        assert!(matches!(verify("abc", &keys, &expect(), 1000), Err(VerifyError::Malformed(_))));
        // Time: exp 4600 with one minute of leeway; nbf/iat 1000.
        assert!(verify(&token, &keys, &expect(), 4660).is_ok());
        assert_eq!(verify(&token, &keys, &expect(), 4661), Err(VerifyError::Expired));
        assert_eq!(verify(&token, &keys, &expect(), 939), Err(VerifyError::NotYetValid));
        // Audience and issuer.
        let vault = Expectations { issuers: vec![ISS.into()], audiences: vec!["vault".into()] };
        assert_eq!(verify(&token, &keys, &vault, 1000), Err(VerifyError::WrongAudience(vec![ISS.into()])));
        let other_iss = Expectations { issuers: vec!["https://elsewhere".into()], audiences: vec![] };
        assert_eq!(verify(&token, &keys, &other_iss, 1000), Err(VerifyError::WrongIssuer(ISS.into())));
        // Several keys: the kid picks one; a rotated-out key still verifies if listed.
        assert!(verify(&token, &[other.public().clone(), key.public().clone()], &expect(), 1000).is_ok());
    }
}
