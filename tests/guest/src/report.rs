// SPDX-License-Identifier: GPL-2.0
//! Check reporting shared by the guest test programs: one `PASS|FAIL|SKIP <check> <detail>`
//! line per check, counted for the closing summary line.

use std::io;

use rustix::io::Errno;

use crate::expect;

/// Counts and prints check outcomes, one line each.
#[derive(Default)]
pub struct Report {
    /// Checks passed.
    pub passed: u32,
    /// Checks failed.
    pub failed: u32,
    /// Checks skipped.
    pub skipped: u32,
}

impl Report {
    pub fn line(status: &str, name: &str, detail: &str) {
        // One line per check: the guest script forwards it word by word.
        let detail = detail.replace(['\n', '\r'], " ");
        println!("{status} {name} {detail}");
    }

    pub fn pass(&mut self, name: &str, detail: impl AsRef<str>) {
        self.passed += 1;
        Self::line("PASS", name, detail.as_ref());
    }

    pub fn fail(&mut self, name: &str, detail: impl AsRef<str>) {
        self.failed += 1;
        Self::line("FAIL", name, detail.as_ref());
    }

    pub fn skip(&mut self, name: &str, reason: impl AsRef<str>) {
        self.skipped += 1;
        Self::line("SKIP", name, reason.as_ref());
    }

    pub fn check(&mut self, name: &str, ok: bool, detail: impl AsRef<str>) {
        if ok {
            self.pass(name, detail)
        } else {
            self.fail(name, detail)
        }
    }

    /// An operation that must fail with the C driver's errno for `name` (expect::C_ERRNO).
    pub fn errno<T>(&mut self, name: &str, what: &str, r: io::Result<T>) {
        let Some(want) = expect::c_errno(name) else {
            self.fail(
                name,
                format!("{what}: no C-driver expectation for this check"),
            );
            return;
        };
        let want_s = expect::errno_name(want);
        match r {
            Ok(_) => self.fail(name, format!("{what} succeeded; C driver: {want_s}")),
            Err(e) => match Errno::from_io_error(&e) {
                Some(got) if got == want => {
                    self.pass(name, format!("{what} -> {want_s} (as the C driver)"))
                }
                Some(got) => self.fail(
                    name,
                    format!("{what} -> {}; C driver: {want_s}", expect::errno_name(got)),
                ),
                None => self.fail(name, format!("{what} -> {e}; C driver: {want_s}")),
            },
        }
    }

    /// An operation that must succeed; returns its value, reporting a failure otherwise.
    pub fn ok<T>(&mut self, name: &str, what: &str, r: io::Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(name, format!("{what}: {}", err_name(&e)));
                None
            }
        }
    }
}

/// "EINVAL" for an OS error, the error's text otherwise.
pub fn err_name(e: &io::Error) -> String {
    match Errno::from_io_error(e) {
        Some(n) => expect::errno_name(n),
        None => e.to_string(),
    }
}
