// SPDX-License-Identifier: GPL-2.0

//! Output: checkpatch-like text lines for people, JSON for tools.

use std::collections::BTreeMap;

use crate::json::J;
use crate::review::{Change, PatchReport, SiteReport};
use crate::scan::{Op, OpKind, Site, SiteKind, Verdict};

pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The site's title: what it is and where.
pub fn title(s: &Site) -> String {
    let base = match s.kind {
        SiteKind::Block | SiteKind::Token | SiteKind::Attr if s.within.is_empty() => String::new(),
        SiteKind::Block | SiteKind::Token => format!("in {}", s.within),
        SiteKind::Attr => format!("{} in {}", s.name, s.within),
        SiteKind::Fn => match &s.impl_ty {
            Some(t) => format!("fn {t}::{}", s.item_name.as_deref().unwrap_or("?")),
            None => s.name.clone(),
        },
        SiteKind::Impl | SiteKind::Trait | SiteKind::Extern => s.name.clone(),
    };
    let base = if s.kind == SiteKind::Attr && s.within.is_empty() {
        s.name.clone()
    } else {
        base
    };
    let origin = s.origin.label();
    match (base.is_empty(), origin.is_empty()) {
        (_, true) => base,
        (true, false) => format!("({origin})"),
        (false, false) => format!("{base} ({origin})"),
    }
}

/// `SAFETY: ok`, `# Safety: MISSING`, ...
pub fn verdict(s: &Site, stale: bool) -> String {
    let j = &s.justification;
    let v = match &j.verdict {
        Verdict::Ok => "ok".to_string(),
        Verdict::Missing if j.untagged => {
            "MISSING (a comment is there, but not tagged `SAFETY:`)".to_string()
        }
        Verdict::Missing => "MISSING".to_string(),
        Verdict::Todo => "TODO (placeholder, not a justification)".to_string(),
        Verdict::Inherited(t) => format!("ok (contract of trait method {t})"),
        Verdict::NotNeeded => "not needed".to_string(),
    };
    let mut out = format!("{}: {v}", j.what);
    if stale {
        out.push_str(", STALE? (the code changed, the justification did not)");
    }
    out
}

fn op_line(o: &Op, lines: &[usize], edited: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let at = lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut head = format!("op: {} {} [line {at}]", o.kind.label(), o.text);
    if let Some(why) = &o.inferred {
        head.push_str(&format!(" (inferred: {why})"));
    }
    if o.kind == OpKind::UnknownCall {
        head.push_str(
            ": not an unsafe fn of the indexed code (safe, or defined elsewhere: --kernel)",
        );
    }
    out.push(head);
    if let Some(c) = &o.callee {
        if let Some((f, l, p)) = &c.c_proto {
            out.push(format!("    C: {p} ({f}:{l})"));
        }
        if !c.sig.is_empty() && o.kind == OpKind::Ffi {
            out.push(format!("    Rust: {} ({}:{})", c.sig, c.file, c.line));
        }
        if o.kind == OpKind::UnsafeCall || o.kind == OpKind::UnsafeMethod {
            let more = if c.others > 0 {
                format!(" (or {} other fn(s) of that name)", c.others)
            } else {
                String::new()
            };
            let ed = if edited.contains(&c.name) {
                " [EDITED by this patch: re-check]"
            } else {
                ""
            };
            if c.file.is_empty() {
                out.push(format!("    {}: unsafe in the standard library", c.name));
            } else {
                match &c.safety {
                    Some(t) => {
                        out.push(format!(
                            "    {} ({}:{}){more} # Safety{ed}:",
                            c.name, c.file, c.line
                        ));
                        out.extend(t.iter().map(|l| format!("        {l}")));
                    }
                    None => out.push(format!(
                        "    {} ({}:{}){more}: has no # Safety section",
                        c.name, c.file, c.line
                    )),
                }
            }
        }
        if matches!(o.kind, OpKind::StaticMut | OpKind::ExternStatic) {
            out.push(format!("    declared at {}:{}", c.file, c.line));
        }
    }
    out
}

/// The detail lines of a site outside of a patch (tree mode).
pub fn details_site(s: &Site) -> Vec<String> {
    details(&SiteReport {
        file: String::new(),
        old_file: None,
        layer: String::new(),
        change: Change::Added,
        site: s.clone(),
        stale: false,
        comment_edited: false,
        code: Vec::new(),
        invariants: Vec::new(),
        reasons: Vec::new(),
        edited_callees: Vec::new(),
    })
}

/// The indented detail lines of a site.
pub fn details(r: &SiteReport) -> Vec<String> {
    let s = &r.site;
    let mut out = Vec::new();
    let j = &s.justification;
    if let Some((a, b)) = j.lines {
        let range = if a == b {
            format!("{a}")
        } else {
            format!("{a}-{b}")
        };
        let tag = if r.comment_edited && r.change == Change::Changed {
            ", edited"
        } else {
            ""
        };
        out.push(format!("{} (line {range}{tag}):", j.what));
        if j.text.is_empty() {
            out.push("    (empty)".to_string());
        }
        out.extend(j.text.iter().map(|l| format!("    {l}")));
    }
    if !r.code.is_empty() {
        out.push("code:".to_string());
        for (n, tag, text) in &r.code {
            if *tag == '~' {
                out.push(format!("          {text}"));
            } else {
                out.push(format!("    {n:>5} {tag}|{text}"));
            }
        }
    }
    // Merge identical operations.
    let mut merged: Vec<(&Op, Vec<usize>)> = Vec::new();
    for o in &s.ops {
        if let Some(m) = merged
            .iter_mut()
            .find(|(x, _)| x.kind == o.kind && x.text == o.text)
        {
            m.1.push(o.line);
        } else {
            merged.push((o, vec![o.line]));
        }
    }
    for (o, lines) in &merged {
        out.extend(op_line(o, lines, &r.edited_callees));
    }
    if s.kind == SiteKind::Block && s.ops.is_empty() {
        out.push(
            "op: none found (syntactic: a callee may be unsafe outside the indexed code)"
                .to_string(),
        );
    }
    for i in &r.invariants {
        let ed = if i.edited {
            " [EDITED by this patch]"
        } else {
            ""
        };
        out.push(format!(
            "# Invariants of {} ({}:{}){ed}:",
            i.ty, i.file, i.line
        ));
        out.extend(i.text.iter().map(|l| format!("    {l}")));
    }
    for n in &s.notes {
        out.push(format!("note: {n}"));
    }
    for n in &r.reasons {
        out.push(format!("re-check: {n}"));
    }
    if let Some(o) = &r.old_file {
        if r.change == Change::Moved || r.change == Change::Changed || r.change == Change::Added {
            out.push(format!("renamed from: {o}"));
        }
    }
    out
}

#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub moved: usize,
    pub recheck: usize,
    pub missing: usize,
    pub stale: usize,
}

impl Counts {
    pub fn add(&mut self, r: &SiteReport) {
        match r.change {
            Change::Added => self.added += 1,
            Change::Removed => self.removed += 1,
            Change::Changed => self.changed += 1,
            Change::Moved => self.moved += 1,
            Change::Recheck => self.recheck += 1,
        }
        if r.lacking() {
            self.missing += 1;
        }
        if r.stale {
            self.stale += 1;
        }
    }

    pub fn total(&self) -> usize {
        self.added + self.removed + self.changed + self.moved + self.recheck
    }

    fn short(&self) -> String {
        let mut v = Vec::new();
        for (n, l) in [
            (self.added, "added"),
            (self.removed, "removed"),
            (self.changed, "changed"),
            (self.moved, "moved"),
            (self.recheck, "to re-check"),
        ] {
            if n > 0 {
                v.push(format!("{n} {l}"));
            }
        }
        if v.is_empty() {
            "no unsafe site".to_string()
        } else {
            v.join(", ")
        }
    }

    fn json(&self) -> J {
        J::obj(vec![
            ("sites", J::num(self.total())),
            ("added", J::num(self.added)),
            ("removed", J::num(self.removed)),
            ("changed", J::num(self.changed)),
            ("moved", J::num(self.moved)),
            ("recheck", J::num(self.recheck)),
            ("missing_justification", J::num(self.missing)),
            ("stale", J::num(self.stale)),
        ])
    }
}

fn per(report: &PatchReport) -> (BTreeMap<String, Counts>, BTreeMap<String, Counts>) {
    let mut files: BTreeMap<String, Counts> = BTreeMap::new();
    let mut layers: BTreeMap<String, Counts> = BTreeMap::new();
    for r in &report.sites {
        files.entry(r.file.clone()).or_default().add(r);
        layers.entry(r.layer.clone()).or_default().add(r);
    }
    (files, layers)
}

/// The text report of a list of patches, and the totals.
pub fn text(reports: &[PatchReport], quiet: bool) -> (String, Counts) {
    let mut out = String::new();
    let mut total = Counts::default();
    let many = reports.len() > 1;
    for (n, p) in reports.iter().enumerate() {
        let subject = p.subject.as_deref().unwrap_or("");
        let commit = p.commit.as_ref().filter(|c| !c.chars().all(|x| x == '0'));
        match (commit, many) {
            (Some(c), _) => {
                let short: String = c.chars().take(12).collect();
                out.push_str(&format!("commit {short}: {subject}\n"));
            }
            (None, true) => {
                out.push_str(&format!("patch {}/{}: {subject}\n", n + 1, reports.len()))
            }
            (None, false) if !subject.is_empty() => out.push_str(&format!("patch: {subject}\n")),
            _ => {}
        }
        for f in &p.files {
            let has_sites = p.sites.iter().any(|r| r.file == f.file);
            if let Some(e) = f.parse_error.as_ref().filter(|_| has_sites) {
                out.push_str(&format!(
                    "{}: note: does not parse ({e}); its sites were found by token scan\n",
                    f.file
                ));
            }
            if f.texts.starts_with("hunks only") && has_sites {
                out.push_str(&format!(
                    "{}: note: {}: sites and comments outside the hunks are not seen\n",
                    f.file, f.texts
                ));
            }
        }
        let fixtures = p
            .files
            .iter()
            .filter(|f| f.file.ends_with(".rs") && !f.rust)
            .count();
        if fixtures > 0 && !quiet {
            out.push_str(&format!(
                "note: {} under tests/fixtures/ not reviewed (test data)\n",
                plural(fixtures, "Rust file")
            ));
        }
        let mut counts = Counts::default();
        let emit = |out: &mut String, r: &SiteReport| {
            let show = !quiet || r.lacking() || r.stale || r.change == Change::Recheck;
            if !show {
                return;
            }
            let t = title(&r.site);
            let t = if t.is_empty() {
                String::new()
            } else {
                format!(" {t}")
            };
            out.push_str(&format!(
                "{}:{}: {} [{}] {}{t}: {}\n",
                r.file,
                r.site.line,
                r.site.kind.label(),
                r.layer,
                r.change.label(),
                verdict(&r.site, r.stale)
            ));
            if !quiet {
                for d in details(r) {
                    out.push_str(&format!("    {d}\n"));
                }
            }
        };
        for r in p.sites.iter().filter(|r| r.change != Change::Recheck) {
            emit(&mut out, r);
            counts.add(r);
        }
        for d in &p.doc_edits {
            out.push_str(&format!(
                "{}:{}: safety-doc [{}] edited: # {} of {} {}\n",
                d.file,
                d.line,
                d.layer,
                d.section,
                d.item.kind,
                d.item.label()
            ));
            if !quiet {
                match &d.old {
                    Some(o) => {
                        out.push_str("    was:\n");
                        for l in o {
                            out.push_str(&format!("        {l}\n"));
                        }
                    }
                    None => out.push_str("    was: (no such section)\n"),
                }
                match &d.new {
                    Some(o) => {
                        out.push_str("    now:\n");
                        for l in o {
                            out.push_str(&format!("        {l}\n"));
                        }
                    }
                    None => out.push_str("    now: (section removed)\n"),
                }
            }
            let users: Vec<String> = d.users.iter().map(|(f, l)| format!("{f}:{l}")).collect();
            if users.is_empty() {
                out.push_str("    users: none found in the tree\n");
            } else {
                out.push_str(&format!("    users to re-check: {}\n", users.join(", ")));
            }
        }
        for r in p.sites.iter().filter(|r| r.change == Change::Recheck) {
            emit(&mut out, r);
            counts.add(r);
        }
        let (files, layers) = per(p);
        if !files.is_empty() {
            out.push_str("per file:\n");
            for (f, c) in &files {
                out.push_str(&format!("    {f}: {}\n", c.short()));
            }
            out.push_str("per layer:\n");
            for (l, c) in &layers {
                out.push_str(&format!("    {l}: {}\n", c.short()));
            }
        }
        if many {
            out.push_str(&format!(
                "patch {}/{}: {} ({}), {} missing justification, {} stale\n\n",
                n + 1,
                reports.len(),
                plural(counts.total(), "site"),
                counts.short(),
                counts.missing,
                counts.stale
            ));
        }
        for f in [
            &mut total.added,
            &mut total.removed,
            &mut total.changed,
            &mut total.moved,
            &mut total.recheck,
            &mut total.missing,
            &mut total.stale,
        ]
        .into_iter()
        .zip([
            counts.added,
            counts.removed,
            counts.changed,
            counts.moved,
            counts.recheck,
            counts.missing,
            counts.stale,
        ]) {
            *f.0 += f.1;
        }
    }
    out.push_str(&format!(
        "unsafe-review: {} ({} added, {} removed, {} changed, {} moved, {} to re-check), \
         {} missing justification, {} stale\n",
        plural(total.total(), "site"),
        total.added,
        total.removed,
        total.changed,
        total.moved,
        total.recheck,
        total.missing,
        total.stale
    ));
    (out, total)
}

pub fn site_json(
    file: &str,
    layer: &str,
    change: Option<&str>,
    s: &Site,
    extra: Vec<(&str, J)>,
) -> J {
    let j = &s.justification;
    let verdict = match &j.verdict {
        Verdict::Ok => "ok".to_string(),
        Verdict::Missing => "missing".to_string(),
        Verdict::Todo => "todo".to_string(),
        Verdict::Inherited(_) => "inherited".to_string(),
        Verdict::NotNeeded => "not-needed".to_string(),
    };
    let ops = s
        .ops
        .iter()
        .map(|o| {
            J::obj(vec![
                ("kind", J::str(o.kind.key())),
                ("text", J::str(o.text.clone())),
                ("line", J::num(o.line)),
                ("inferred", J::opt_str(o.inferred.clone())),
                (
                    "callee",
                    o.callee.as_ref().map_or(J::Null, |c| {
                        J::obj(vec![
                            ("name", J::str(c.name.clone())),
                            ("file", J::str(c.file.clone())),
                            ("line", J::num(c.line)),
                            ("signature", J::str(c.sig.clone())),
                            ("safety", c.safety.as_ref().map_or(J::Null, |t| J::strs(t))),
                            ("other_candidates", J::num(c.others)),
                            (
                                "c_prototype",
                                J::opt_str(c.c_proto.as_ref().map(|p| p.2.clone())),
                            ),
                        ])
                    }),
                ),
            ])
        })
        .collect();
    let mut fields = vec![
        ("file", J::str(file)),
        ("line", J::num(s.line)),
        ("end_line", J::num(s.end_line)),
        ("kind", J::str(s.kind.label())),
        ("layer", J::str(layer)),
    ];
    if let Some(c) = change {
        fields.push(("change", J::str(c)));
    }
    fields.extend([
        (
            "origin",
            J::str(match s.origin.label() {
                o if o.is_empty() => "code".to_string(),
                o => o,
            }),
        ),
        ("within", J::str(s.within.clone())),
        ("title", J::str(title(s))),
        (
            "justification",
            J::obj(vec![
                ("kind", J::str(j.what)),
                ("verdict", J::str(verdict)),
                ("lacking", J::Bool(j.lacking())),
                ("text", J::strs(&j.text)),
                (
                    "lines",
                    j.lines
                        .map_or(J::Null, |(a, b)| J::Arr(vec![J::num(a), J::num(b)])),
                ),
            ]),
        ),
        ("ops", J::Arr(ops)),
        ("notes", J::strs(&s.notes)),
    ]);
    fields.extend(extra);
    J::obj(fields)
}

pub fn json(reports: &[PatchReport], total: &Counts, exit: i32) -> String {
    let patches = reports
        .iter()
        .map(|p| {
            let (files, layers) = per(p);
            J::obj(vec![
                ("commit", J::opt_str(p.commit.clone())),
                ("subject", J::opt_str(p.subject.clone())),
                (
                    "files",
                    J::Arr(
                        p.files
                            .iter()
                            .map(|f| {
                                J::obj(vec![
                                    ("path", J::str(f.file.clone())),
                                    ("old_path", J::opt_str(f.old_file.clone())),
                                    ("status", J::str(f.status)),
                                    ("rust", J::Bool(f.rust)),
                                    ("texts", J::str(f.texts.clone())),
                                    ("parse_error", J::opt_str(f.parse_error.clone())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "sites",
                    J::Arr(
                        p.sites
                            .iter()
                            .map(|r| {
                                site_json(
                                    &r.file,
                                    &r.layer,
                                    Some(r.change.label()),
                                    &r.site,
                                    vec![
                                        ("stale", J::Bool(r.stale)),
                                        ("justification_edited", J::Bool(r.comment_edited)),
                                        ("old_file", J::opt_str(r.old_file.clone())),
                                        ("recheck_reasons", J::strs(&r.reasons)),
                                        (
                                            "invariants",
                                            J::Arr(
                                                r.invariants
                                                    .iter()
                                                    .map(|i| {
                                                        J::obj(vec![
                                                            ("type", J::str(i.ty.clone())),
                                                            ("file", J::str(i.file.clone())),
                                                            ("line", J::num(i.line)),
                                                            ("text", J::strs(&i.text)),
                                                            ("edited", J::Bool(i.edited)),
                                                        ])
                                                    })
                                                    .collect(),
                                            ),
                                        ),
                                        (
                                            "code",
                                            J::Arr(
                                                r.code
                                                    .iter()
                                                    .map(|(n, t, x)| {
                                                        J::obj(vec![
                                                            ("line", J::num(*n)),
                                                            ("tag", J::str(t.to_string())),
                                                            ("text", J::str(x.clone())),
                                                        ])
                                                    })
                                                    .collect(),
                                            ),
                                        ),
                                    ],
                                )
                            })
                            .collect(),
                    ),
                ),
                (
                    "doc_edits",
                    J::Arr(
                        p.doc_edits
                            .iter()
                            .map(|d| {
                                J::obj(vec![
                                    ("file", J::str(d.file.clone())),
                                    ("line", J::num(d.line)),
                                    ("layer", J::str(d.layer.clone())),
                                    ("item_kind", J::str(d.item.kind.clone())),
                                    ("item", J::str(d.item.label())),
                                    ("section", J::str(d.section.clone())),
                                    ("old", d.old.as_ref().map_or(J::Null, |t| J::strs(t))),
                                    ("new", d.new.as_ref().map_or(J::Null, |t| J::strs(t))),
                                    (
                                        "users",
                                        J::Arr(
                                            d.users
                                                .iter()
                                                .map(|(f, l)| J::str(format!("{f}:{l}")))
                                                .collect(),
                                        ),
                                    ),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (
                    "per_file",
                    J::Obj(files.iter().map(|(k, c)| (k.clone(), c.json())).collect()),
                ),
                (
                    "per_layer",
                    J::Obj(layers.iter().map(|(k, c)| (k.clone(), c.json())).collect()),
                ),
            ])
        })
        .collect();
    J::obj(vec![
        ("tool", J::str("unsafe-review")),
        ("mode", J::str("patch")),
        ("patches", J::Arr(patches)),
        ("summary", total.json()),
        ("exit_status", J::Num(i64::from(exit))),
    ])
    .render()
}
