//! Container logs in the CRI format (`<RFC3339Nano> <stream> <P|F> <content>`): reading with
//! kubectl's options (tailLines, sinceSeconds/sinceTime, timestamps, limitBytes, follow)
//! across rotated files, and rotation at containerLogMaxSize keeping containerLogMaxFiles.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::cri::Runtime;

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the runtime wrote it.
    pub time: DateTime<Utc>,
    /// "stdout" or "stderr".
    pub stream: String,
    /// Whether this is a partial line (more content follows without a newline).
    pub partial: bool,
    /// The content, without the trailing newline.
    pub content: Vec<u8>,
}

/// Parses one CRI log line.
pub fn parse_line(line: &[u8]) -> Option<Entry> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let ts = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let tag = parts.next()?;
    let content = parts.next().unwrap_or_default().to_vec();
    let time = DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc);
    Some(Entry { time, stream, partial: tag.first() == Some(&b'P'), content })
}

/// What kubectl asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep streaming new lines.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Prefix lines with their timestamp.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<usize>,
    /// Only one stream ("stdout" / "stderr").
    pub stream: Option<String>,
}

/// Upstream's RFC3339NanoFixed.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Renders an entry as kubectl shows it.
pub fn render(e: &Entry, opts: &Options) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.content.len() + 40);
    if opts.timestamps {
        out.extend_from_slice(format_time(&e.time).as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(&e.content);
    if !e.partial {
        out.push(b'\n');
    }
    out
}

fn wanted(e: &Entry, opts: &Options) -> bool {
    opts.since.is_none_or(|s| e.time >= s) && opts.stream.as_ref().is_none_or(|s| *s == e.stream)
}

/// Selects and renders lines of `entries` per `opts` (tail, since, limit).
pub fn select(entries: &[Entry], opts: &Options) -> Vec<u8> {
    let kept: Vec<&Entry> = entries.iter().filter(|e| wanted(e, opts)).collect();
    let start = match opts.tail_lines {
        Some(n) => {
            // Count whole lines (a run of partials plus its full line is one line).
            let mut full = 0;
            let mut idx = kept.len();
            for (i, e) in kept.iter().enumerate().rev() {
                if !e.partial {
                    if full == n {
                        break;
                    }
                    full += 1;
                }
                idx = i;
            }
            if n == 0 { kept.len() } else { idx }
        }
        None => 0,
    };
    let mut out = vec![];
    for e in &kept[start..] {
        out.extend(render(e, opts));
    }
    if let Some(limit) = opts.limit_bytes {
        out.truncate(limit);
    }
    out
}

/// The log files of a container, oldest first: rotated `<path>.<stamp>` then `<path>`.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let Some(dir) = path.parent() else { return vec![path.to_path_buf()] };
    let base = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&format!("{base}."))))
                .filter(|p| !p.to_string_lossy().ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default();
    rotated.sort();
    rotated.push(path.to_path_buf());
    rotated
}

/// Parses every line of the given bytes (a trailing incomplete line is returned apart).
pub fn parse_all(data: &[u8]) -> (Vec<Entry>, usize) {
    let mut entries = vec![];
    let mut consumed = 0;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if !line.ends_with(b"\n") {
            break;
        }
        consumed += line.len();
        if let Some(e) = parse_line(&line[..line.len() - 1]) {
            entries.push(e);
        }
    }
    (entries, consumed)
}

/// Reads and renders the container's logs so far; returns the bytes and, for following,
/// the current file's read offset.
pub fn read(path: &Path, opts: &Options) -> (Vec<u8>, u64) {
    let mut all = vec![];
    let mut offset = 0;
    for f in files(path) {
        let data = std::fs::read(&f).unwrap_or_default();
        let (entries, consumed) = parse_all(&data);
        if f == path {
            offset = consumed as u64;
        }
        all.extend(entries);
    }
    (select(&all, opts), offset)
}

/// Streams the logs: what exists (per `opts`), then, when following, new lines until the
/// container stops running. Returns a channel of chunks.
pub fn stream(path: PathBuf, opts: Options, runtime: std::sync::Arc<dyn Runtime>, container_id: String) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let p = path.clone();
        let o = opts.clone();
        let (first, mut offset) = tokio::task::spawn_blocking(move || read(&p, &o)).await.unwrap_or_default();
        let mut budget = opts.limit_bytes.map(|l| l.saturating_sub(first.len()));
        if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        if !opts.follow || budget == Some(0) {
            return;
        }
        let follow_opts = Options { tail_lines: None, ..opts };
        let mut checks = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (chunk, new_offset) = read_new(&path, offset);
            offset = new_offset;
            let (entries, _) = parse_all(&chunk);
            let mut out = select(&entries, &follow_opts);
            if let Some(b) = budget.as_mut() {
                out.truncate(*b);
                *b -= out.len();
            }
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
            if budget == Some(0) || tx.is_closed() {
                return;
            }
            checks += 1;
            if checks.is_multiple_of(10) && !running(runtime.as_ref(), &container_id).await {
                let (rest, _) = read_new(&path, offset);
                let (entries, _) = parse_all(&rest);
                let _ = tx.send(Bytes::from(select(&entries, &follow_opts))).await;
                return;
            }
        }
    });
    rx
}

async fn running(rt: &dyn Runtime, id: &str) -> bool {
    rt.container_status(id).await.map(|s| s.state == crate::cri::api::ContainerState::ContainerRunning as i32).unwrap_or(false)
}

/// Reads complete lines appended after `offset`; restarts at 0 when the file was rotated.
fn read_new(path: &Path, offset: u64) -> (Vec<u8>, u64) {
    let Ok(mut f) = std::fs::File::open(path) else { return (vec![], offset) };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < offset { 0 } else { offset };
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (vec![], offset);
    }
    let mut buf = vec![];
    let _ = f.read_to_end(&mut buf);
    let complete = buf.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    buf.truncate(complete);
    (buf, start + complete as u64)
}

/// Rotates one container's log if it grew past `max_size`, keeping `max_files` files.
pub async fn rotate_one(rt: &dyn Runtime, id: &str, path: &Path, max_size: u64, max_files: usize) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size < max_size {
        return;
    }
    let stamp = Utc::now().format("%Y%m%d-%H%M%S%.6f").to_string();
    let rotated = PathBuf::from(format!("{}.{stamp}", path.display()));
    if std::fs::rename(path, &rotated).is_err() {
        return;
    }
    if let Err(e) = rt.reopen_container_log(id).await {
        tracing::warn!(container = id, error = %e, "reopening the container log failed");
        let _ = std::fs::rename(&rotated, path);
        return;
    }
    let all = files(path);
    let rotated_files = &all[..all.len() - 1];
    let excess = rotated_files.len().saturating_sub(max_files.saturating_sub(1));
    for old in &rotated_files[..excess] {
        let _ = std::fs::remove_file(old);
    }
}

/// Checks every running container's log every 10 s and rotates what is too large.
pub async fn rotation_loop(rt: std::sync::Arc<dyn Runtime>, node: String, max_size: u64, max_files: usize, cancel: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        let sel = std::collections::HashMap::from([(crate::cri::labels::NODE.to_string(), node.clone())]);
        for c in rt.list_containers(sel).await.unwrap_or_default() {
            if c.state != crate::cri::api::ContainerState::ContainerRunning as i32 {
                continue;
            }
            if let Ok(s) = rt.container_status(&c.id).await {
                if !s.log_path.is_empty() {
                    rotate_one(rt.as_ref(), &c.id, Path::new(&s.log_path), max_size, max_files).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[&str]) -> Vec<u8> {
        lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
    }

    #[test]
    fn parses_and_renders() {
        let e = parse_line(b"2026-01-02T03:04:05.123456789Z stdout F hello world").unwrap();
        assert_eq!(e.content, b"hello world");
        assert!(!e.partial);
        assert_eq!(render(&e, &Options { timestamps: true, ..Default::default() }), b"2026-01-02T03:04:05.123456789Z hello world\n");
        let p = parse_line(b"2026-01-02T03:04:05Z stderr P part").unwrap();
        assert!(p.partial);
        assert_eq!(render(&p, &Options::default()), b"part");
        assert!(parse_line(b"garbage").is_none());
        let empty = parse_line(b"2026-01-02T03:04:05Z stdout F ").unwrap();
        assert_eq!(render(&empty, &Options::default()), b"\n");
    }

    #[test]
    fn tail_since_and_limit() {
        let data = log(&[
            "2026-01-01T00:00:01Z stdout F 1",
            "2026-01-01T00:00:02Z stdout F 2",
            "2026-01-01T00:00:03Z stdout P 3a",
            "2026-01-01T00:00:03Z stdout F 3b",
            "2026-01-01T00:00:04Z stderr F 4",
        ]);
        let (entries, used) = parse_all(&data);
        assert_eq!(used, data.len());
        assert_eq!(select(&entries, &Options::default()), b"1\n2\n3a3b\n4\n");
        assert_eq!(select(&entries, &Options { tail_lines: Some(2), ..Default::default() }), b"3a3b\n4\n");
        assert_eq!(select(&entries, &Options { tail_lines: Some(0), ..Default::default() }), b"");
        assert_eq!(select(&entries, &Options { tail_lines: Some(10), ..Default::default() }), b"1\n2\n3a3b\n4\n");
        let since = DateTime::parse_from_rfc3339("2026-01-01T00:00:03Z").unwrap().with_timezone(&Utc);
        assert_eq!(select(&entries, &Options { since: Some(since), ..Default::default() }), b"3a3b\n4\n");
        assert_eq!(select(&entries, &Options { limit_bytes: Some(3), ..Default::default() }), b"1\n2");
        assert_eq!(select(&entries, &Options { stream: Some("stderr".into()), ..Default::default() }), b"4\n");
    }

    #[tokio::test]
    async fn rotation_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let rt = crate::cri::fake::FakeRuntime::new(std::net::Ipv4Addr::new(10, 0, 0, 0));
        for i in 0..6 {
            std::fs::write(&path, log(&[&format!("2026-01-01T00:00:0{i}Z stdout F line {i}")])).unwrap();
            rotate_one(&rt, "c1", &path, 10, 3).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let all = files(&path);
        assert_eq!(all.len(), 3, "two rotated files and the current one: {all:?}");
        std::fs::write(&path, log(&["2026-01-01T00:00:09Z stdout F current"])).unwrap();
        let (out, _) = read(&path, &Options::default());
        assert_eq!(String::from_utf8(out).unwrap(), "line 4\nline 5\ncurrent\n");
        let small = dir.path().join("small.log");
        std::fs::write(&small, b"x").unwrap();
        rotate_one(&rt, "c2", &small, 10, 3).await;
        assert_eq!(files(&small).len(), 1, "small files stay");
    }

    #[test]
    fn reads_across_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(dir.path().join("0.log.20260101-000000.000000"), log(&["2026-01-01T00:00:01Z stdout F old"])).unwrap();
        let mut cur = log(&["2026-01-01T00:00:02Z stdout F new"]);
        cur.extend_from_slice(b"2026-01-01T00:00:03Z stdout F incomplete");
        std::fs::write(&path, &cur).unwrap();
        let (out, offset) = read(&path, &Options::default());
        assert_eq!(out, b"old\nnew\n");
        assert_eq!(offset, 34);
        let (more, _) = read_new(&path, offset);
        assert!(more.is_empty(), "incomplete lines wait");
    }
}
