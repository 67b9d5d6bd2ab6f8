//! The service-account signing key: ECDSA P-256 (ES256), kept as PKCS#8 PEM so a restarted
//! apiserver keeps issuing (and accepting) the same tokens, and the public keys that verify
//! tokens (`--service-account-key-file`). Key IDs are upstream's: base64url (no padding) of
//! the SHA-256 of the DER SubjectPublicKeyInfo.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// Key loading errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds no key we can use.
    #[error("{path}: {why}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

/// DER prefix of a SubjectPublicKeyInfo for an uncompressed P-256 point
/// (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A public key that verifies tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The uncompressed point (0x04 || X || Y), 65 bytes.
    pub point: Vec<u8>,
    /// Upstream's key ID.
    pub kid: String,
}

impl PublicKey {
    /// A key from an uncompressed P-256 point.
    pub fn from_point(point: &[u8]) -> Option<Self> {
        (point.len() == 65 && point[0] == 4).then(|| PublicKey { point: point.to_vec(), kid: key_id(point) })
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        der
    }

    /// The key as a JWK (RFC 7517), as upstream's JWKS lists it.
    pub fn jwk(&self) -> Value {
        json!({
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&self.point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&self.point[33..65]),
        })
    }
}

/// Upstream's key ID of a P-256 public key.
pub fn key_id(point: &[u8]) -> String {
    let mut der = P256_SPKI_PREFIX.to_vec();
    der.extend_from_slice(point);
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &der))
}

/// The private key that signs tokens.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.public.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key and its PKCS#8 DER.
    pub fn generate() -> (Self, Vec<u8>) {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("ECDSA P-256 key generation");
        let der = doc.as_ref().to_vec();
        (Self::from_pkcs8(&der).expect("a freshly generated key parses"), der)
    }

    /// A key from PKCS#8 DER (an ECDSA P-256 key).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| format!("not an ECDSA P-256 PKCS#8 private key: {e}"))?;
        let public = PublicKey::from_point(pair.public_key().as_ref()).ok_or("unexpected public key encoding")?;
        Ok(SigningKey { pair, public, rng })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// An ES256 signature (r || s, 64 bytes) of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(&self.rng, msg).expect("ECDSA signing").as_ref().to_vec()
    }
}

/// One PEM block: its label and DER bytes.
pub fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut label: Option<String> = None;
    let mut body = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(l) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            label = Some(l.to_string());
            body.clear();
        } else if line.starts_with("-----END ") {
            if let Some(l) = label.take() {
                if let Ok(der) = STANDARD.decode(body.as_bytes()) {
                    out.push((l, der));
                }
            }
        } else if label.is_some() && !line.contains(':') {
            body.push_str(line);
        }
    }
    out
}

/// PEM text of one DER block.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.display().to_string(), source })
}

/// Reads the signing key (PEM "PRIVATE KEY", PKCS#8) from `path`.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let text = read(path)?;
    let parse = |why: String| KeyError::Parse { path: path.display().to_string(), why };
    let blocks = pem_blocks(&text);
    if let Some((_, der)) = blocks.iter().find(|(l, _)| l == "PRIVATE KEY") {
        return SigningKey::from_pkcs8(der).map_err(parse);
    }
    if blocks.iter().any(|(l, _)| l == "EC PRIVATE KEY" || l == "RSA PRIVATE KEY") {
        return Err(parse("only PKCS#8 (\"PRIVATE KEY\") ECDSA P-256 keys are supported; convert with `openssl pkcs8 -topk8 -nocrypt`".into()));
    }
    Err(parse("no PEM \"PRIVATE KEY\" block".into()))
}

/// Loads the key at `path`, or generates one and stores it there (mode 0600) if the file does
/// not exist. Two servers racing on the same path end up with the same key.
pub fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
    if path.exists() {
        return load_signing_key(path);
    }
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let (_, der) = SigningKey::generate();
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        f.write_all(pem_encode("PRIVATE KEY", &der).as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    // hard_link fails if another process stored its key first: then use that one.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => tracing::info!(path = %path.display(), "generated the service-account signing key"),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    load_signing_key(path)
}

/// Reads verification keys from a PEM file: "PUBLIC KEY" (P-256 SubjectPublicKeyInfo) and
/// "PRIVATE KEY" (PKCS#8, its public half), as upstream's --service-account-key-file.
pub fn load_public_keys(path: &Path) -> Result<Vec<PublicKey>, KeyError> {
    let text = read(path)?;
    let parse = |why: String| KeyError::Parse { path: path.display().to_string(), why };
    let mut out = vec![];
    for (label, der) in pem_blocks(&text) {
        match label.as_str() {
            "PUBLIC KEY" => match der.strip_prefix(&P256_SPKI_PREFIX[..]).and_then(PublicKey::from_point) {
                Some(k) => out.push(k),
                None => return Err(parse("only ECDSA P-256 public keys are supported".into())),
            },
            "PRIVATE KEY" => out.push(SigningKey::from_pkcs8(&der).map_err(parse)?.public().clone()),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(parse("data does not contain any valid ECDSA P-256 public keys".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.key");
        let first = load_or_generate(&path).unwrap();
        let again = load_or_generate(&path).unwrap();
        assert_eq!(first.public(), again.public(), "a restart keeps the key");
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // The private key file is also a verification key file.
        assert_eq!(load_public_keys(&path).unwrap(), vec![first.public().clone()]);
    }

    #[test]
    fn public_key_pem_and_kid() {
        let (key, _) = SigningKey::generate();
        let pem = pem_encode("PUBLIC KEY", &key.public().spki_der());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.pub");
        std::fs::write(&path, pem).unwrap();
        let keys = load_public_keys(&path).unwrap();
        assert_eq!(keys[0].kid, key.public().kid);
        // SHA-256 is 32 bytes: 43 base64url characters without padding.
        assert_eq!(key.public().kid.len(), 43);
        let jwk = key.public().jwk();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn rejects_other_key_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rsa.key");
        std::fs::write(&path, pem_encode("RSA PRIVATE KEY", b"junk")).unwrap();
        assert!(load_signing_key(&path).unwrap_err().to_string().contains("PKCS#8"));
        assert!(load_public_keys(&path).is_err());
    }
}
