// SPDX-License-Identifier: GPL-2.0

//! unsafe-review: shows a reviewer every unsafe site a patch adds, changes or removes, with its
//! justification, the unsafe operations inside and the contracts they rely on; and, in tree
//! mode, the inventory of a driver's unsafe code by layer with a policy check.

#![forbid(unsafe_code)]

mod diff;
mod git;
mod index;
mod json;
mod lex;
mod report;
mod review;
mod scan;
mod source;
mod tree;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::diff::Patch;
use crate::git::Git;
use crate::index::Index;
use crate::review::{Texts, World};
use crate::scan::Scanned;

const USAGE: &str = "\
usage: unsafe-review [OPTIONS] [REVS | PATCH | -]
       unsafe-review --tree DIR [OPTIONS]

Shows every unsafe site a patch adds, changes or removes, with its justification (the
`// SAFETY:` comment or `# Safety` section, flagged when missing, a TODO, or left unchanged while
the code changed), the unsafe operations inside, the callees' `# Safety` sections and the
`# Invariants` relied on.

Input (patch mode):
  REVS            a git revision range (HEAD~3..HEAD, A...B) or one commit (HEAD)
  PATCH           a patch file or mbox (git format-patch, git diff, diff -u)
  -               read the patch from standard input (also when no argument is given and
                  standard input is not a terminal)

Options:
  --tree DIR      inventory of all unsafe sites under DIR by layer, and the layer policy
                  (unsafe only in glue/, drm/, virtio/; no bindings:: in gpu/; every file of
                  gpu/ forbids unsafe_code; every site justified)
  --no-policy     with --tree: inventory only (for trees that are not the driver)
  --include-generated
                  with --tree: scan generated files too (robustness runs)
  --json          machine-readable output
  --kernel DIR    also resolve callees in a kernel tree (DIR/rust, or DIR itself if it is a
                  rust/ directory); default: $VGRS_KDIR if set
  --base DIR      the files the patch applies to are in DIR (no git objects, no work tree)
  --hunks-only    use only the text of the patch
  --each          with a revision range: one report per commit
  --driver-dir D  where the driver's layers are (default drivers/gpu/drm/virtio_rs)
  --strict        a stale justification also makes the exit status non-zero
  -q, --quiet     only the lines that need action, and the summary
  -v, --verbose   with --tree: details of every site
  -h, --help      this text

Exit status: 0 all sites justified (tree mode: no policy violation); 1 a site added or changed
by the patch lacks a justification (tree mode: a policy violation); 2 usage or input error.";

struct Args {
    input: Option<String>,
    tree: Option<PathBuf>,
    policy: bool,
    include_generated: bool,
    json: bool,
    kernel: Option<PathBuf>,
    base: Option<PathBuf>,
    hunks_only: bool,
    each: bool,
    driver_dir: String,
    strict: bool,
    quiet: bool,
    verbose: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        input: None,
        tree: None,
        policy: true,
        include_generated: false,
        json: false,
        kernel: std::env::var_os("VGRS_KDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        base: None,
        hunks_only: false,
        each: false,
        driver_dir: "drivers/gpu/drm/virtio_rs".to_string(),
        strict: false,
        quiet: false,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match x.as_str() {
            "-h" | "--help" => return Ok(None),
            "--tree" => a.tree = Some(PathBuf::from(value("--tree")?)),
            "--no-policy" => a.policy = false,
            "--include-generated" => a.include_generated = true,
            "--json" => a.json = true,
            "--kernel" => a.kernel = Some(PathBuf::from(value("--kernel")?)),
            "--base" => a.base = Some(PathBuf::from(value("--base")?)),
            "--hunks-only" => a.hunks_only = true,
            "--each" => a.each = true,
            "--driver-dir" => a.driver_dir = value("--driver-dir")?,
            "--strict" => a.strict = true,
            "-q" | "--quiet" => a.quiet = true,
            "-v" | "--verbose" => a.verbose = true,
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option {s}")),
            s => {
                if a.input.is_some() {
                    return Err(format!("one input only (got a second one: {s})"));
                }
                a.input = Some(s.to_string());
            }
        }
    }
    Ok(Some(a))
}

/// The kernel's Rust sources to resolve callees in: (path, text).
fn kernel_files(k: &Path) -> Result<Vec<(String, String)>, String> {
    let dir = if k.join("rust").is_dir() {
        k.join("rust")
    } else {
        k.to_path_buf()
    };
    if !dir.is_dir() {
        return Err(format!("--kernel {}: not a directory", k.display()));
    }
    Ok(tree::walk(&dir, &[".rs"])
        .into_iter()
        .filter_map(|p| {
            // Shown as `rust/kernel/...`, relative to the kernel tree.
            let shown = p
                .strip_prefix(k)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            tree::read_text(&p).map(|t| (shown, t))
        })
        .collect())
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("unsafe-review: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<u8, String> {
    let Some(args) = parse_args()? else {
        println!("{USAGE}");
        return Ok(0);
    };
    let kernel = match &args.kernel {
        Some(k) => kernel_files(k)?,
        None => Vec::new(),
    };
    if let Some(dir) = &args.tree {
        if !dir.is_dir() {
            return Err(format!("--tree {}: not a directory", dir.display()));
        }
        let mut extra = kernel;
        // C prototypes of the repository, for FFI calls.
        if let Some(g) = Git::discover(dir) {
            for f in g
                .lines(&["ls-files", "--", "*.h", "*.c"])
                .unwrap_or_default()
            {
                if let Some(t) = tree::read_text(&g.top.join(&f)) {
                    extra.push((f, t));
                }
            }
        }
        let opts = tree::TreeOptions {
            allowed: vec!["glue".into(), "drm".into(), "virtio".into()],
            no_bindings: vec!["gpu".into()],
            forbid: vec!["gpu".into()],
            policy: args.policy,
            include_generated: args.include_generated,
            quiet: args.quiet,
            verbose: args.verbose,
            json: args.json,
        };
        let (out, status) = tree::run(dir, &opts, &extra);
        print!("{out}");
        return Ok(u8::try_from(status).unwrap_or(1));
    }
    patch_mode(&args, kernel)
}

/// Reads the input and turns it into patches; also says which revision is the tree after them.
fn load_patches(args: &Args, git: Option<&Git>) -> Result<(Vec<Patch>, Option<String>), String> {
    let input = args.input.clone();
    let read_stdin = || -> Result<String, String> {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading standard input: {e}"))?;
        Ok(s)
    };
    let text = match input.as_deref() {
        None if std::io::stdin().is_terminal() => {
            return Err("give a revision range, a patch file or - (see --help)".to_string())
        }
        None | Some("-") => read_stdin()?,
        Some(p) if Path::new(p).is_file() => {
            let b = std::fs::read(p).map_err(|e| format!("{p}: {e}"))?;
            String::from_utf8_lossy(&b).into_owned()
        }
        Some(revs) => {
            let g = git.ok_or_else(|| {
                format!("{revs}: not a file, and not in a git repository to read revisions from")
            })?;
            return load_revs(g, revs, args.each);
        }
    };
    Ok((diff::parse(&text)?, None))
}

const DIFF_ARGS: &[&str] = &[
    "-M",
    "--full-index",
    "--no-color",
    "--no-ext-diff",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--no-relative",
];

fn commit_patch(g: &Git, c: &str) -> Result<Patch, String> {
    let parents = g.lines(&["rev-list", "--parents", "-n", "1", c])?;
    let parent = parents
        .first()
        .and_then(|l| l.split(' ').nth(1).map(str::to_string));
    let mut args: Vec<&str> = vec!["diff"];
    args.extend(DIFF_ARGS);
    // The root commit: against the empty tree.
    let empty;
    match &parent {
        Some(p) => {
            args.push(p);
        }
        None => {
            empty = g
                .run(&["hash-object", "-t", "tree", "/dev/null"])?
                .trim()
                .to_string();
            args.push(&empty);
        }
    }
    args.push(c);
    let text = g.run(&args)?;
    let mut p = if text.trim().is_empty() {
        Patch::default()
    } else {
        diff::parse(&text)?.into_iter().next().unwrap_or_default()
    };
    p.commit = Some(c.to_string());
    p.subject = Some(g.run(&["log", "-1", "--format=%s", c])?.trim().to_string());
    Ok(p)
}

fn load_revs(g: &Git, revs: &str, each: bool) -> Result<(Vec<Patch>, Option<String>), String> {
    let verify = |r: &str| -> Result<String, String> {
        Ok(g.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{r}^{{commit}}"),
        ])
        .map_err(|_| format!("{r}: not a file, and not a revision of this repository"))?
        .trim()
        .to_string())
    };
    let Some((a, b, sym)) = revs
        .split_once("...")
        .map(|(a, b)| (a, b, true))
        .or_else(|| revs.split_once("..").map(|(a, b)| (a, b, false)))
    else {
        let c = verify(revs)?;
        return Ok((vec![commit_patch(g, &c)?], Some(c)));
    };
    let a = if a.is_empty() { "HEAD" } else { a };
    let b = if b.is_empty() { "HEAD" } else { b };
    let (a, b) = (verify(a)?, verify(b)?);
    let base = if sym {
        g.run(&["merge-base", &a, &b])?.trim().to_string()
    } else {
        a.clone()
    };
    if each {
        let commits = g.lines(&[
            "rev-list",
            "--reverse",
            "--no-merges",
            &format!("{base}..{b}"),
        ])?;
        let mut out = Vec::new();
        for c in commits {
            out.push(commit_patch(g, &c)?);
        }
        return Ok((out, Some(b)));
    }
    let mut args: Vec<&str> = vec!["diff"];
    args.extend(DIFF_ARGS);
    args.push(&base);
    args.push(&b);
    let text = g.run(&args)?;
    let mut p = if text.trim().is_empty() {
        Patch::default()
    } else {
        diff::parse(&text)?.into_iter().next().unwrap_or_default()
    };
    let n = g.lines(&["rev-list", "--count", &format!("{base}..{b}")])?;
    p.subject = Some(format!(
        "{revs} ({} commits)",
        n.first().map_or("?", |s| s.as_str())
    ));
    Ok((vec![p], Some(b)))
}

fn patch_mode(args: &Args, kernel: Vec<(String, String)>) -> Result<u8, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
    let git = if args.hunks_only
        || args.base.is_some()
            && args
                .input
                .as_deref()
                .is_some_and(|i| Path::new(i).is_file() || i == "-")
    {
        None
    } else {
        Git::discover(&cwd)
    };
    let (patches, end_rev) = load_patches(args, git.as_ref())?;
    let mut world = World {
        git: git.clone(),
        base: args.base.clone(),
        hunks_only: args.hunks_only,
        chain: Default::default(),
    };
    // Texts of every file of every patch, in order (a series builds on itself).
    let mut texts: Vec<Vec<Texts>> = Vec::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    for p in &patches {
        let mut v = Vec::new();
        for fd in &p.files {
            if fd.path().ends_with(".rs") && !fd.binary {
                v.push(world.texts(fd));
            } else {
                v.push(Texts {
                    old: None,
                    new: None,
                    how: String::new(),
                    partial: false,
                });
            }
            if let Some(n) = &fd.new_path {
                touched.insert(n.clone());
                deleted.remove(n);
            }
            if let Some(o) = &fd.old_path {
                if fd.new_path.as_ref() != Some(o) {
                    deleted.insert(o.clone());
                }
            }
        }
        texts.push(v);
    }
    // The tree after the patches: source files (for re-checks and the index) and C files.
    let mut repo: Vec<(String, String)> = Vec::new();
    let mut index_only: Vec<(String, String)> = Vec::new();
    if !args.hunks_only {
        if let (Some(g), Some(rev)) = (&git, &end_rev) {
            let names = g.lines(&["ls-tree", "-r", "--name-only", rev])?;
            let names: Vec<String> = names
                .into_iter()
                .filter(|n| n.ends_with(".rs") || n.ends_with(".h") || n.ends_with(".c"))
                .collect();
            let specs: Vec<String> = names.iter().map(|n| format!("{rev}:{n}")).collect();
            for (n, t) in names.into_iter().zip(g.blobs(&specs)?) {
                if let Some(t) = t {
                    repo.push((n, t));
                }
            }
        } else if let Some(b) = &args.base {
            for p in tree::walk(b, &[".rs", ".h", ".c"]) {
                let rel = p
                    .strip_prefix(b)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                if let Some(t) = tree::read_text(&p) {
                    repo.push((rel, t));
                }
            }
        } else if let Some(g) = &git {
            for f in g.lines(&[
                "ls-files",
                "-co",
                "--exclude-standard",
                "--",
                "*.rs",
                "*.h",
                "*.c",
            ])? {
                if let Some(t) = tree::read_text(&g.top.join(&f)) {
                    repo.push((f, t));
                }
            }
        }
        // Git-ignored generated bindings: not source, but they declare the FFI functions.
        if let Some(g) = &git {
            let ignored = g
                .lines(&[
                    "ls-files",
                    "-o",
                    "-i",
                    "--exclude-standard",
                    "--",
                    &args.driver_dir,
                ])
                .unwrap_or_default();
            for f in ignored.into_iter().filter(|f| f.ends_with(".rs")) {
                if let Some(t) = tree::read_text(&g.top.join(&f)) {
                    index_only.push((f, t));
                }
            }
        }
    }
    // Apply the patches' results over the tree (a patch file not applied in the work tree).
    repo.retain(|(n, _)| !deleted.contains(n));
    for (n, t) in &world.chain {
        if let Some(e) = repo.iter_mut().find(|(rn, _)| rn == n) {
            e.1 = t.clone();
        } else if touched.contains(n) {
            repo.push((n.clone(), t.clone()));
        }
    }
    let mut index = Index::default();
    for (n, t) in repo.iter().chain(&index_only).chain(&kernel) {
        if n.ends_with(".rs") {
            index.add_source(n, &source::Source::new(t));
        } else {
            index.add_c(n, t);
        }
    }
    // Patches given as hunks only: index what they show.
    for (p, tv) in patches.iter().zip(&texts) {
        for (fd, t) in p.files.iter().zip(tv) {
            if t.partial {
                if let Some(n) = &t.new {
                    index.add_source(fd.path(), &source::Source::new(n));
                }
            }
        }
    }
    let repo_scans: Vec<(String, String, Scanned)> = repo
        .iter()
        .filter(|(n, t)| {
            n.ends_with(".rs") && !tree::is_generated(t) && !n.contains("tests/fixtures/")
        })
        .map(|(n, t)| (n.clone(), t.clone(), scan::scan_file(t, &index)))
        .collect();
    let reports: Vec<_> = patches
        .iter()
        .zip(&texts)
        .map(|(p, t)| review::review_patch(p, t, &args.driver_dir, &index, &repo_scans))
        .collect();
    let (text, total) = report::text(&reports, args.quiet);
    let exit = u8::from(total.missing > 0 || args.strict && total.stale > 0);
    if args.json {
        print!("{}", report::json(&reports, &total, i32::from(exit)));
    } else {
        print!("{text}");
    }
    Ok(exit)
}
