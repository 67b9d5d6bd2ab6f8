//! Service-account tokens end to end: `kubectl create token` (kubectl 1.33 and ours) gets
//! ES256 JWTs with upstream's claims, verified with openssl against the key the apiserver
//! publishes at /openid/v1/jwks (and still after a restart: the key is kept); the
//! ServiceAccount admission adds the kube-api-access volume; a pod on a real containerd node
//! reads a token bound to itself, with its namespace and kube-root-ca.crt beside it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};
use serde_json::{json, Value};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn part(token: &str, i: usize) -> Value {
    let p = token.trim().split('.').nth(i).unwrap_or_else(|| panic!("not a JWT: {token:?}"));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
}

fn claims(token: &str) -> Value {
    part(token, 1)
}

fn ours() -> String {
    binary("kubectl").display().to_string()
}

/// DER INTEGER of a big-endian unsigned number.
fn der_int(b: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
    if v.first().is_none_or(|x| *x >= 0x80) {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, v.len() as u8];
    out.extend(v);
    out
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl")
}

/// Verifies the token's ES256 signature with openssl against the JWKS key named by its kid,
/// and checks that kid is the SHA-256 of the key's DER SubjectPublicKeyInfo (upstream's).
fn verify_with_jwks(api: &Apiserver, token: &str) {
    let jwks: Value = serde_json::from_str(&api.get_raw("/openid/v1/jwks").expect("jwks")).expect("jwks JSON");
    let kid = part(token, 0)["kid"].as_str().expect("kid").to_string();
    assert_eq!(part(token, 0)["alg"], "ES256");
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap_or_else(|| panic!("kid {kid} not in {jwks}"));
    assert_eq!((key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str(), key["use"].as_str()), (Some("EC"), Some("P-256"), Some("ES256"), Some("sig")));
    let coord = |c: &str| URL_SAFE_NO_PAD.decode(key[c].as_str().unwrap()).unwrap();
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
        0x07, 0x03, 0x42, 0x00, 0x04,
    ];
    spki.extend(coord("x"));
    spki.extend(coord("y"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pub.der"), &spki).unwrap();
    let out = openssl(dir.path(), &["pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem"]);
    assert!(out.status.success(), "openssl pkey: {}", String::from_utf8_lossy(&out.stderr));
    // openssl re-encodes the key: its DER, hashed, must give the kid.
    let out = openssl(dir.path(), &["pkey", "-pubin", "-in", "pub.pem", "-outform", "DER", "-out", "canon.der"]);
    assert!(out.status.success(), "openssl pkey: {}", String::from_utf8_lossy(&out.stderr));
    let sha = openssl(dir.path(), &["dgst", "-sha256", "-binary", "canon.der"]).stdout;
    assert_eq!(URL_SAFE_NO_PAD.encode(sha), kid, "kid is base64url(SHA-256(DER public key))");
    let parts: Vec<&str> = token.trim().split('.').collect();
    std::fs::write(dir.path().join("input"), format!("{}.{}", parts[0], parts[1])).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(sig.len(), 64, "ES256 signatures are r||s");
    let (r, s) = (der_int(&sig[..32]), der_int(&sig[32..]));
    let mut der = vec![0x30, (r.len() + s.len()) as u8];
    der.extend(r);
    der.extend(s);
    std::fs::write(dir.path().join("sig.der"), der).unwrap();
    let out = openssl(dir.path(), &["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "input"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"), "openssl: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn check_times(c: &Value, lifetime: i64) {
    let (iat, nbf, exp) = (c["iat"].as_i64().unwrap(), c["nbf"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert_eq!(iat, nbf);
    assert_eq!(exp - iat, lifetime, "{c}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - iat).abs() < 120, "iat {iat} is now ({now})");
    assert_eq!(c["jti"].as_str().unwrap().len(), 36, "jti is a UUID");
}

fn uid(api: &Apiserver, args: &[&str]) -> String {
    api.get_json(args)["metadata"]["uid"].as_str().unwrap().to_string()
}

#[test]
fn create_token_claims_jwks_admission_and_restart() {
    let mut api = Apiserver::start();
    let _cm = api.start_controller_manager("kcm", &[]);
    wait_for(Duration::from_secs(30), "default ServiceAccount and kube-root-ca.crt", || {
        let sa = api.try_get_json(&["get", "serviceaccount", "default"])?;
        api.try_get_json(&["get", "configmap", "kube-root-ca.crt"]).map(|cm| (sa, cm))
    });
    let cm = api.get_json(&["get", "configmap", "kube-root-ca.crt"]);
    assert_eq!(cm["data"], json!({"ca.crt": ""}), "no CA to publish: the apiserver serves plain HTTP");
    assert!(cm["metadata"]["annotations"]["kubernetes.io/description"].as_str().unwrap().starts_with("Contains a CA bundle"));
    let sa_uid = uid(&api, &["get", "serviceaccount", "default"]);

    // kubectl 1.33: the token alone on stdout (no newline when not a terminal).
    let token = api.kubectl(&["create", "token", "default"]);
    assert!(!token.ends_with('\n'));
    let c = claims(&token);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], "system:serviceaccount:default:default");
    assert_eq!(c["aud"], json!([ISSUER]));
    assert_eq!(c["kubernetes.io"], json!({"namespace": "default", "serviceaccount": {"name": "default", "uid": sa_uid}}));
    check_times(&c, 3600);
    verify_with_jwks(&api, &token);

    // Ours, with an audience and a duration; and bound to a Secret.
    let token = api.kubectl_ok(&ours(), &["create", "token", "default", "--audience", "vault", "--audience", "db", "--duration", "20m"]);
    let c = claims(&token);
    assert_eq!(c["aud"], json!(["vault", "db"]));
    check_times(&c, 1200);
    verify_with_jwks(&api, &token);
    api.kubectl(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    let s1 = uid(&api, &["get", "secret", "s1"]);
    for k in [KUBECTL_133.to_string(), ours()] {
        let token = api.kubectl_ok(&k, &["create", "token", "default", "--bound-object-kind", "Secret", "--bound-object-name", "s1"]);
        assert_eq!(claims(&token)["kubernetes.io"]["secret"], json!({"name": "s1", "uid": s1}), "{k}");
        // Errors read the same with both.
        let err = api.kubectl_err(&k, &["create", "token", "default", "--duration", "5m"]);
        assert_eq!(
            err.trim(),
            "error: failed to create token: TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes",
            "{k}"
        );
        let err = api.kubectl_err(&k, &["create", "token", "default", "--bound-object-kind", "Secret", "--bound-object-name", "s1", "--bound-object-uid", "nope"]);
        assert!(err.contains("the UID in the bound object reference (nope) does not match the UID in record"), "{k}: {err}");
        let err = api.kubectl_err(&k, &["create", "token", "missing"]);
        assert_eq!(err.trim(), "error: failed to create token: serviceaccounts \"missing\" not found", "{k}");
    }
    let yaml = api.kubectl(&["create", "token", "default", "-o", "json"]);
    let tr: Value = serde_json::from_str(&yaml).unwrap();
    assert_eq!((tr["kind"].as_str(), tr["apiVersion"].as_str()), (Some("TokenRequest"), Some("authentication.k8s.io/v1")));
    assert_eq!(tr["spec"]["expirationSeconds"], 3600);
    assert!(tr["status"]["expirationTimestamp"].is_string());

    // Discovery lists the subresource; the OIDC document names the issuer and the JWKS.
    let resources = api.get_raw("/api/v1").unwrap();
    let v1: Value = serde_json::from_str(&resources).unwrap();
    let token_res = v1["resources"].as_array().unwrap().iter().find(|r| r["name"] == "serviceaccounts/token").expect("serviceaccounts/token");
    assert_eq!(token_res["verbs"], json!(["create"]));
    let oidc: Value = serde_json::from_str(&api.get_raw("/.well-known/openid-configuration").unwrap()).unwrap();
    assert_eq!(oidc["issuer"], ISSUER);
    assert_eq!(oidc["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert!(oidc["jwks_uri"].as_str().unwrap().ends_with("/openid/v1/jwks"));

    // ServiceAccount admission: the kube-api-access volume, unless automount is off.
    api.apply_yaml(
        r#"apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  containers: [{name: c, image: busybox:1.35}]
---
apiVersion: v1
kind: Pod
metadata: {name: p2}
spec:
  automountServiceAccountToken: false
  containers: [{name: c, image: busybox:1.35}]
"#,
    );
    let p1 = api.get_json(&["get", "pod", "p1"]);
    assert_eq!(p1["spec"]["serviceAccountName"], "default");
    let vol = &p1["spec"]["volumes"][0];
    let vname = vol["name"].as_str().unwrap();
    assert!(vname.starts_with("kube-api-access-") && vname.len() == "kube-api-access-".len() + 5, "{vname}");
    assert_eq!(vol["projected"]["sources"][0]["serviceAccountToken"], json!({"expirationSeconds": 3607, "path": "token"}));
    assert_eq!(vol["projected"]["sources"][1]["configMap"]["name"], "kube-root-ca.crt");
    assert_eq!(vol["projected"]["sources"][2]["downwardAPI"]["items"][0]["path"], "namespace");
    assert_eq!(p1["spec"]["containers"][0]["volumeMounts"], json!([{"name": vname, "readOnly": true, "mountPath": MOUNT}]));
    let p2 = api.get_json(&["get", "pod", "p2"]);
    assert!(p2["spec"].get("volumes").is_none(), "{}", p2["spec"]);

    // A token bound to the pod names it; a wrong UID is a conflict.
    let p1_uid = p1["metadata"]["uid"].as_str().unwrap().to_string();
    let token = api.kubectl(&["create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "p1", "--bound-object-uid", &p1_uid]);
    assert_eq!(claims(&token)["kubernetes.io"]["pod"], json!({"name": "p1", "uid": p1_uid}));

    // The key survives a restart: old tokens still verify against the new JWKS.
    let kid = part(&token, 0)["kid"].clone();
    api.restart();
    let jwks: Value = serde_json::from_str(&api.get_raw("/openid/v1/jwks").unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid);
    verify_with_jwks(&api, &token);
}

#[test]
fn pod_on_a_node_reads_a_token_bound_to_itself() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let _cm = api.start_controller_manager("kcm", &[]);
    let node = KubeletNode::start(&api, "node-sa");
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", "node-sa"]));
    wait_for(Duration::from_secs(30), "default ServiceAccount and kube-root-ca.crt", || {
        let sa = api.try_get_json(&["get", "serviceaccount", "default"])?;
        api.try_get_json(&["get", "configmap", "kube-root-ca.crt"]).map(|cm| (sa, cm))
    });
    api.apply_yaml(
        r#"apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  nodeName: node-sa
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35
    command: [sleep, "3600"]
    volumeMounts: [{name: vault, mountPath: /var/run/secrets/tokens}]
  volumes:
  - name: vault
    projected:
      sources:
      - serviceAccountToken: {path: vault-token, audience: vault, expirationSeconds: 600}
"#,
    );
    let pod = api.wait_pod("reader", Duration::from_secs(120), "Running", |p| p["status"]["phase"] == "Running");
    let pod_uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
    let node_uid = uid(&api, &["get", "node", "node-sa"]);
    let token = api.kubectl(&["exec", "reader", "--", "cat", &format!("{MOUNT}/token")]);
    assert!(!token.is_empty(), "the pod sees a token");
    let c = claims(&token);
    assert_eq!(c["sub"], "system:serviceaccount:default:default");
    assert_eq!(c["aud"], json!([ISSUER]));
    assert_eq!(c["kubernetes.io"]["pod"], json!({"name": "reader", "uid": pod_uid}));
    assert_eq!(c["kubernetes.io"]["node"], json!({"name": "node-sa", "uid": node_uid}));
    // The admission's 3607 s is stretched to a year with a warnafter at the asked expiry.
    let iat = c["iat"].as_i64().unwrap();
    assert_eq!(c["exp"].as_i64().unwrap() - iat, 365 * 24 * 3600);
    assert_eq!(c["kubernetes.io"]["warnafter"].as_i64().unwrap() - iat, 3607);
    verify_with_jwks(&api, &token);
    assert_eq!(api.kubectl(&["exec", "reader", "--", "cat", &format!("{MOUNT}/namespace")]), "default");
    assert_eq!(api.kubectl(&["exec", "reader", "--", "cat", &format!("{MOUNT}/ca.crt")]), "");
    let vault = api.kubectl(&["exec", "reader", "--", "cat", "/var/run/secrets/tokens/vault-token"]);
    let c = claims(&vault);
    assert_eq!(c["aud"], json!(["vault"]));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    assert!(c["kubernetes.io"].get("warnafter").is_none());
    verify_with_jwks(&api, &vault);
    api.kubectl(&["delete", "pod", "reader", "--wait=true", "--timeout=60s"]);
    drop(node);
}
