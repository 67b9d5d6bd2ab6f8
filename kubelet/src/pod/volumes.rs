//! Pod volumes on the node: emptyDir, hostPath, and the projections of API data (configMap,
//! secret, downwardAPI, projected) written with upstream's atomic writer layout
//! (`..data` -> `..<timestamp>` and one symlink per top-level entry), so updates replace the
//! files in place, visible to running containers through the bind mount.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};

use super::env::{self, EnvInputs};

/// Volume set-up errors (reported as container creation errors).
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Filesystem trouble.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A referenced object or key is missing, or a hostPath has the wrong type.
    #[error("{0}")]
    Source(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VolumeError + '_ {
    move |source| VolumeError::Io { path: path.to_path_buf(), source }
}

/// Bytes and mode of one file in a projected volume, keyed by relative path.
pub type Payload = BTreeMap<String, (Vec<u8>, u32)>;

/// API data volumes read from (ConfigMaps and Secrets of the pod's namespace, as bytes).
#[derive(Debug, Default, Clone)]
pub struct VolumeData {
    /// ConfigMaps by name.
    pub config_maps: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// Secrets by name.
    pub secrets: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// Service account tokens for projected serviceAccountToken sources, by
    /// `tokens::source_key` (audience and lifetime).
    pub tokens: BTreeMap<String, String>,
    /// Host paths of persistentVolumeClaim volumes, by volume name.
    pub claims: HashMap<String, super::claims::ClaimPath>,
}

/// The host folder of one volume.
pub fn volume_dir(pod_dir: &Path, v: &Volume) -> PathBuf {
    let plugin = if v.empty_dir.is_some() {
        "empty-dir"
    } else if v.config_map.is_some() {
        "configmap"
    } else if v.secret.is_some() {
        "secret"
    } else if v.downward_api.is_some() {
        "downward-api"
    } else if v.projected.is_some() {
        "projected"
    } else {
        "other"
    };
    pod_dir.join("volumes").join(format!("kubernetes.io~{plugin}")).join(&v.name)
}

fn items_payload(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: u32,
    what: &str,
) -> Result<Payload, VolumeError> {
    let mut out = Payload::new();
    match items {
        Some(items) if !items.is_empty() => {
            for it in items {
                let bytes = data.get(&it.key).ok_or_else(|| VolumeError::Source(format!("configuration of {what} has no key {}", it.key)))?;
                out.insert(it.path.clone(), (bytes.clone(), it.mode.map(|m| m as u32).unwrap_or(default_mode)));
            }
        }
        _ => {
            for (k, v) in data {
                out.insert(k.clone(), (v.clone(), default_mode));
            }
        }
    }
    Ok(out)
}

fn downward_payload(pod: &Pod, files: &[DownwardAPIVolumeFile], default_mode: u32, inputs: &EnvInputs) -> Result<Payload, VolumeError> {
    let mut out = Payload::new();
    for f in files {
        let value = if let Some(fr) = &f.field_ref {
            env::field_value(pod, &fr.field_path, inputs).map_err(|e| VolumeError::Source(e.to_string()))?
        } else if let Some(rr) = &f.resource_field_ref {
            let spec = pod.spec.clone().unwrap_or_default();
            let name = rr.container_name.clone().unwrap_or_default();
            let c = spec.containers.iter().find(|c| c.name == name).cloned().unwrap_or_default();
            env::resource_value(&c, rr, inputs).map_err(|e| VolumeError::Source(e.to_string()))?
        } else {
            continue;
        };
        out.insert(f.path.clone(), (value.into_bytes(), f.mode.map(|m| m as u32).unwrap_or(default_mode)));
    }
    Ok(out)
}

fn source_map<'a>(
    maps: &'a HashMap<String, BTreeMap<String, Vec<u8>>>,
    name: &str,
    optional: bool,
    kind: &str,
) -> Result<Option<&'a BTreeMap<String, Vec<u8>>>, VolumeError> {
    match maps.get(name) {
        Some(m) => Ok(Some(m)),
        None if optional => Ok(None),
        None => Err(VolumeError::Source(format!("{kind} \"{name}\" not found"))),
    }
}

/// The files a data volume should hold, or `None` for non-data volumes.
pub fn payload(pod: &Pod, v: &Volume, data: &VolumeData, inputs: &EnvInputs) -> Result<Option<Payload>, VolumeError> {
    if let Some(cm) = &v.config_map {
        let mode = cm.default_mode.unwrap_or(0o644) as u32;
        let Some(m) = source_map(&data.config_maps, &cm.name, cm.optional.unwrap_or(false), "configmap")? else {
            return Ok(Some(Payload::new()));
        };
        return items_payload(m, cm.items.as_ref(), mode, &format!("configmap {}", cm.name)).map(Some);
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let mode = s.default_mode.unwrap_or(0o644) as u32;
        let Some(m) = source_map(&data.secrets, &name, s.optional.unwrap_or(false), "secret")? else {
            return Ok(Some(Payload::new()));
        };
        return items_payload(m, s.items.as_ref(), mode, &format!("secret {name}")).map(Some);
    }
    if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(0o644) as u32;
        return downward_payload(pod, d.items.as_deref().unwrap_or_default(), mode, inputs).map(Some);
    }
    if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(0o644) as u32;
        let mut out = Payload::new();
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                if let Some(m) = source_map(&data.config_maps, &cm.name, cm.optional.unwrap_or(false), "configmap")? {
                    out.extend(items_payload(m, cm.items.as_ref(), mode, &format!("configmap {}", cm.name))?);
                }
            }
            if let Some(s) = &src.secret {
                if let Some(m) = source_map(&data.secrets, &s.name, s.optional.unwrap_or(false), "secret")? {
                    out.extend(items_payload(m, s.items.as_ref(), mode, &format!("secret {}", s.name))?);
                }
            }
            if let Some(d) = &src.downward_api {
                out.extend(downward_payload(pod, d.items.as_deref().unwrap_or_default(), mode, inputs)?);
            }
            if let Some(t) = &src.service_account_token {
                let token = data.tokens.get(&super::tokens::source_key(t)).ok_or_else(|| {
                    VolumeError::Source(format!("failed to fetch token: no token for audience {:?}", t.audience.as_deref().unwrap_or("")))
                })?;
                out.insert(t.path.clone(), (token.clone().into_bytes(), mode));
            }
        }
        return Ok(Some(out));
    }
    Ok(None)
}

fn current_payload(dir: &Path) -> Option<Payload> {
    let data = dir.join("..data");
    let target = std::fs::read_link(&data).ok()?;
    let root = dir.join(target);
    let mut out = Payload::new();
    collect(&root, &root, &mut out).ok()?;
    Some(out)
}

fn collect(root: &Path, at: &Path, out: &mut Payload) -> std::io::Result<()> {
    for e in std::fs::read_dir(at)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            collect(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            let mode = e.metadata()?.permissions().mode() & 0o7777;
            out.insert(rel, (std::fs::read(&p)?, mode));
        }
    }
    Ok(())
}

/// Writes `payload` into `dir` atomically; returns whether anything changed.
pub fn atomic_write(dir: &Path, payload: &Payload) -> Result<bool, VolumeError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if current_payload(dir).as_ref() == Some(payload) {
        return Ok(false);
    }
    let stamp = chrono::Utc::now().format("..%Y_%m_%d_%H_%M_%S.%f").to_string();
    let ts_dir = dir.join(&stamp);
    std::fs::create_dir_all(&ts_dir).map_err(io(&ts_dir))?;
    for (rel, (bytes, mode)) in payload {
        let p = ts_dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&p, bytes).map_err(io(&p))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).map_err(io(&p))?;
    }
    let old = std::fs::read_link(dir.join("..data")).ok();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(&stamp, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, dir.join("..data")).map_err(io(dir))?;
    let tops: std::collections::BTreeSet<String> =
        payload.keys().map(|k| k.split('/').next().unwrap_or(k).to_string()).collect();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(format!("..data/{top}"), &link).map_err(io(&link))?;
        }
    }
    remove_stale_links(dir, &tops);
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

fn remove_stale_links(dir: &Path, keep: &std::collections::BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !keep.contains(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn check_host_path(path: &Path, kind: &str) -> Result<(), VolumeError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path);
    let fail = |what: &str| Err(VolumeError::Source(format!("hostPath type check failed: {} is not a {what}", path.display())));
    match kind {
        "DirectoryOrCreate" => {
            std::fs::create_dir_all(path).map_err(io(path))?;
            Ok(())
        }
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io(path))?;
            }
            Ok(())
        }
        "Directory" if !meta.as_ref().is_ok_and(|m| m.is_dir()) => fail("directory"),
        "File" if !meta.as_ref().is_ok_and(|m| m.is_file()) => fail("file"),
        "Socket" if !meta.as_ref().is_ok_and(|m| m.file_type().is_socket()) => fail("socket"),
        "CharDevice" if !meta.as_ref().is_ok_and(|m| m.file_type().is_char_device()) => fail("character device"),
        "BlockDevice" if !meta.as_ref().is_ok_and(|m| m.file_type().is_block_device()) => fail("block device"),
        _ => Ok(()),
    }
}

fn mount_tmpfs(dir: &Path, size: Option<i64>) -> Result<(), VolumeError> {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| m.lines().any(|l| l.split(' ').nth(1) == Some(&*dir.to_string_lossy())))
        .unwrap_or(false);
    if mounted {
        return Ok(());
    }
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let target = c(&dir.to_string_lossy());
    let opts = c(&size.map(|s| format!("size={s}")).unwrap_or_default());
    // SAFETY: all pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe { libc::mount(c("tmpfs").as_ptr(), target.as_ptr(), c("tmpfs").as_ptr(), 0, opts.as_ptr().cast()) };
    if rc != 0 {
        return Err(VolumeError::Io { path: dir.into(), source: std::io::Error::last_os_error() });
    }
    Ok(())
}

/// Prepares every volume of the pod; returns each volume's host path.
pub fn setup(pod_dir: &Path, pod: &Pod, data: &VolumeData, inputs: &EnvInputs) -> Result<HashMap<String, PathBuf>, VolumeError> {
    let mut paths = HashMap::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if let Some(hp) = &v.host_path {
            let p = PathBuf::from(&hp.path);
            check_host_path(&p, hp.type_.as_deref().unwrap_or(""))?;
            paths.insert(v.name.clone(), p);
            continue;
        }
        if v.persistent_volume_claim.is_some() {
            let claim = data.claims.get(&v.name).ok_or_else(|| VolumeError::Source(format!("volume {}: claim not resolved", v.name)))?;
            check_host_path(&claim.path, &claim.host_path_type)?;
            paths.insert(v.name.clone(), claim.path.clone());
            continue;
        }
        let dir = volume_dir(pod_dir, v);
        if let Some(ed) = &v.empty_dir {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).map_err(io(&dir))?;
            if ed.medium.as_deref() == Some("Memory") {
                let size = ed.size_limit.as_ref().and_then(|q| rkube_apimachinery::quantity::Quantity::parse(&q.0).ok()).map(|q| q.value() as i64);
                mount_tmpfs(&dir, size)?;
            }
        } else if let Some(p) = payload(pod, v, data, inputs)? {
            atomic_write(&dir, &p)?;
        } else {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        paths.insert(v.name.clone(), dir);
    }
    Ok(paths)
}

/// Refreshes the data volumes (ConfigMap/Secret changes); returns the names that changed.
pub fn refresh(pod_dir: &Path, pod: &Pod, data: &VolumeData, inputs: &EnvInputs) -> Vec<String> {
    let mut changed = vec![];
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        if let Ok(Some(p)) = payload(pod, v, data, inputs) {
            if atomic_write(&volume_dir(pod_dir, v), &p).unwrap_or(false) {
                changed.push(v.name.clone());
            }
        }
    }
    changed
}

/// Unmounts tmpfs volumes and removes the pod's folder.
pub fn teardown(pod_dir: &Path) {
    let prefix = format!("{}/", pod_dir.display());
    let mounts: Vec<String> = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    for m in mounts.iter().rev() {
        if let Ok(c) = std::ffi::CString::new(m.as_str()) {
            // SAFETY: c is a valid path string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _ = std::fs::remove_dir_all(pod_dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(volumes: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x"}], "volumes": volumes}
        }))
        .unwrap()
    }

    fn data() -> VolumeData {
        VolumeData {
            config_maps: HashMap::from([(
                "game-config".into(),
                BTreeMap::from([("game.properties".into(), b"lives=3".to_vec()), ("ui.properties".into(), b"color=red".to_vec())]),
            )]),
            secrets: HashMap::from([("s".into(), BTreeMap::from([("password".into(), b"pw".to_vec())]))]),
            tokens: BTreeMap::from([("|3600".to_string(), "tok".to_string())]),
            claims: HashMap::new(),
        }
    }

    #[test]
    fn configmap_volume_updates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = pod(json!([{"name": "config", "configMap": {"name": "game-config"}}]));
        let paths = setup(dir.path(), &p, &data(), &EnvInputs::default()).unwrap();
        let vol = &paths["config"];
        assert_eq!(std::fs::read_to_string(vol.join("game.properties")).unwrap(), "lives=3");
        assert!(std::fs::symlink_metadata(vol.join("game.properties")).unwrap().file_type().is_symlink());
        let mut d = data();
        d.config_maps.get_mut("game-config").unwrap().insert("game.properties".into(), b"lives=4".to_vec());
        d.config_maps.get_mut("game-config").unwrap().remove("ui.properties");
        assert_eq!(refresh(dir.path(), &p, &d, &EnvInputs::default()), vec!["config"]);
        assert_eq!(std::fs::read_to_string(vol.join("game.properties")).unwrap(), "lives=4");
        assert!(!vol.join("ui.properties").exists());
        assert!(refresh(dir.path(), &p, &d, &EnvInputs::default()).is_empty());
        let versions = std::fs::read_dir(vol).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("..2")).count();
        assert_eq!(versions, 1);
    }

    #[test]
    fn items_modes_projected_and_downward() {
        let dir = tempfile::tempdir().unwrap();
        let p = pod(json!([
            {"name": "sec", "secret": {"secretName": "s", "items": [{"key": "password", "path": "creds/pw", "mode": 0o400}]}},
            {"name": "proj", "projected": {"sources": [
                {"configMap": {"name": "game-config", "items": [{"key": "ui.properties", "path": "ui"}]}},
                {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"serviceAccountToken": {"path": "token"}}
            ]}},
            {"name": "dw", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"name": "scratch", "emptyDir": {}}
        ]));
        let paths = setup(dir.path(), &p, &data(), &EnvInputs::default()).unwrap();
        let pw = paths["sec"].join("creds/pw");
        assert_eq!(std::fs::read_to_string(&pw).unwrap(), "pw");
        assert_eq!(std::fs::metadata(&pw).unwrap().permissions().mode() & 0o777, 0o400);
        assert_eq!(std::fs::read_to_string(paths["proj"].join("ui")).unwrap(), "color=red");
        assert_eq!(std::fs::read_to_string(paths["proj"].join("labels")).unwrap(), "a=\"b\"");
        assert_eq!(std::fs::read_to_string(paths["proj"].join("token")).unwrap(), "tok");
        assert_eq!(std::fs::read_to_string(paths["dw"].join("name")).unwrap(), "p");
        assert!(paths["scratch"].is_dir());
    }

    #[test]
    fn missing_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = pod(json!([{"name": "c", "configMap": {"name": "nope"}}]));
        assert_eq!(setup(dir.path(), &p, &data(), &EnvInputs::default()).unwrap_err().to_string(), "configmap \"nope\" not found");
        let p = pod(json!([{"name": "c", "configMap": {"name": "nope", "optional": true}}]));
        assert!(setup(dir.path(), &p, &data(), &EnvInputs::default()).is_ok());
        let p = pod(json!([{"name": "h", "hostPath": {"path": dir.path().join("made").to_string_lossy(), "type": "DirectoryOrCreate"}}]));
        setup(dir.path(), &p, &data(), &EnvInputs::default()).unwrap();
        assert!(dir.path().join("made").is_dir());
        let p = pod(json!([{"name": "h", "hostPath": {"path": "/nonexistent-rkube", "type": "Directory"}}]));
        assert!(setup(dir.path(), &p, &data(), &EnvInputs::default()).is_err());
    }
}
