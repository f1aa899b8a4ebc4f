// SPDX-License-Identifier: GPL-2.0

//! Tree mode: the inventory of every unsafe site of a directory by layer, and the layer policy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::git::Git;
use crate::index::Index;
use crate::json::J;
use crate::report::{details_site, site_json, title, verdict};
use crate::scan::{scan_file, Origin, Scanned, SiteKind, Verdict};

pub struct TreeOptions {
    /// Layers where unsafe code is allowed.
    pub allowed: Vec<String>,
    /// Layers that may not use `bindings::`.
    pub no_bindings: Vec<String>,
    /// Layers whose every file must have `#![forbid(unsafe_code)]`.
    pub forbid: Vec<String>,
    pub policy: bool,
    /// Scan generated files too (robustness runs).
    pub include_generated: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub json: bool,
}

/// Whether a file's first lines say it is generated.
pub fn is_generated(text: &str) -> bool {
    text.lines().take(10).any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("@generated") || l.contains("automatically generated")
    })
}

/// Every `.rs` file under `dir`, sorted (hidden folders and `target` skipped).
pub fn walk(dir: &Path, ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(p);
                }
            } else if ext.iter().any(|x| name.ends_with(x)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn read_text(p: &Path) -> Option<String> {
    std::fs::read(p)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The source files of `dir` and the files that are not source (git-ignored or generated), as
/// paths under `dir` joined to `dir` as given.
pub fn source_files(dir: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, &'static str)>) {
    let all = walk(dir, &[".rs"]);
    let listed: Option<BTreeSet<PathBuf>> = Git::discover(dir).and_then(|g| {
        let abs = std::fs::canonicalize(dir).ok()?;
        let top = std::fs::canonicalize(&g.top).ok()?;
        let rel = abs.strip_prefix(&top).ok()?.to_string_lossy().into_owned();
        let spec = if rel.is_empty() { ".".to_string() } else { rel };
        let files = g
            .lines(&["ls-files", "-co", "--exclude-standard", "--", &spec])
            .ok()?;
        Some(files.into_iter().map(|f| top.join(f)).collect())
    });
    let mut src = Vec::new();
    let mut not = Vec::new();
    for p in all {
        if let Some(l) = &listed {
            let abs = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if !l.contains(&abs) {
                not.push((p, "git-ignored"));
                continue;
            }
        }
        let generated = read_text(&p).is_some_and(|t| is_generated(&t))
            || p.to_string_lossy().ends_with("_generated.rs") && listed.is_none();
        if generated {
            not.push((p, "generated"));
        } else {
            src.push(p);
        }
    }
    (src, not)
}

fn layer_in(dir: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(dir).unwrap_or(p);
    let comps: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if comps.len() > 1 {
        comps[0].clone()
    } else {
        "root".to_string()
    }
}

/// Runs tree mode. Returns the output and the exit status.
pub fn run(dir: &Path, opts: &TreeOptions, extra_index: &[(String, String)]) -> (String, i32) {
    let (mut files, mut not_source) = source_files(dir);
    if opts.include_generated {
        files.extend(
            not_source
                .iter()
                .filter(|(_, why)| *why == "generated")
                .map(|(p, _)| p.clone()),
        );
        not_source.retain(|(_, why)| *why != "generated");
        files.sort();
    }
    let display = |p: &Path| p.to_string_lossy().into_owned();
    let mut index = Index::default();
    let mut texts = Vec::new();
    for p in &files {
        let t = read_text(p).unwrap_or_default();
        index.add_source(&display(p), &crate::source::Source::new(&t));
        texts.push(t);
    }
    // Generated files are not source, but their declarations resolve FFI calls.
    for (p, _) in &not_source {
        if let Some(t) = read_text(p) {
            index.add_source(&display(p), &crate::source::Source::new(&t));
        }
    }
    for (p, t) in extra_index {
        if p.ends_with(".rs") {
            index.add_source(p, &crate::source::Source::new(t));
        } else {
            index.add_c(p, t);
        }
    }
    let scans: Vec<(String, String, Scanned)> = files
        .iter()
        .zip(&texts)
        .map(|(p, t)| (display(p), layer_in(dir, p), scan_file(t, &index)))
        .collect();

    let mut out = String::new();
    let mut violations: Vec<String> = Vec::new();
    let mut layers: BTreeMap<String, (BTreeMap<&str, usize>, usize, usize)> = BTreeMap::new();
    for l in opts.allowed.iter().chain(&opts.no_bindings) {
        if dir.join(l).is_dir() {
            layers.entry(l.clone()).or_default();
        }
    }
    let mut total = 0;
    let mut parsed = 0;
    let mut lacking_total = 0;
    let mut json_sites = Vec::new();
    for (file, layer, sc) in &scans {
        if sc.parse_error.is_none() {
            parsed += 1;
        }
        let entry = layers.entry(layer.clone()).or_default();
        for s in &sc.sites {
            total += 1;
            *entry.0.entry(s.kind.label()).or_default() += 1;
            if s.justification.lacking() {
                entry.2 += 1;
                lacking_total += 1;
            }
            if !opts.quiet && !opts.json {
                let t = title(s);
                let t = if t.is_empty() {
                    String::new()
                } else {
                    format!(" {t}")
                };
                out.push_str(&format!(
                    "{file}:{}: {} [{layer}]{t}: {}\n",
                    s.line,
                    s.kind.label(),
                    verdict(s, false)
                ));
                if opts.verbose {
                    for d in details_site(s) {
                        out.push_str(&format!("    {d}\n"));
                    }
                }
            }
            if opts.json {
                json_sites.push(site_json(file, layer, None, s, Vec::new()));
            }
            if !opts.policy {
                continue;
            }
            if !opts.allowed.contains(layer) && s.origin != Origin::DocTest {
                let allowed: Vec<String> = opts.allowed.iter().map(|a| format!("{a}/")).collect();
                violations.push(format!(
                    "{file}:{}: policy: {} in layer {layer}: unsafe code is allowed only in {}; \
                     move it behind a safe abstraction there and call that",
                    s.line,
                    s.kind.label(),
                    allowed.join(", ")
                ));
            }
            let fix = match (&s.justification.verdict, s.kind) {
                (Verdict::Missing, SiteKind::Fn) => Some(format!(
                    "add a `# Safety` section to the docs of {} saying what callers must guarantee",
                    title(s)
                )),
                (Verdict::Missing, SiteKind::Trait) => Some(
                    "add a `# Safety` section to the trait's docs saying what implementors must guarantee"
                        .to_string(),
                ),
                (Verdict::Missing, _) => Some(
                    "add a `// SAFETY:` comment right before it saying why it is sound".to_string(),
                ),
                (Verdict::Todo, _) => Some(format!(
                    "replace the placeholder in the {} with the reason it is sound",
                    if s.justification.what == "SAFETY" {
                        "`// SAFETY:` comment"
                    } else {
                        "`# Safety` section"
                    }
                )),
                _ => None,
            };
            if let Some(fix) = fix {
                violations.push(format!(
                    "{file}:{}: policy: {} without a justification: {fix}",
                    s.line,
                    s.kind.label()
                ));
            }
        }
        if opts.policy && opts.no_bindings.contains(layer) {
            for (line, text) in &sc.bindings_uses {
                violations.push(format!(
                    "{file}:{line}: policy: `{text}` in layer {layer}: this layer may not use the C \
                     bindings; add a safe wrapper in {} and call that",
                    opts.allowed
                        .iter()
                        .filter(|a| *a != "glue")
                        .map(|a| format!("{a}/"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
        }
        if opts.policy && opts.forbid.contains(layer) && !sc.forbids_unsafe {
            violations.push(format!(
                "{file}:1: policy: file of layer {layer} without `#![forbid(unsafe_code)]`: add it \
                 after the module documentation"
            ));
        }
        if let Some(e) = &sc.parse_error {
            if !opts.json {
                out.push_str(&format!(
                    "{file}: note: does not parse ({e}); its sites were found by token scan\n"
                ));
            }
        }
    }
    let kinds = |m: &BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !opts.json {
        for (l, (m, n, lacking)) in &layers {
            let _ = n;
            let count: usize = m.values().sum();
            let detail = if count > 0 {
                format!(" ({})", kinds(m))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "layer {l}: {}{detail}, {lacking} without justification\n",
                crate::report::plural(count, "site")
            ));
        }
        for v in &violations {
            out.push_str(v);
            out.push('\n');
        }
    }
    let ns: Vec<String> = not_source
        .iter()
        .map(|(p, why)| format!("{} ({why})", display(p)))
        .collect();
    let status = i32::from(opts.policy && !violations.is_empty());
    if opts.json {
        let j = J::obj(vec![
            ("tool", J::str("unsafe-review")),
            ("mode", J::str("tree")),
            ("dir", J::str(display(dir))),
            ("files", J::num(scans.len())),
            ("parsed", J::num(parsed)),
            ("not_source", J::strs(&ns)),
            ("sites", J::Arr(json_sites)),
            (
                "layers",
                J::Obj(
                    layers
                        .iter()
                        .map(|(l, (m, _, lacking))| {
                            (
                                l.clone(),
                                J::obj(vec![
                                    ("sites", J::num(m.values().sum())),
                                    (
                                        "kinds",
                                        J::Obj(
                                            m.iter()
                                                .map(|(k, n)| (k.to_string(), J::num(*n)))
                                                .collect(),
                                        ),
                                    ),
                                    ("without_justification", J::num(*lacking)),
                                ]),
                            )
                        })
                        .collect(),
                ),
            ),
            ("violations", J::strs(&violations)),
            ("exit_status", J::Num(i64::from(status))),
        ]);
        return (j.render(), status);
    }
    out.push_str(&format!(
        "unsafe-review: tree {}: {} in {} source files ({parsed} parsed by syn, the \
         rest by token scan), {lacking_total} without justification; not source: {}; {}\n",
        display(dir),
        crate::report::plural(total, "site"),
        scans.len(),
        if ns.is_empty() {
            "none".to_string()
        } else {
            ns.join(", ")
        },
        if opts.policy {
            format!("{} policy violations", violations.len())
        } else {
            "policy not checked".to_string()
        }
    ));
    (out, status)
}
