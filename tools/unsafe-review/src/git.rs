// SPDX-License-Identifier: GPL-2.0

//! Running `git` (no libgit2: the user's git, with the user's configuration neutralised where
//! it changes diff output).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A repository (its top-level directory).
#[derive(Clone, Debug)]
pub struct Git {
    pub top: PathBuf,
}

impl Git {
    /// The repository containing `dir`, if any and if git runs.
    pub fn discover(dir: &Path) -> Option<Git> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let top = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!top.is_empty()).then(|| Git {
            top: PathBuf::from(top),
        })
    }

    /// Runs git with `args`; stdout, or an error with git's message.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(["-c", "core.quotepath=off", "-c", "diff.noprefix=false"])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "git {}: {}",
                args.join(" "),
                err.lines().next().unwrap_or("failed")
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The contents of a blob (`sha` or `rev:path`), if it exists.
    pub fn blob(&self, spec: &str) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(["cat-file", "blob", spec])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The contents of many objects at once (`git cat-file --batch`).
    pub fn blobs(&self, specs: &[String]) -> Result<Vec<Option<String>>, String> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run git: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
        let input: String = specs.iter().map(|s| format!("{s}\n")).collect();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut raw = Vec::new();
        child
            .stdout
            .take()
            .ok_or("git cat-file: no stdout")?
            .read_to_end(&mut raw)
            .map_err(|e| format!("git cat-file: {e}"))?;
        let _ = writer.join();
        let _ = child.wait();
        let mut out = Vec::new();
        let mut pos = 0;
        for _ in specs {
            let nl = raw[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("git cat-file: truncated output")?;
            let header = String::from_utf8_lossy(&raw[pos..pos + nl]).into_owned();
            pos += nl + 1;
            let size = header
                .split(' ')
                .nth(2)
                .filter(|_| !header.ends_with(" missing") && !header.ends_with(" ambiguous"))
                .and_then(|s| s.parse::<usize>().ok());
            match size {
                Some(n) if pos + n <= raw.len() => {
                    out.push(Some(
                        String::from_utf8_lossy(&raw[pos..pos + n]).into_owned(),
                    ));
                    pos += n + 1;
                }
                _ => out.push(None),
            }
        }
        Ok(out)
    }

    /// Lines of `git <args>` output, empty ones dropped.
    pub fn lines(&self, args: &[&str]) -> Result<Vec<String>, String> {
        Ok(self
            .run(args)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }
}
