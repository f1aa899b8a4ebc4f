// SPDX-License-Identifier: GPL-2.0

//! Unified diffs: `git diff`/`git format-patch` output (mbox, several patches, renames, new and
//! deleted files, binary files) and plain `diff -u` output.

use std::collections::{BTreeMap, BTreeSet};

/// One patch: a mail of a series, a commit, or a whole diff.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    pub subject: Option<String>,
    pub commit: Option<String>,
    pub files: Vec<FileDiff>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Added,
    Deleted,
    Modified,
    Renamed,
    Copied,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Added => "new file",
            Status::Deleted => "deleted file",
            Status::Modified => "modified",
            Status::Renamed => "renamed",
            Status::Copied => "copied",
        }
    }
}

#[derive(Clone, Debug)]
pub struct FileDiff {
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub status: Status,
    pub similarity: Option<u32>,
    pub old_blob: Option<String>,
    pub new_blob: Option<String>,
    pub binary: bool,
    pub hunks: Vec<Hunk>,
}

#[derive(Clone, Debug)]
pub struct Hunk {
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    /// `(' ' | '+' | '-', text)`.
    pub lines: Vec<(char, String)>,
}

impl FileDiff {
    fn new() -> Self {
        FileDiff {
            old_path: None,
            new_path: None,
            status: Status::Modified,
            similarity: None,
            old_blob: None,
            new_blob: None,
            binary: false,
            hunks: Vec::new(),
        }
    }

    /// The path to report: the new one, or the old one for a deleted file.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("?")
    }

    /// Line numbers (new file) of added lines.
    pub fn added(&self) -> BTreeSet<usize> {
        let mut s = BTreeSet::new();
        for h in &self.hunks {
            let mut n = h.new_start;
            for (tag, _) in &h.lines {
                match tag {
                    '+' => {
                        s.insert(n);
                        n += 1;
                    }
                    ' ' => n += 1,
                    _ => {}
                }
            }
        }
        s
    }

    /// Line numbers (old file) of removed lines.
    pub fn removed(&self) -> BTreeSet<usize> {
        let mut s = BTreeSet::new();
        for h in &self.hunks {
            let mut o = h.old_start;
            for (tag, _) in &h.lines {
                match tag {
                    '-' => {
                        s.insert(o);
                        o += 1;
                    }
                    ' ' => o += 1,
                    _ => {}
                }
            }
        }
        s
    }

    /// Removed lines (old number, text), keyed by the new line they precede.
    pub fn removed_before(&self) -> BTreeMap<usize, Vec<(usize, String)>> {
        let mut m: BTreeMap<usize, Vec<(usize, String)>> = BTreeMap::new();
        for h in &self.hunks {
            let (mut o, mut n) = (h.old_start, h.new_start);
            for (tag, text) in &h.lines {
                match tag {
                    '-' => {
                        m.entry(n).or_default().push((o, text.clone()));
                        o += 1;
                    }
                    '+' => n += 1,
                    _ => {
                        o += 1;
                        n += 1;
                    }
                }
            }
        }
        m
    }

    /// The new line number of unchanged old line `old`, if it is unchanged.
    pub fn map_old_to_new(&self, old: usize) -> Option<usize> {
        let mut delta: isize = 0;
        for h in &self.hunks {
            let hs = if h.old_len == 0 {
                h.old_start + 1
            } else {
                h.old_start
            };
            if old < hs {
                break;
            }
            let (mut o, mut n) = (h.old_start, h.new_start);
            let mut inside = false;
            for (tag, _) in &h.lines {
                match tag {
                    '-' => {
                        if o == old {
                            return None;
                        }
                        o += 1;
                    }
                    '+' => n += 1,
                    _ => {
                        if o == old {
                            return Some(n);
                        }
                        o += 1;
                        n += 1;
                    }
                }
                inside = true;
            }
            let _ = inside;
            delta = n as isize - o as isize;
            if old < o {
                return None;
            }
        }
        usize::try_from(old as isize + delta).ok()
    }

    /// Applies the hunks to `old`, allowing each hunk to have moved by a few lines.
    pub fn apply(&self, old: &str) -> Option<String> {
        apply_hunks(old, &self.hunks, false)
    }

    /// Undoes the hunks on `new`.
    pub fn unapply(&self, new: &str) -> Option<String> {
        apply_hunks(new, &self.hunks, true)
    }

    /// The old and new texts as far as the hunks show them; other lines are empty, so line
    /// numbers are right.
    pub fn partial_texts(&self) -> (String, String) {
        let mut old: Vec<String> = Vec::new();
        let mut new: Vec<String> = Vec::new();
        let put = |v: &mut Vec<String>, n: usize, t: &str| {
            if n == 0 {
                return;
            }
            if v.len() < n {
                v.resize(n, String::new());
            }
            v[n - 1] = t.to_string();
        };
        for h in &self.hunks {
            let (mut o, mut n) = (h.old_start, h.new_start);
            for (tag, t) in &h.lines {
                match tag {
                    '-' => {
                        put(&mut old, o, t);
                        o += 1;
                    }
                    '+' => {
                        put(&mut new, n, t);
                        n += 1;
                    }
                    _ => {
                        put(&mut old, o, t);
                        put(&mut new, n, t);
                        o += 1;
                        n += 1;
                    }
                }
            }
        }
        (join_lines(&old), join_lines(&new))
    }
}

fn join_lines(v: &[String]) -> String {
    let mut s = v.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

fn apply_hunks(text: &str, hunks: &[Hunk], reverse: bool) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let ends_nl = text.ends_with('\n') || text.is_empty();
    let mut out: Vec<String> = Vec::new();
    let mut pos = 0usize; // next unread line of `lines`
    for h in hunks {
        let (from_tag, to_tag) = if reverse { ('+', '-') } else { ('-', '+') };
        let want: Vec<&str> = h
            .lines
            .iter()
            .filter(|(t, _)| *t == ' ' || *t == from_tag)
            .map(|(_, s)| s.as_str())
            .collect();
        let start = if reverse { h.new_start } else { h.old_start };
        let len = want.len();
        let nominal = if len == 0 {
            start
        } else {
            start.saturating_sub(1)
        };
        let matches = |at: usize| {
            at + len <= lines.len()
                && want
                    .iter()
                    .enumerate()
                    .all(|(k, w)| lines[at + k].trim_end() == w.trim_end())
        };
        let found = (0..=300usize)
            .flat_map(|d| [nominal.checked_add(d), nominal.checked_sub(d)])
            .flatten()
            .find(|&at| at >= pos && matches(at))?;
        out.extend(lines[pos..found].iter().map(|s| s.to_string()));
        for (t, s) in &h.lines {
            if *t == ' ' || *t == to_tag {
                out.push(s.clone());
            }
        }
        pos = found + len;
    }
    out.extend(lines[pos.min(lines.len())..].iter().map(|s| s.to_string()));
    let mut s = out.join("\n");
    if ends_nl && !s.is_empty() {
        s.push('\n');
    }
    Some(s)
}

/// Removes git's `a/`/`b/` prefix, the tab and timestamp of plain diffs, and quoting.
fn clean_path(p: &str, prefix: &str, strip: bool) -> Option<String> {
    let p = p.split('\t').next().unwrap_or(p).trim_end();
    let p = unquote(p);
    if p == "/dev/null" {
        return None;
    }
    if strip {
        if let Some(r) = p.strip_prefix(prefix) {
            return Some(r.to_string());
        }
    }
    Some(p)
}

fn unquote(p: &str) -> String {
    let Some(inner) = p.strip_prefix('"').and_then(|x| x.strip_suffix('"')) else {
        return p.to_string();
    };
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(x) => out.push(x),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    let mut it = s.splitn(2, ',');
    let a = it.next()?.parse().ok()?;
    let b = match it.next() {
        Some(x) => x.parse().ok()?,
        None => 1,
    };
    Some((a, b))
}

/// `@@ -a,b +c,d @@`
fn parse_hunk_header(l: &str) -> Option<Hunk> {
    let rest = l.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    let (old_start, old_len) = parse_range(old)?;
    let (new_start, new_len) = parse_range(new)?;
    Some(Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        lines: Vec::new(),
    })
}

fn is_mbox_from(l: &str) -> bool {
    l.strip_prefix("From ").is_some_and(|r| {
        let id = r.split(' ').next().unwrap_or("");
        id.len() >= 7 && id.chars().all(|c| c.is_ascii_hexdigit()) && r.contains(':')
    })
}

/// `commit <sha>` of `git log -p` / `git show`.
fn is_commit_line(l: &str) -> bool {
    l.strip_prefix("commit ").is_some_and(|r| {
        let id = r.split(' ').next().unwrap_or("");
        id.len() >= 40 && id.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// Parses diff text into patches. Anything that is not diff (mail headers, commit messages,
/// diffstats, signatures) is skipped; an error says what did not make sense.
pub fn parse(text: &str) -> Result<Vec<Patch>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut patches: Vec<Patch> = Vec::new();
    let mut cur = Patch::default();
    let mut file: Option<FileDiff> = None;
    let mut git_header = false;
    let mut in_headers = false;
    let mut want_subject_line = false;
    let mut i = 0;
    let finish_file = |cur: &mut Patch, file: &mut Option<FileDiff>| {
        if let Some(f) = file.take() {
            cur.files.push(f);
        }
    };
    while i < lines.len() {
        let l = lines[i];
        if is_mbox_from(l) || is_commit_line(l) {
            finish_file(&mut cur, &mut file);
            if !cur.files.is_empty() || cur.subject.is_some() {
                patches.push(std::mem::take(&mut cur));
            }
            let id = l.split(' ').nth(1).unwrap_or("").to_string();
            cur.commit = Some(id);
            in_headers = is_mbox_from(l);
            want_subject_line = !in_headers;
            i += 1;
            continue;
        }
        if in_headers {
            if l.is_empty() {
                in_headers = false;
            } else if let Some(s) = l.strip_prefix("Subject: ") {
                let mut subj = s.to_string();
                while i + 1 < lines.len() && lines[i + 1].starts_with([' ', '\t']) {
                    i += 1;
                    subj.push_str(lines[i].trim_end());
                }
                cur.subject = Some(subj);
            }
            i += 1;
            continue;
        }
        if want_subject_line && file.is_none() {
            if let Some(s) = l.strip_prefix("    ") {
                if !s.trim().is_empty() {
                    cur.subject = Some(s.trim().to_string());
                    want_subject_line = false;
                }
            }
        }
        if let Some(rest) = l.strip_prefix("diff --git ") {
            finish_file(&mut cur, &mut file);
            let mut f = FileDiff::new();
            // `a/X b/Y`: exact when both are the same path; renames refine it below.
            let (a, b) = match rest.find(" b/") {
                Some(p) => (&rest[..p], &rest[p + 1..]),
                None => match rest.split_once(' ') {
                    Some((a, b)) => (a, b),
                    None => (rest, rest),
                },
            };
            f.old_path = clean_path(a, "a/", true);
            f.new_path = clean_path(b, "b/", true);
            file = Some(f);
            git_header = true;
            i += 1;
            continue;
        }
        if let Some(f) = file.as_mut().filter(|_| git_header) {
            let mut header = true;
            if l.starts_with("new file mode") {
                f.status = Status::Added;
                f.old_path = None;
            } else if l.starts_with("deleted file mode") {
                f.status = Status::Deleted;
                f.new_path = None;
            } else if let Some(p) = l.strip_prefix("rename from ") {
                f.status = Status::Renamed;
                f.old_path = Some(unquote(p));
            } else if let Some(p) = l.strip_prefix("rename to ") {
                f.status = Status::Renamed;
                f.new_path = Some(unquote(p));
            } else if let Some(p) = l.strip_prefix("copy from ") {
                f.status = Status::Copied;
                f.old_path = Some(unquote(p));
            } else if let Some(p) = l.strip_prefix("copy to ") {
                f.status = Status::Copied;
                f.new_path = Some(unquote(p));
            } else if let Some(p) = l
                .strip_prefix("similarity index ")
                .or_else(|| l.strip_prefix("dissimilarity index "))
            {
                f.similarity = p.trim_end_matches('%').parse().ok();
            } else if let Some(p) = l.strip_prefix("index ") {
                let ids = p.split(' ').next().unwrap_or("");
                if let Some((a, b)) = ids.split_once("..") {
                    let zero = |s: &str| s.chars().all(|c| c == '0');
                    f.old_blob = (!zero(a)).then(|| a.to_string());
                    f.new_blob = (!zero(b)).then(|| b.to_string());
                }
            } else if l.starts_with("old mode") || l.starts_with("new mode") {
            } else if l.starts_with("Binary files") || l.starts_with("GIT binary patch") {
                f.binary = true;
                if l.starts_with("GIT binary patch") {
                    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
                        i += 1;
                    }
                }
            } else {
                header = false;
            }
            if header {
                i += 1;
                continue;
            }
        }
        // ---/+++ pair: starts a plain diff's file, or ends a git header.
        if l.starts_with("--- ") && i + 1 < lines.len() && lines[i + 1].starts_with("+++ ") {
            let a = &l[4..];
            let b = &lines[i + 1][4..];
            if git_header {
                if let Some(f) = file.as_mut() {
                    if f.status != Status::Added {
                        f.old_path = clean_path(a, "a/", true).or(f.old_path.take());
                    }
                    if f.status != Status::Deleted {
                        f.new_path = clean_path(b, "b/", true).or(f.new_path.take());
                    }
                    if a.trim() == "/dev/null" {
                        f.status = Status::Added;
                        f.old_path = None;
                    }
                    if b.trim() == "/dev/null" {
                        f.status = Status::Deleted;
                        f.new_path = None;
                    }
                }
                git_header = false;
            } else {
                finish_file(&mut cur, &mut file);
                let strip = a.starts_with("a/") && b.starts_with("b/");
                let mut f = FileDiff::new();
                f.old_path = clean_path(a, "a/", strip);
                f.new_path = clean_path(b, "b/", strip);
                if f.old_path.is_none() {
                    f.status = Status::Added;
                }
                if f.new_path.is_none() {
                    f.status = Status::Deleted;
                }
                file = Some(f);
            }
            i += 2;
            continue;
        }
        if l.starts_with("@@ -") {
            let Some(f) = file.as_mut() else {
                return Err(format!("line {}: hunk outside of a file diff", i + 1));
            };
            git_header = false;
            let mut h = parse_hunk_header(l)
                .ok_or_else(|| format!("line {}: bad hunk header: {l}", i + 1))?;
            let (mut o, mut n) = (h.old_len, h.new_len);
            i += 1;
            while (o > 0 || n > 0) && i < lines.len() {
                let l = lines[i];
                let (tag, rest) = match l.chars().next() {
                    Some(c @ (' ' | '+' | '-')) => (c, &l[1..]),
                    Some('\\') => {
                        i += 1;
                        continue;
                    }
                    // An empty line: a context line whose space was eaten by a mailer.
                    None => (' ', ""),
                    Some(_) => {
                        return Err(format!(
                            "line {}: hunk of {} ends early (expected {} more old and {} more new lines)",
                            i + 1,
                            f.path(),
                            o,
                            n
                        ))
                    }
                };
                match tag {
                    ' ' => {
                        o = o.saturating_sub(1);
                        n = n.saturating_sub(1);
                    }
                    '-' => o = o.saturating_sub(1),
                    _ => n = n.saturating_sub(1),
                }
                h.lines.push((tag, rest.to_string()));
                i += 1;
            }
            if i < lines.len() && lines[i].starts_with('\\') {
                i += 1;
            }
            f.hunks.push(h);
            continue;
        }
        i += 1;
    }
    finish_file(&mut cur, &mut file);
    if !cur.files.is_empty() || cur.subject.is_some() {
        patches.push(cur);
    }
    if patches.iter().all(|p| p.files.is_empty()) {
        return Err("no diff found in the input".to_string());
    }
    Ok(patches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENAME: &str = "diff --git a/x/a.rs b/y/b.rs\nsimilarity index 90%\nrename from x/a.rs\n\
        rename to y/b.rs\nindex 1111111..2222222 100644\n--- a/x/a.rs\n+++ b/y/b.rs\n\
        @@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n";

    #[test]
    fn rename() {
        let p = parse(RENAME).expect("parses");
        let f = &p[0].files[0];
        assert_eq!(f.status, Status::Renamed);
        assert_eq!(f.old_path.as_deref(), Some("x/a.rs"));
        assert_eq!(f.new_path.as_deref(), Some("y/b.rs"));
        assert_eq!(f.added().into_iter().collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(f.removed().into_iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(f.map_old_to_new(3), Some(4));
        assert_eq!(f.map_old_to_new(2), None);
        assert_eq!(f.map_old_to_new(10), Some(11));
        assert_eq!(f.apply("a\nb\nc\nd\n").as_deref(), Some("a\nB\nC\nc\nd\n"));
        assert_eq!(
            f.unapply("a\nB\nC\nc\nd\n").as_deref(),
            Some("a\nb\nc\nd\n")
        );
    }

    #[test]
    fn mbox_and_plain() {
        let mbox = "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n\
            From: A <a@b>\nSubject: [PATCH 1/2] x: do\n a thing\n\nbody\n---\n a | 1 +\n\n\
            diff --git a/a b/a\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/a\n\
            @@ -0,0 +1 @@\n+x\n-- \n2.39.0\n\n\
            From 1123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n\
            Subject: [PATCH 2/2] y\n\n---\n--- a.orig\t2024-01-01\n+++ a\t2024-01-01\n@@ -1 +0,0 @@\n-x\n";
        let p = parse(mbox).expect("parses");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].subject.as_deref(), Some("[PATCH 1/2] x: do a thing"));
        assert_eq!(p[0].files[0].status, Status::Added);
        assert_eq!(p[1].files[0].status, Status::Modified);
        assert_eq!(p[1].files[0].new_path.as_deref(), Some("a"));
    }
}
