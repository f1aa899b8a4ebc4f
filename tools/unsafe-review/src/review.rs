// SPDX-License-Identifier: GPL-2.0

//! Patch mode: which unsafe sites a patch adds, changes, removes or makes worth re-checking.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::diff::{FileDiff, Patch, Status as FileStatus};
use crate::git::Git;
use crate::index::Index;
use crate::scan::{scan_file, DocItem, Scanned, Site, SiteKind, Verdict};

/// What a patch does to a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Added,
    Changed,
    Removed,
    /// Unchanged, in a renamed file.
    Moved,
    /// Unchanged, but a `# Safety` or `# Invariants` it relies on was edited.
    Recheck,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
            Change::Moved => "moved",
            Change::Recheck => "re-check",
        }
    }
}

/// The `# Invariants` of a type a justification relies on.
#[derive(Clone, Debug)]
pub struct InvRef {
    pub ty: String,
    pub file: String,
    pub line: usize,
    pub text: Vec<String>,
    pub edited: bool,
}

/// One site in the report.
#[derive(Clone, Debug)]
pub struct SiteReport {
    pub file: String,
    pub old_file: Option<String>,
    pub layer: String,
    pub change: Change,
    pub site: Site,
    /// The justification was not touched although the code it covers was.
    pub stale: bool,
    pub comment_edited: bool,
    /// Code lines: (line, `+`/`-`/` `/`~`, text).
    pub code: Vec<(usize, char, String)>,
    pub invariants: Vec<InvRef>,
    /// Why a site needs re-checking.
    pub reasons: Vec<String>,
    /// Callees whose `# Safety` this patch edits.
    pub edited_callees: Vec<String>,
}

impl SiteReport {
    /// Counts towards the exit status: added or changed and not justified.
    pub fn lacking(&self) -> bool {
        matches!(self.change, Change::Added | Change::Changed) && self.site.justification.lacking()
    }
}

/// An edited `# Safety` or `# Invariants` section.
#[derive(Clone, Debug)]
pub struct DocEdit {
    pub file: String,
    pub line: usize,
    pub layer: String,
    pub item: DocItem,
    pub section: String,
    pub old: Option<Vec<String>>,
    pub new: Option<Vec<String>>,
    /// Sites that rely on it: (file, line).
    pub users: Vec<(String, usize)>,
}

/// A file of the patch.
#[derive(Clone, Debug)]
pub struct FileNote {
    pub file: String,
    pub old_file: Option<String>,
    pub status: &'static str,
    /// Where the full texts came from.
    pub texts: String,
    pub parse_error: Option<String>,
    pub rust: bool,
}

#[derive(Clone, Debug)]
pub struct PatchReport {
    pub subject: Option<String>,
    pub commit: Option<String>,
    pub files: Vec<FileNote>,
    pub sites: Vec<SiteReport>,
    pub doc_edits: Vec<DocEdit>,
}

/// Layer of a path: the folder below the driver directory (`glue`, `drm`, `virtio`, `gpu`),
/// `root` for the driver's top-level files, else the path's first folder.
pub fn layer_of(path: &str, driver_dir: &str) -> String {
    let d = driver_dir.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix(d).and_then(|r| r.strip_prefix('/')) {
        return match rest.split_once('/') {
            Some((l, _)) => l.to_string(),
            None => "root".to_string(),
        };
    }
    match path.split_once('/') {
        Some((l, _)) => l.to_string(),
        None => "-".to_string(),
    }
}

/// Where file texts come from.
pub struct World {
    pub git: Option<Git>,
    pub base: Option<PathBuf>,
    pub hunks_only: bool,
    /// Texts after the earlier patches of a series.
    pub chain: HashMap<String, String>,
}

/// The texts of one file diff.
pub struct Texts {
    pub old: Option<String>,
    pub new: Option<String>,
    pub how: String,
    pub partial: bool,
}

impl World {
    fn read(&self, root: &Path, rel: &str) -> Option<String> {
        std::fs::read(root.join(rel))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The old and new text of a file diff, as complete as can be had.
    pub fn texts(&mut self, fd: &FileDiff) -> Texts {
        let t = self.texts_inner(fd);
        if let Some(n) = &fd.new_path {
            if let Some(new) = &t.new {
                self.chain.insert(n.clone(), new.clone());
            }
        }
        if let Some(o) = &fd.old_path {
            if fd.status == FileStatus::Deleted || fd.status == FileStatus::Renamed {
                self.chain.remove(o);
            }
        }
        t
    }

    fn texts_inner(&self, fd: &FileDiff) -> Texts {
        let (pold, pnew) = fd.partial_texts();
        let whole = |how: &str| Texts {
            old: fd.old_path.as_ref().map(|_| pold.clone()),
            new: fd.new_path.as_ref().map(|_| pnew.clone()),
            how: how.to_string(),
            partial: false,
        };
        if fd.status == FileStatus::Added && fd.hunks.len() <= 1 {
            return whole("patch (new file)");
        }
        if fd.status == FileStatus::Deleted && fd.hunks.len() <= 1 {
            return whole("patch (deleted file)");
        }
        if !self.hunks_only {
            let mut old: Option<(String, &str)> = None;
            if let Some(op) = &fd.old_path {
                if let Some(t) = self.chain.get(op) {
                    old = Some((t.clone(), "earlier patch of the series"));
                } else if let Some(b) = &self.base {
                    old = self.read(b, op).map(|t| (t, "base directory"));
                } else if let (Some(g), Some(sha)) = (&self.git, &fd.old_blob) {
                    old = g.blob(sha).map(|t| (t, "git objects"));
                }
            }
            if let Some((o, how)) = old {
                let new = if fd.new_path.is_none() {
                    None
                } else if fd.hunks.is_empty() {
                    Some(o.clone())
                } else {
                    let from_git = match (&self.git, &fd.new_blob, &self.base) {
                        (Some(g), Some(sha), None) => g.blob(sha),
                        _ => None,
                    };
                    match from_git.or_else(|| fd.apply(&o)) {
                        Some(n) => Some(n),
                        None => {
                            return Texts {
                                old: fd.old_path.as_ref().map(|_| pold.clone()),
                                new: fd.new_path.as_ref().map(|_| pnew.clone()),
                                how: format!("hunks only (the patch does not apply to the {how})"),
                                partial: true,
                            }
                        }
                    }
                };
                return Texts {
                    old: Some(o),
                    new,
                    how: how.to_string(),
                    partial: false,
                };
            }
            if self.base.is_none() {
                if let Some(g) = &self.git {
                    if let Some(np) = &fd.new_path {
                        if let Some(w) = self.read(&g.top, np) {
                            if let Some(o) = fd.unapply(&w) {
                                return Texts {
                                    old: fd.old_path.as_ref().map(|_| o),
                                    new: Some(w),
                                    how: "work tree (patch applied)".to_string(),
                                    partial: false,
                                };
                            }
                        }
                    }
                    if let Some(op) = &fd.old_path {
                        if let Some(w) = self.read(&g.top, op) {
                            if let Some(n) = fd.apply(&w) {
                                return Texts {
                                    old: Some(w),
                                    new: fd.new_path.as_ref().map(|_| n),
                                    how: "work tree (patch not applied)".to_string(),
                                    partial: false,
                                };
                            }
                        }
                    }
                }
            }
        }
        if fd.status == FileStatus::Added || fd.status == FileStatus::Deleted {
            return whole("patch");
        }
        Texts {
            old: fd.old_path.as_ref().map(|_| pold),
            new: fd.new_path.as_ref().map(|_| pnew),
            how: "hunks only".to_string(),
            partial: true,
        }
    }
}

fn any_in(set: &BTreeSet<usize>, a: usize, b: usize) -> bool {
    a <= b && set.range(a..=b).next().is_some()
}

/// Index of the hunk whose old (or new) range holds `line`.
fn hunk_of(fd: &FileDiff, line: usize, old: bool) -> Option<usize> {
    fd.hunks.iter().position(|h| {
        let (s, l) = if old {
            (h.old_start, h.old_len)
        } else {
            (h.new_start, h.new_len)
        };
        line >= s && line < s + l.max(1)
    })
}

const MAX_CODE: usize = 14;

fn code_view(
    text: &str,
    a: usize,
    b: usize,
    mark: &BTreeSet<usize>,
    tag: char,
    removed_before: Option<&std::collections::BTreeMap<usize, Vec<(usize, String)>>>,
    first_too: bool,
) -> Vec<(usize, char, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for n in a..=b {
        if let Some(rb) = removed_before.and_then(|m| m.get(&n)) {
            if n > a || first_too {
                for (o, t) in rb {
                    out.push((*o, '-', t.clone()));
                }
            }
        }
        let Some(l) = lines.get(n.wrapping_sub(1)) else {
            break;
        };
        out.push((n, if mark.contains(&n) { tag } else { ' ' }, l.to_string()));
    }
    if out.len() > MAX_CODE {
        let skipped = out.len() - 13;
        let tail = out.split_off(out.len() - 3);
        out.truncate(10);
        out.push((0, '~', format!("... {skipped} more lines")));
        out.extend(tail);
    }
    out
}

/// The `# Invariants` a site's justification relies on.
pub fn invariants_for(site: &Site, index: &Index) -> Vec<InvRef> {
    let mut names: Vec<String> = Vec::new();
    let relies = site.relies_on_invariant() || site.kind == SiteKind::Impl;
    if !relies {
        return Vec::new();
    }
    if let Some(t) = &site.impl_ty {
        names.push(t.clone());
    }
    if site.relies_on_invariant() {
        for n in site.mentioned_names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
        .iter()
        .filter_map(|n| index.type_with(n, true))
        .filter_map(|t| {
            t.invariants.as_ref().map(|s| InvRef {
                ty: t.name.clone(),
                file: t.file.clone(),
                line: s.line,
                text: s.text.clone(),
                edited: false,
            })
        })
        .collect()
}

/// Reviews one patch, given the texts of its files (in the order of `patch.files`); `repo` are
/// the path, text and scan of every source file of the tree after the patch.
pub fn review_patch(
    patch: &Patch,
    all_texts: &[Texts],
    driver_dir: &str,
    index: &Index,
    repo: &[(String, String, Scanned)],
) -> PatchReport {
    let mut files = Vec::new();
    let mut sites: Vec<SiteReport> = Vec::new();
    let mut doc_edits: Vec<DocEdit> = Vec::new();
    for (fd, t) in patch.files.iter().zip(all_texts) {
        let path = fd.path().to_string();
        // Test data of tools (this one's fixtures hold unjustified unsafe code on purpose).
        let fixture = |p: &str| p.starts_with("tests/fixtures/") || p.contains("/tests/fixtures/");
        let rust = path.ends_with(".rs") && !fixture(&path);
        let old_file = (fd.old_path.is_some() && fd.old_path != fd.new_path)
            .then(|| fd.old_path.clone())
            .flatten();
        if !rust || fd.binary {
            files.push(FileNote {
                file: path,
                old_file,
                status: fd.status.label(),
                texts: String::new(),
                parse_error: None,
                rust: false,
            });
            continue;
        }
        let old_scan = t.old.as_deref().map(|x| scan_file(x, index));
        let new_scan = t.new.as_deref().map(|x| scan_file(x, index));
        let parse_error = new_scan
            .as_ref()
            .and_then(|s| s.parse_error.clone())
            .or_else(|| old_scan.as_ref().and_then(|s| s.parse_error.clone()));
        files.push(FileNote {
            file: path.clone(),
            old_file: old_file.clone(),
            status: fd.status.label(),
            texts: t.how.clone(),
            parse_error,
            rust: true,
        });
        let added = fd.added();
        let removed = fd.removed();
        let rb = fd.removed_before();
        let layer = layer_of(&path, driver_dir);
        let old_layer = fd.old_path.as_deref().map(|p| layer_of(p, driver_dir));
        let old_sites: Vec<Site> = old_scan.map(|s| s.sites).unwrap_or_default();
        let new_sites: Vec<Site> = new_scan
            .as_ref()
            .map(|s| s.sites.clone())
            .unwrap_or_default();
        let mut used = vec![false; old_sites.len()];
        let renamed = old_file.is_some();
        for n in &new_sites {
            let kw_added = added.contains(&n.line);
            let start = n.stmt_line.min(n.line);
            let code_new = any_in(&added, start, n.head_end);
            let comment_new = n
                .justification
                .lines
                .is_some_and(|(a, b)| any_in(&added, a, b));
            let paired = if !kw_added {
                old_sites.iter().enumerate().position(|(k, o)| {
                    !used[k] && o.kind == n.kind && fd.map_old_to_new(o.line) == Some(n.line)
                })
            } else {
                let hn = hunk_of(fd, n.line, false);
                old_sites.iter().enumerate().position(|(k, o)| {
                    !used[k]
                        && o.kind == n.kind
                        && removed.contains(&o.line)
                        && hunk_of(fd, o.line, true) == hn
                        && o.within == n.within
                        && (o.kind == SiteKind::Block || o.item_name == n.item_name)
                })
            };
            let (change, stale, comment_edited) = match paired {
                Some(k) => {
                    used[k] = true;
                    let o = &old_sites[k];
                    let ostart = o.stmt_line.min(o.line);
                    let code = code_new || any_in(&removed, ostart, o.head_end);
                    let comment = comment_new
                        || o.justification.text != n.justification.text
                        || o.justification
                            .lines
                            .is_some_and(|(a, b)| any_in(&removed, a, b));
                    if code || comment {
                        let stale = code && !comment && n.justification.verdict == Verdict::Ok;
                        (Some(Change::Changed), stale, comment)
                    } else if renamed {
                        (Some(Change::Moved), false, false)
                    } else {
                        (None, false, false)
                    }
                }
                None if kw_added => {
                    let stale = n.justification.lines.is_some()
                        && !comment_new
                        && n.justification.verdict == Verdict::Ok
                        && fd.status != FileStatus::Added;
                    (Some(Change::Added), stale, comment_new)
                }
                None if code_new || comment_new => {
                    let stale = code_new && !comment_new && n.justification.verdict == Verdict::Ok;
                    (Some(Change::Changed), stale, comment_new)
                }
                None if renamed => (Some(Change::Moved), false, false),
                None => (None, false, false),
            };
            let Some(change) = change else { continue };
            let (mut a, b) = match n.kind {
                SiteKind::Block => (n.stmt_line.min(n.line), n.end_line),
                _ => (n.line, n.head_end),
            };
            // A changed site: the whole diff, its justification included.
            if change == Change::Changed {
                if let Some((ja, _)) = n.justification.lines {
                    a = a.min(ja);
                }
            }
            let code = code_view(
                t.new.as_deref().unwrap_or(""),
                a,
                b,
                &added,
                '+',
                Some(&rb),
                change == Change::Changed,
            );
            let mut reasons = Vec::new();
            if change == Change::Moved {
                if let Some(ol) = old_layer.as_ref().filter(|l| **l != layer) {
                    reasons.push(format!("moves from layer {ol} to layer {layer}"));
                }
            }
            let allowed = ["glue", "drm", "virtio"];
            let in_driver = path.starts_with(&format!("{}/", driver_dir.trim_end_matches('/')));
            if in_driver
                && !allowed.contains(&layer.as_str())
                && n.origin != crate::scan::Origin::DocTest
            {
                reasons.push(format!(
                    "policy: unsafe code is not allowed in layer {layer} (only in glue/, drm/, virtio/)"
                ));
            }
            if t.partial && paired.is_none() && change == Change::Changed {
                reasons.push("only the hunks of the patch were available".to_string());
            }
            sites.push(SiteReport {
                file: path.clone(),
                old_file: old_file.clone(),
                layer: layer.clone(),
                change,
                site: n.clone(),
                stale,
                comment_edited,
                code,
                invariants: invariants_for(n, index),
                reasons,
                edited_callees: Vec::new(),
            });
        }
        for (k, o) in old_sites.iter().enumerate() {
            if used[k] {
                continue;
            }
            let gone = fd.status == FileStatus::Deleted
                || removed.contains(&o.line)
                || any_in(&removed, o.line, o.head_end);
            if !gone {
                continue;
            }
            let (a, b) = match o.kind {
                SiteKind::Block => (o.stmt_line.min(o.line), o.end_line),
                _ => (o.line, o.head_end),
            };
            let code = code_view(
                t.old.as_deref().unwrap_or(""),
                a,
                b,
                &removed,
                '-',
                None,
                false,
            );
            sites.push(SiteReport {
                file: fd.old_path.clone().unwrap_or_else(|| path.clone()),
                old_file: None,
                layer: old_layer.clone().unwrap_or_else(|| layer.clone()),
                change: Change::Removed,
                site: o.clone(),
                stale: false,
                comment_edited: false,
                code,
                invariants: Vec::new(),
                reasons: Vec::new(),
                edited_callees: Vec::new(),
            });
        }
        // Edited `# Safety` / `# Invariants` sections.
        if matches!(
            fd.status,
            FileStatus::Modified | FileStatus::Renamed | FileStatus::Copied
        ) {
            let old_secs = t
                .old
                .as_deref()
                .map(|x| scan_file(x, index).doc_sections)
                .unwrap_or_default();
            let new_secs = new_scan.map(|s| s.doc_sections).unwrap_or_default();
            let old_text = t.old.as_deref().unwrap_or("");
            for (item, sec) in &new_secs {
                if any_in(&added, sec.line, sec.end_line) {
                    let old = old_secs
                        .iter()
                        .find(|(i, s)| i == item && s.name == sec.name)
                        .map(|(_, s)| s.text.clone());
                    if old.as_ref() == Some(&sec.text) {
                        continue;
                    }
                    // A new item's documentation is not an edit: it has no users yet.
                    let existed = old.is_some()
                        || old_text
                            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .any(|w| w == item.name);
                    if !existed {
                        continue;
                    }
                    doc_edits.push(DocEdit {
                        file: path.clone(),
                        line: sec.line,
                        layer: layer.clone(),
                        item: item.clone(),
                        section: sec.name.clone(),
                        old,
                        new: Some(sec.text.clone()),
                        users: Vec::new(),
                    });
                }
            }
            for (item, sec) in &old_secs {
                if any_in(&removed, sec.line, sec.end_line)
                    && !doc_edits
                        .iter()
                        .any(|d| d.file == path && &d.item == item && d.section == sec.name)
                {
                    let new = new_secs
                        .iter()
                        .find(|(i, s)| i == item && s.name == sec.name)
                        .map(|(_, s)| s.text.clone());
                    if new.as_ref() == Some(&sec.text) {
                        continue;
                    }
                    doc_edits.push(DocEdit {
                        file: path.clone(),
                        line: sec.line,
                        layer: layer.clone(),
                        item: item.clone(),
                        section: sec.name.clone(),
                        old: Some(sec.text.clone()),
                        new,
                        users: Vec::new(),
                    });
                }
            }
        }
    }
    // Users of edited sections.
    for d in &mut doc_edits {
        for (file, text, scanned) in repo {
            for s in &scanned.sites {
                let Some(reason) = relies_on(s, d) else {
                    continue;
                };
                d.users.push((file.clone(), s.line));
                if let Some(r) = sites.iter_mut().find(|r| {
                    r.file == *file && r.site.line == s.line && r.change != Change::Removed
                }) {
                    if !r.reasons.contains(&reason) {
                        r.reasons.push(reason.clone());
                    }
                    if d.item.kind == "fn" && !r.edited_callees.contains(&d.item.label()) {
                        r.edited_callees.push(d.item.label());
                    }
                } else {
                    let layer = layer_of(file, driver_dir);
                    let (a, b) = match s.kind {
                        SiteKind::Block => (s.stmt_line.min(s.line), s.end_line),
                        _ => (s.line, s.head_end),
                    };
                    let code = code_view(text, a, b, &BTreeSet::new(), ' ', None, false);
                    let mut inv = invariants_for(s, index);
                    for i in &mut inv {
                        i.edited = d.section == "Invariants" && d.item.name == i.ty;
                    }
                    sites.push(SiteReport {
                        file: file.clone(),
                        old_file: None,
                        layer,
                        change: Change::Recheck,
                        site: s.clone(),
                        stale: false,
                        comment_edited: false,
                        code,
                        invariants: inv,
                        reasons: vec![reason],
                        edited_callees: if d.item.kind == "fn" {
                            vec![d.item.label()]
                        } else {
                            Vec::new()
                        },
                    });
                }
            }
        }
    }
    for r in &mut sites {
        for i in &mut r.invariants {
            if doc_edits
                .iter()
                .any(|d| d.section == "Invariants" && d.item.name == i.ty)
            {
                i.edited = true;
            }
        }
    }
    sites.sort_by(|a, b| {
        (a.change == Change::Recheck, &a.file, a.site.line).cmp(&(
            b.change == Change::Recheck,
            &b.file,
            b.site.line,
        ))
    });
    PatchReport {
        subject: patch.subject.clone(),
        commit: patch.commit.clone(),
        files,
        sites,
        doc_edits,
    }
}

/// Whether site `s` relies on the edited section `d`, and why.
fn relies_on(s: &Site, d: &DocEdit) -> Option<String> {
    let label = d.item.label();
    match (d.item.kind.as_str(), d.section.as_str()) {
        ("fn", "Safety") => {
            let calls = s.ops.iter().any(|o| {
                o.callee_key.as_ref().is_some_and(|(ow, n)| {
                    n == &d.item.name
                        && (ow == &d.item.owner || ow.is_none() && d.item.owner.is_none())
                }) || o.callee.as_ref().is_some_and(|c| c.name == label)
            });
            if calls {
                return Some(format!("calls {label}, whose # Safety this patch edits"));
            }
            let inside = s.within == label
                && s.kind != SiteKind::Fn
                && s.justification.text.iter().any(|l| {
                    let l = l.to_ascii_lowercase();
                    l.contains("safety requirement") || l.contains("caller")
                });
            inside.then(|| {
                format!("relies on the safety requirements of {label}, which this patch edits")
            })
        }
        ("trait", "Safety") => (s.kind == SiteKind::Impl
            && s.item_name.as_deref() == Some(&d.item.name))
        .then(|| format!("implements unsafe trait {label}, whose # Safety this patch edits")),
        (_, "Invariants") => {
            let ty = &d.item.name;
            let own = s.impl_ty.as_deref() == Some(ty.as_str())
                && (s.relies_on_invariant() || s.kind == SiteKind::Impl);
            let named = s.relies_on_invariant() && s.mentioned_names().contains(ty);
            (own || named)
                .then(|| format!("relies on the # Invariants of {ty}, which this patch edits"))
        }
        _ => None,
    }
}
