// SPDX-License-Identifier: GPL-2.0
//! `/proc/meminfo` figures, for the checks and benchmarks that measure kernel memory.

use std::io;

/// The value of `/proc/meminfo`'s line `name` (e.g. `Slab`), in kB; an error if the line is
/// missing (its kernel option is off, as `ShmemHugePages` without THP).
pub fn kb(name: &str) -> io::Result<u64> {
    let m = std::fs::read_to_string("/proc/meminfo")?;
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {name} line in /proc/meminfo")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_line_and_refuses_a_missing_one() {
        assert!(super::kb("MemTotal").is_ok_and(|kb| kb > 0));
        // A prefix of a real line is not that line.
        assert!(super::kb("MemTot").is_err());
        assert!(super::kb("NoSuchLine").is_err());
    }
}
