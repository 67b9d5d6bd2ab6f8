//! A minimal ustar writer and reader for `kubectl cp` (regular files and directories; GNU
//! long names and pax `path` records are understood when reading).

use std::io::{self, Read, Write};
use std::path::Path;

const BLOCK: usize = 512;

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{:0width$o}\0", value, width = field.len() - 1);
    field.copy_from_slice(&s.as_bytes()[s.len() - field.len()..]);
}

fn header(name: &str, size: u64, mode: u32, mtime: u64, kind: u8) -> io::Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    let bytes = name.as_bytes();
    if bytes.len() <= 100 {
        h[..bytes.len()].copy_from_slice(bytes);
    } else {
        let split = name[..name.len().min(156)].rfind('/').filter(|&p| name.len() - p - 1 <= 100 && p <= 155);
        let Some(p) = split else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("file name too long for tar: {name}")));
        };
        h[345..345 + p].copy_from_slice(&bytes[..p]);
        h[..bytes.len() - p - 1].copy_from_slice(&bytes[p + 1..]);
    }
    octal(&mut h[100..108], mode as u64);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[148..156].copy_from_slice(b"        ");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// Writes `src` (a file or a directory, recursively) into a tar stream under `name`.
pub fn write_tree<W: Write>(w: &mut W, src: &Path, name: &str) -> io::Result<()> {
    let meta = std::fs::metadata(src)?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs()).unwrap_or(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() {
        w.write_all(&header(&format!("{name}/"), 0, mode, mtime, b'5')?)?;
        let mut entries: Vec<_> = std::fs::read_dir(src)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            write_tree(w, &e.path(), &format!("{name}/{}", e.file_name().to_string_lossy()))?;
        }
        return Ok(());
    }
    let data = std::fs::read(src)?;
    w.write_all(&header(name, data.len() as u64, mode, mtime, b'0')?)?;
    w.write_all(&data)?;
    let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
    w.write_all(&vec![0u8; pad])
}

/// Ends a tar stream.
pub fn finish<W: Write>(w: &mut W) -> io::Result<()> {
    w.write_all(&[0u8; BLOCK * 2])
}

/// One entry read from a tar stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Path inside the archive.
    pub name: String,
    /// Whether it is a directory.
    pub dir: bool,
    /// Permission bits.
    pub mode: u32,
    /// File contents.
    pub data: Vec<u8>,
}

fn parse_octal(field: &[u8]) -> u64 {
    let s: String = field.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
    u64::from_str_radix(s.trim(), 8).unwrap_or(0)
}

fn cstr(field: &[u8]) -> String {
    String::from_utf8_lossy(&field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())]).into_owned()
}

/// Reads every file and directory entry of a tar stream.
pub fn read_all<R: Read>(r: &mut R) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut long_name: Option<String> = None;
    loop {
        let mut h = [0u8; BLOCK];
        if read_full(r, &mut h)? < BLOCK || h.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        let size = parse_octal(&h[124..136]) as usize;
        let mut data = vec![0u8; size];
        read_full(r, &mut data)?;
        let pad = (BLOCK - size % BLOCK) % BLOCK;
        let mut skip = vec![0u8; pad];
        read_full(r, &mut skip)?;
        let mut name = cstr(&h[..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        match h[156] {
            b'L' => {
                long_name = Some(cstr(&data));
                continue;
            }
            b'x' => {
                long_name = pax_path(&data).or(long_name);
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        if let Some(l) = long_name.take() {
            name = l;
        }
        let kind = h[156];
        if kind != b'0' && kind != 0 && kind != b'5' {
            continue;
        }
        let dir = kind == b'5' || name.ends_with('/');
        out.push(Entry { name, dir, mode: parse_octal(&h[100..108]) as u32, data });
    }
}

fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|l| l.split_once(' ').and_then(|(_, kv)| kv.strip_prefix("path=")).map(str::to_string))
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_system_tar() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("a.txt"), "hello").unwrap();
        std::fs::write(src.join("sub/b.txt"), vec![7u8; 700]).unwrap();
        let mut buf = Vec::new();
        write_tree(&mut buf, &src, "data").unwrap();
        finish(&mut buf).unwrap();
        let entries = read_all(&mut buf.as_slice()).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, vec!["data/", "data/a.txt", "data/sub/", "data/sub/b.txt"]);
        assert_eq!(entries[3].data.len(), 700);
        let listing = std::process::Command::new("tar").arg("tf").arg("-").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn();
        if let Ok(mut child) = listing {
            child.stdin.take().unwrap().write_all(&buf).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(String::from_utf8_lossy(&out.stdout).contains("data/sub/b.txt"));
        }
        let made = std::process::Command::new("tar").arg("cf").arg("-").arg("-C").arg(dir.path()).arg("src").output();
        if let Ok(out) = made {
            let entries = read_all(&mut out.stdout.as_slice()).unwrap();
            assert!(entries.iter().any(|e| e.name == "src/a.txt" && e.data == b"hello"));
        }
    }
}
