//! rkube's kubectl over TLS: the apiserver behind haproxy terminating TLS with certificates
//! made here with the openssl CLI. Kubeconfigs with a CA file, inline CA data,
//! insecure-skip-tls-verify, client certificates (files and inline data) and bearer tokens;
//! command-line overrides; and several kubeconfig files merged through KUBECONFIG.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};

const TOKEN: &str = "s3cret-token";

fn sh(dir: &Path, script: &str) {
    let out = Command::new("bash").arg("-ec").arg(script).current_dir(dir).output().expect("run bash");
    assert!(out.status.success(), "{script}\n{}", String::from_utf8_lossy(&out.stderr));
}

fn make_certs(dir: &Path) {
    sh(
        dir,
        r#"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=rkube-test-ca -days 2 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > server.ext
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
cat server.crt server.key > server.pem
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > client.ext
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=admin/O=system:masters 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext 2>/dev/null
"#,
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// haproxy with three TLS frontends: plain TLS, client certificates required, bearer token
/// required.
struct Proxy {
    child: Child,
    tls: u16,
    mtls: u16,
    token: u16,
}

impl Proxy {
    fn start(dir: &Path, backend: &str) -> Proxy {
        let (tls, mtls, token) = (free_port(), free_port(), free_port());
        let d = dir.display();
        let cfg = format!(
            "defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\
             frontend tls\n  bind 127.0.0.1:{tls} ssl crt {d}/server.pem\n  default_backend api\n\
             frontend mtls\n  bind 127.0.0.1:{mtls} ssl crt {d}/server.pem ca-file {d}/ca.crt verify required\n  default_backend api\n\
             frontend token\n  bind 127.0.0.1:{token} ssl crt {d}/server.pem\n  http-request deny deny_status 401 unless {{ req.hdr(authorization) -m str \"Bearer {TOKEN}\" }}\n  default_backend api\n\
             backend api\n  server apiserver {backend}\n"
        );
        std::fs::write(dir.join("haproxy.cfg"), cfg).expect("write haproxy.cfg");
        let child = Command::new("/usr/sbin/haproxy")
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let p = Proxy { child, tls, mtls, token };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", p.token)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn kubeconfig(dir: &Path, name: &str, server: &str, cluster: &str, user: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n{cluster}contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n{user}",
    );
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write kubeconfig");
    p
}

/// Runs a kubectl with a kubeconfig (and extra args); returns (success, stdout, stderr).
fn kubectl(bin: &str, config: &Path, env_kubeconfig: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(bin);
    if env_kubeconfig.is_none() {
        cmd.arg("--kubeconfig").arg(config);
    }
    let cache = tempfile::tempdir().expect("cache dir");
    cmd.arg("--cache-dir").arg(cache.path()).arg("--request-timeout=10s").args(args);
    cmd.env_remove("KUBECONFIG");
    if let Some(v) = env_kubeconfig {
        cmd.env("KUBECONFIG", v);
    }
    let out = cmd.output().expect("run kubectl");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn expect_ok(config: &Path, args: &[&str]) {
    for bin in [binary("kubectl").display().to_string(), KUBECTL_133.to_string()] {
        let (ok, out, err) = kubectl(&bin, config, None, args);
        assert!(ok && out.trim() == "namespace/default", "{bin} {args:?} with {}:\n{out}{err}", config.display());
    }
}

fn expect_fail(config: &Path, args: &[&str], stderr_part: &str) {
    let (ok, out, err) = kubectl(&binary("kubectl").display().to_string(), config, None, args);
    assert!(!ok, "unexpected success with {}: {out}", config.display());
    assert!(err.contains(stderr_part), "stderr of {} lacks {stderr_part:?}: {err}", config.display());
}

const GET: [&str; 4] = ["get", "namespace", "default", "-o=name"];

#[test]
fn tls_kubeconfigs_ca_insecure_client_certs_and_tokens() {
    let s = Apiserver::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    make_certs(d);
    let proxy = Proxy::start(d, &s.addr);
    let ca = d.join("ca.crt").display().to_string();
    let ca_data = b64(&std::fs::read(d.join("ca.crt")).expect("ca"));
    let tls = format!("https://127.0.0.1:{}", proxy.tls);
    let mtls = format!("https://127.0.0.1:{}", proxy.mtls);
    let token = format!("https://127.0.0.1:{}", proxy.token);

    // A token the plain TLS frontend ignores: without credentials the real kubectl prompts.
    let unused = "    token: unused\n";
    let ca_file = kubeconfig(d, "ca-file", &tls, &format!("    certificate-authority: {ca}\n"), unused);
    expect_ok(&ca_file, &GET);
    let ca_inline = kubeconfig(d, "ca-data", &tls, &format!("    certificate-authority-data: {ca_data}\n"), unused);
    expect_ok(&ca_inline, &GET);
    let insecure = kubeconfig(d, "insecure", &tls, "    insecure-skip-tls-verify: true\n", unused);
    expect_ok(&insecure, &GET);
    let no_ca = kubeconfig(d, "no-ca", &tls, "", unused);
    expect_fail(&no_ca, &GET, "Unable to connect to the server");
    let (ok, out, err) = kubectl(&binary("kubectl").display().to_string(), &no_ca, None, &["--insecure-skip-tls-verify", "get", "namespace", "default", "-o=name"]);
    assert!(ok && out.trim() == "namespace/default", "{err}");

    let client_files = kubeconfig(
        d,
        "client-files",
        &mtls,
        &format!("    certificate-authority: {ca}\n"),
        &format!("    client-certificate: {}\n    client-key: {}\n", d.join("client.crt").display(), d.join("client.key").display()),
    );
    expect_ok(&client_files, &GET);
    let cert_data = b64(&std::fs::read(d.join("client.crt")).expect("crt"));
    let key_data = b64(&std::fs::read(d.join("client.key")).expect("key"));
    let client_data = kubeconfig(
        d,
        "client-data",
        &mtls,
        &format!("    certificate-authority-data: {ca_data}\n"),
        &format!("    client-certificate-data: {cert_data}\n    client-key-data: {key_data}\n"),
    );
    expect_ok(&client_data, &GET);
    let no_client = kubeconfig(d, "no-client", &mtls, &format!("    certificate-authority: {ca}\n"), "    {}\n");
    expect_fail(&no_client, &GET, "Unable to connect to the server");

    let with_token = kubeconfig(d, "token", &token, &format!("    certificate-authority: {ca}\n"), &format!("    token: {TOKEN}\n"));
    expect_ok(&with_token, &GET);
    let wrong_token = kubeconfig(d, "wrong-token", &token, &format!("    certificate-authority: {ca}\n"), "    token: nope\n");
    expect_fail(&wrong_token, &GET, "You must be logged in to the server");
    let (ok, out, err) = kubectl(&binary("kubectl").display().to_string(), &wrong_token, None, &["--token", TOKEN, "get", "namespace", "default", "-o=name"]);
    assert!(ok && out.trim() == "namespace/default", "--token override: {err}");
    let (ok, out, err) = kubectl(
        &binary("kubectl").display().to_string(),
        &no_ca,
        None,
        &["--server", &tls, "--certificate-authority", &ca, "get", "namespace", "default", "-o=name"],
    );
    assert!(ok && out.trim() == "namespace/default", "--server/--certificate-authority: {err}");
}

#[test]
fn kubeconfig_files_merge_through_the_environment() {
    let s = Apiserver::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let server = format!("http://{}", s.addr);
    std::fs::write(
        d.join("clusters"),
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: good\n  cluster:\n    server: {server}\n- name: bad\n  cluster:\n    server: http://127.0.0.1:1\nusers:\n- name: admin\n  user: {{}}\n"),
    )
    .expect("write");
    std::fs::write(
        d.join("contexts"),
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: broken\n  context:\n    cluster: bad\n    user: admin\n- name: working\n  context:\n    cluster: good\n    user: admin\n    namespace: kube-system\ncurrent-context: broken\n",
    )
    .expect("write");
    let env = format!("{}:{}:{}", d.join("contexts").display(), d.join("missing").display(), d.join("clusters").display());
    let ours = binary("kubectl").display().to_string();
    let (ok, _, err) = kubectl(&ours, d, Some(&env), &GET);
    assert!(!ok && err.contains("The connection to the server 127.0.0.1:1 was refused"), "{err}");
    for bin in [ours.as_str(), KUBECTL_133] {
        let (ok, out, err) = kubectl(bin, d, Some(&env), &["--context", "working", "get", "namespace", "default", "-o=name"]);
        assert!(ok && out.trim() == "namespace/default", "{bin}: {err}");
    }
    let (ok, out, err) = kubectl(&ours, d, Some(&env), &["--context", "working", "config", "view", "--minify", "-o", "jsonpath={.contexts[0].context.namespace}"]);
    assert!(ok && out == "kube-system", "{out}{err}");
    let (ok, _, err) = kubectl(&ours, d, Some(&env), &["--context", "nope", "get", "pods"]);
    assert!(!ok && err.contains("context was not found for specified context: nope"), "{err}");
    let (ok, _, err) = kubectl(&ours, &d.join("absent"), None, &GET);
    assert!(!ok && err.contains("no such file or directory"), "{err}");
}
