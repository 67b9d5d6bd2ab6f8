//! Kubeconfig loading, merging and overrides.

use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const A: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://one:6443\ncontexts:\n- name: ctx1\n  context:\n    cluster: c1\n    user: u1\n    namespace: team-a\ncurrent-context: ctx1\nusers:\n- name: u1\n  user:\n    token: t1\n";
const B: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://ignored:1\n- name: c2\n  cluster:\n    server: http://two:8080\ncontexts:\n- name: ctx2\n  context:\n    cluster: c2\n    user: u1\ncurrent-context: ctx2\n";

#[test]
fn explicit_file_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a", A);
    let raw = load_raw(Some(&a)).unwrap();
    let eff = raw.effective(&Overrides::default()).unwrap();
    assert_eq!(eff.server(), "https://one:6443");
    assert_eq!((eff.namespace.as_str(), eff.namespace_explicit), ("team-a", false));
    let err = load_raw(Some(&dir.path().join("nope"))).unwrap_err();
    assert!(err.to_string().contains("no such file or directory"), "{err}");
}

#[test]
fn merging_keeps_the_first_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = RawConfig::default();
    for f in [write(dir.path(), "a", A), write(dir.path(), "b", B)] {
        let kc = kube::config::Kubeconfig::read_from(&f).unwrap();
        raw.kubeconfig = raw.kubeconfig.merge(kc).unwrap();
    }
    let eff = raw.effective(&Overrides::default()).unwrap();
    assert_eq!(eff.context_name, "ctx1");
    assert_eq!(eff.server(), "https://one:6443");
    let eff = raw.effective(&Overrides { context: Some("ctx2".into()), ..Default::default() }).unwrap();
    assert_eq!(eff.server(), "http://two:8080");
    assert_eq!(eff.namespace, "default");
    let err = raw.effective(&Overrides { context: Some("nope".into()), ..Default::default() }).unwrap_err();
    assert_eq!(err.to_string(), "context was not found for specified context: nope");
}

#[test]
fn overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    let raw = load_raw(Some(&write(dir.path(), "a", A))).unwrap();
    let o = Overrides {
        server: Some("https://other:443".into()),
        namespace: Some("ns1".into()),
        insecure_skip_tls_verify: Some(true),
        token: Some("t2".into()),
        ..Default::default()
    };
    let eff = raw.effective(&o).unwrap();
    assert_eq!(eff.server(), "https://other:443");
    assert_eq!((eff.namespace.as_str(), eff.namespace_explicit), ("ns1", true));
    assert_eq!(eff.cluster.cluster.as_ref().unwrap().insecure_skip_tls_verify, Some(true));
    use secrecy::ExposeSecret;
    assert_eq!(eff.user.auth_info.as_ref().unwrap().token.as_ref().unwrap().expose_secret(), "t2");
    let bad = Overrides { insecure_skip_tls_verify: Some(true), certificate_authority: Some("/ca".into()), ..Default::default() };
    assert!(raw.effective(&bad).is_err());
}

#[test]
fn no_configuration_falls_back_to_localhost() {
    let eff = RawConfig::default().effective(&Overrides::default()).unwrap();
    assert_eq!(eff.server(), DEFAULT_SERVER);
    assert_eq!(normalize_server("example:6443"), "https://example:6443");
}
