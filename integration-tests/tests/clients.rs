//! Client libraries against the running apiserver: kube-rs (watcher + reflector, CRUD) and the
//! Python `kubernetes` client (create, list, watch).

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use rkube_integration_tests::Apiserver;

async fn client(s: &Apiserver) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

fn configmap(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name, "labels": {"app": "kube-rs"}}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn kube_rs_watcher_and_reflector() {
    let s = Apiserver::start();
    let client = client(&s).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &configmap("before")).await.unwrap();

    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default().labels("app=kube-rs")))
        .applied_objects()
        .boxed();
    let task = tokio::spawn(async move {
        let mut stream = stream;
        while let Some(ev) = stream.next().await {
            ev.expect("watch event");
        }
    });
    reader.wait_until_ready().await.unwrap();
    for i in 0..5 {
        api.create(&PostParams::default(), &configmap(&format!("cm{i}"))).await.unwrap();
    }
    api.delete("before", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut names: Vec<String> = reader.state().iter().map(|c| c.metadata.name.clone().unwrap()).collect();
        names.sort();
        if names == ["cm0", "cm1", "cm2", "cm3", "cm4"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "reflector has {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = api.list(&ListParams::default().labels("app=kube-rs").limit(2)).await.unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(listed.metadata.continue_.is_some());
    task.abort();
}

#[test]
fn python_client_create_list_watch() {
    let s = Apiserver::start();
    let script = format!(
        r#"
from kubernetes import client, config, watch
config.load_kube_config(config_file="{cfg}")
v1 = client.CoreV1Api()
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm", labels={{"from": "python"}}), data={{"a": "b"}})
v1.create_namespaced_config_map("default", cm)
items = v1.list_namespaced_config_map("default", label_selector="from=python").items
assert [i.metadata.name for i in items] == ["py-cm"], items
rv = v1.list_namespaced_config_map("default").metadata.resource_version
v1.patch_namespaced_config_map("py-cm", "default", {{"data": {{"a": "c"}}}})
seen = []
for ev in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2):
    seen.append((ev["type"], ev["object"].metadata.name, ev["object"].data["a"]))
    break
assert seen == [("MODIFIED", "py-cm", "c")], seen
print("python ok")
"#,
        cfg = s.kubeconfig().display()
    );
    let out = Command::new("python3").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("python ok"));
}
