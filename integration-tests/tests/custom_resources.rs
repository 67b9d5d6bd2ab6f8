//! A CRD created with kubectl: its custom resources are served, listed, watched and
//! validated against the schema.

use std::process::Command;
use std::time::Duration;

use rkube_integration_tests::{fixture, Apiserver, KUBECTL_133};

#[test]
fn crontab_crd_lifecycle() {
    let s = Apiserver::start();
    let crd = fixture("crontab-crd.yaml").display().to_string();
    assert_eq!(s.kubectl(&["create", "-f", &crd]).trim(), "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created");
    s.kubectl(&["wait", "--for", "condition=established", "--timeout=20s", "crd/crontabs.stable.example.com"]);
    let mut tries = 0;
    while !s.kubectl(&["api-resources", "--api-group=stable.example.com"]).contains("crontabs") {
        tries += 1;
        assert!(tries < 50, "crontabs never appeared in discovery");
        std::thread::sleep(Duration::from_millis(100));
    }
    let watch = Command::new("curl")
        .args(["-sN", "--max-time", "4", &format!("http://{}/apis/stable.example.com/v1/namespaces/default/crontabs?watch=1&timeoutSeconds=3", s.addr)])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let obj = fixture("my-crontab.yaml").display().to_string();
    assert_eq!(s.kubectl(&["create", "-f", &obj]).trim(), "crontab.stable.example.com/my-new-cron-object created");
    let list = s.kubectl(&["get", "crontab"]);
    assert!(list.lines().any(|l| l.starts_with("my-new-cron-object")), "{list}");
    let short = s.kubectl(&["get", "ct", "-o", "jsonpath={.items[0].spec.image}"]);
    assert_eq!(short, "my-awesome-cron-image");
    let events = watch.wait_with_output().unwrap();
    let body = String::from_utf8_lossy(&events.stdout);
    assert!(body.lines().any(|l| l.contains("\"ADDED\"") && l.contains("my-new-cron-object")), "{body}");
    let bad = fixture("bad-crontab.yaml").display().to_string();
    let err = s.kubectl_err(KUBECTL_133, &["create", "-f", &bad]);
    assert!(err.contains("spec.cronSpec") && err.contains("must be of type string"), "{err}");
    s.kubectl(&["delete", "crontab", "my-new-cron-object"]);
    assert!(s.kubectl(&["get", "crontabs", "-o", "name"]).trim().is_empty());
}
