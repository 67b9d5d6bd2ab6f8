//! What the machine has: CPUs, memory, disk, PIDs and identity, read from /proc and /sys.

use std::path::Path;

/// Capacity and identity facts of the machine.
#[derive(Debug, Clone, Default)]
pub struct MachineInfo {
    /// Logical CPUs.
    pub cpus: u64,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// Available memory in bytes (MemAvailable).
    pub memory_available_bytes: u64,
    /// Size of the filesystem holding the kubelet's root dir, in bytes.
    pub fs_capacity_bytes: u64,
    /// Free space there for unprivileged users, in bytes.
    pub fs_available_bytes: u64,
    /// Highest PID the kernel hands out.
    pub pid_max: u64,
    /// PIDs in use.
    pub pids_in_use: u64,
    /// /etc/machine-id.
    pub machine_id: String,
    /// DMI product UUID when readable.
    pub system_uuid: String,
    /// This boot's id.
    pub boot_id: String,
    /// `uname -r`.
    pub kernel_version: String,
    /// PRETTY_NAME of /etc/os-release.
    pub os_image: String,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Reads a `Key: N kB` line of /proc/meminfo, in bytes.
pub fn meminfo_field(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// Counts CPUs in a list like "0-3,5".
pub fn count_cpu_list(list: &str) -> u64 {
    list.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<u64>().unwrap_or(0).saturating_sub(a.parse().unwrap_or(0)) + 1,
            None => 1,
        })
        .sum()
}

/// The PRETTY_NAME of an os-release file.
pub fn os_pretty_name(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// Total and available bytes of the filesystem holding `path`.
pub fn fs_usage(path: &Path) -> (u64, u64) {
    let probe = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let Ok(c) = std::ffi::CString::new(probe.as_os_str().as_encoded_bytes()) else { return (0, 0) };
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return (0, 0);
    }
    let frag = st.f_frsize as u64;
    (st.f_blocks as u64 * frag, st.f_bavail as u64 * frag)
}

fn pids_in_use() -> u64 {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())).count() as u64)
        .unwrap_or(0)
}

/// Reads the machine's facts; `root_dir` picks the filesystem measured.
pub fn read(root_dir: &Path) -> MachineInfo {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpus = match count_cpu_list(&read_trim("/sys/devices/system/cpu/online")) {
        0 => std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1),
        n => n,
    };
    let (fs_capacity_bytes, fs_available_bytes) = fs_usage(root_dir);
    MachineInfo {
        cpus,
        memory_bytes: meminfo_field(&meminfo, "MemTotal").unwrap_or(0),
        memory_available_bytes: meminfo_field(&meminfo, "MemAvailable").unwrap_or(0),
        fs_capacity_bytes,
        fs_available_bytes,
        pid_max: read_trim("/proc/sys/kernel/pid_max").parse().unwrap_or(32768),
        pids_in_use: pids_in_use(),
        machine_id: read_trim("/etc/machine-id"),
        system_uuid: read_trim("/sys/class/dmi/id/product_uuid"),
        boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
        kernel_version: read_trim("/proc/sys/kernel/osrelease"),
        os_image: os_pretty_name(&std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let m = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   12000000 kB\n";
        assert_eq!(meminfo_field(m, "MemTotal"), Some(24_000_000 * 1024));
        assert_eq!(meminfo_field(m, "MemAvailable"), Some(12_000_000 * 1024));
        assert_eq!(meminfo_field(m, "Nope"), None);
        assert_eq!(count_cpu_list("0-3,5\n"), 5);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(os_pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"), "Debian GNU/Linux 12 (bookworm)");
    }

    #[test]
    fn reads_this_machine() {
        let m = read(Path::new("/tmp"));
        assert!(m.cpus >= 1 && m.memory_bytes > 0 && m.fs_capacity_bytes > 0);
    }
}
