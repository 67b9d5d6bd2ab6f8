//! rkube's kubectl streams against a real node (kubelet + containerd): logs, exec (exit codes,
//! stdin, a real pty), cp in and out; compared with the real kubectl 1.33 where
//! the output is deterministic. Skipped when the node runtime is not installed.

use std::process::{Command, Stdio};
use std::time::Duration;

use rkube_integration_tests::kubelet::{node_available, wait_for, KubeletNode};
use rkube_integration_tests::{binary, Apiserver, KUBECTL_133};

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  nodeName: NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, 'echo started; echo second line; mkdir -p /www; echo served-by-box > /www/index.html; httpd -f -p 8080 -h /www']
"#;

fn ours() -> String {
    binary("kubectl").display().to_string()
}

fn run(api: &Apiserver, kubectl: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let o = api.kubectl_with(kubectl, args, stdin);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn logs_exec_pty_and_cp() {
    if !node_available() {
        return;
    }
    let api = Apiserver::start();
    let _node = KubeletNode::start(&api, "node-k");
    wait_for(Duration::from_secs(30), "node registered", || api.try_get_json(&["get", "node", "node-k"]));
    api.apply_yaml(&POD.replace("NODE", "node-k"));
    api.wait_pod("box", Duration::from_secs(60), "Running", |p| p["status"]["phase"] == "Running");
    let ours = ours();

    // logs: identical to the real kubectl's.
    let real_logs = wait_for(Duration::from_secs(20), "logs", || Some(api.kubectl(&["logs", "box"])).filter(|l| l.contains("second line")));
    assert_eq!(run(&api, &ours, &["logs", "box"], None).1, real_logs);
    assert_eq!(run(&api, &ours, &["logs", "box", "--tail=1"], None).1, "second line\n");

    // exec: stdout, stderr and the exit code as the real kubectl reports them.
    let script = ["exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 3"];
    let real = run(&api, KUBECTL_133, &script, None);
    let mine = run(&api, &ours, &script, None);
    assert_eq!((mine.0, mine.1.as_str()), (3, "out\n"), "{mine:?}");
    assert_eq!((real.0, &real.1, &real.2), (mine.0, &mine.1, &mine.2));
    let (code, out, err) = run(&api, &ours, &["exec", "-i", "box", "--", "cat"], Some("hello stdin\n"));
    assert_eq!((code, out.as_str()), (0, "hello stdin\n"), "{err}");

    // exec -it under a real pty (script(1) provides the terminal).
    let cmdline = format!(
        "{ours} --kubeconfig {} exec -it box -- sh -c 'tty; stty size; echo in-a-tty'",
        api.kubeconfig().display()
    );
    let out = Command::new("script").args(["-qec", &cmdline, "/dev/null"]).env("COLUMNS", "100").env("LINES", "30").stdin(Stdio::null()).output().expect("script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/") && text.contains("in-a-tty"), "{text}");

    // cp: a file and a directory into the container and back.
    let dir = tempfile::tempdir().expect("dir");
    let local = dir.path().join("note.txt");
    std::fs::write(&local, "copied in\n").expect("write");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).expect("mkdir");
    std::fs::write(tree.join("sub/deep.txt"), "deep\n").expect("write");
    let (code, _, err) = run(&api, &ours, &["cp", &local.display().to_string(), "box:/tmp/note.txt"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&api, &ours, &["exec", "box", "--", "cat", "/tmp/note.txt"], None).1, "copied in\n");
    let (code, _, err) = run(&api, &ours, &["cp", &tree.display().to_string(), "box:/tmp/tree"], None);
    assert_eq!(code, 0, "{err}");
    let back = dir.path().join("back");
    let (code, _, err) = run(&api, &ours, &["cp", "box:/tmp/tree", &back.display().to_string()], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(back.join("sub/deep.txt")).expect("copied back"), "deep\n");
    let one = dir.path().join("one.txt");
    let (code, _, err) = run(&api, &ours, &["cp", "box:/tmp/note.txt", &one.display().to_string()], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&one).expect("file"), "copied in\n");

    // port-forward, run -i and attach: tests/kubectl_port_forward.rs.
}
