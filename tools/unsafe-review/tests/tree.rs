// SPDX-License-Identifier: GPL-2.0

//! Tree mode: the layer policy on a fixture tree (in a throw-away git repository, so that
//! git-ignored files can be told apart), on this repository's driver, and a robustness run over
//! the `rust/` directory of a kernel tree (`VGRS_KDIR`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readdir").flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            copy_dir(&p, &to.join(&name));
        } else {
            let name = name.strip_suffix(".in").unwrap_or(&name).to_string();
            std::fs::copy(&p, to.join(name)).expect("copy");
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs")
        .status
        .success();
    assert!(ok, "git {args:?}");
}

/// A copy of the fixture tree as `drv/` in a new directory; a git repository if `with_git`.
fn fixture_tree(name: &str, with_git: bool) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(&manifest().join("tests/fixtures/tree"), &root.join("drv"));
    if with_git {
        std::fs::write(root.join(".gitignore"), "/drv/glue/bindings_generated.rs\n")
            .expect("write");
        git(&root, &["init", "-q"]);
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "fixture"]);
    }
    root
}

fn run_tree(cwd: &Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_unsafe-review"))
        .current_dir(cwd)
        // The fixture trees are under target/, which this repository ignores: keep git from
        // finding it.
        .env("GIT_CEILING_DIRECTORIES", cwd.parent().unwrap_or(cwd))
        .env_remove("VGRS_KDIR")
        .args(args)
        .output()
        .expect("runs unsafe-review");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn tree_policy_on_fixture() {
    let root = fixture_tree("tree-git", true);
    let (out, code) = run_tree(&root, &["--tree", "drv"]);
    let got = format!("{out}exit status: {code}\n");
    let path = manifest().join("tests/fixtures/tree.expected");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &got).expect("write");
        return;
    }
    let want = std::fs::read_to_string(&path).expect("tree.expected");
    assert_eq!(
        got,
        want,
        "tree mode output differs from {}",
        path.display()
    );
}

#[test]
fn tree_without_git_skips_generated_files() {
    let root = fixture_tree("tree-nogit", false);
    let (out, code) = run_tree(&root, &["--tree", "drv", "-q"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("drv/glue/bindings_generated.rs (generated)"),
        "{out}"
    );
    assert!(
        out.contains("drv/glue/helpers_generated.rs (generated)"),
        "{out}"
    );
    assert_eq!(out.matches(": policy: ").count(), 8, "{out}");
}

#[test]
fn tree_clean_layers_pass() {
    let root = fixture_tree("tree-clean", true);
    let (out, code) = run_tree(&root, &["--tree", "drv/drm"]);
    assert_eq!(code, 0, "{out}");
    let (out, code) = run_tree(&root, &["--tree", "drv", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"mode\": \"tree\""), "{out}");
    assert!(
        out.contains("\"not_source\": [\n    \"drv/glue/bindings_generated.rs (git-ignored)\""),
        "{out}"
    );
}

/// The gate: this repository's driver follows the layer policy (the same command as the
/// `make check` step).
#[test]
fn tree_policy_on_this_driver() {
    let top = manifest().join("../..");
    let dir = top.join("drivers/gpu/drm/virtio_rs");
    if !dir.is_dir() {
        println!("note: {} not found; skipped", dir.display());
        return;
    }
    let (out, code) = run_tree(&top, &["--tree", "drivers/gpu/drm/virtio_rs", "-q"]);
    print!("{out}");
    assert_eq!(code, 0, "unsafe policy violations in the driver:\n{out}");
}

/// Robustness: every file of the kernel's `rust/` directory goes through the whole pipeline
/// without a crash; prints how many parse with syn.
#[test]
fn kernel_rust_dir_robustness() {
    let Some(kdir) = std::env::var_os("VGRS_KDIR").filter(|v| !v.is_empty()) else {
        println!("note: VGRS_KDIR is not set: kernel rust/ robustness run skipped");
        return;
    };
    let rust = Path::new(&kdir).join("rust");
    if !rust.is_dir() {
        println!(
            "note: {} does not exist: robustness run skipped",
            rust.display()
        );
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_unsafe-review"))
        .args(["--tree"])
        .arg(&rust)
        .args(["--no-policy", "--include-generated", "-q"])
        .output()
        .expect("runs unsafe-review");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "crashed or failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("unsafe-review: tree "))
        .expect("summary line");
    println!("{summary}");
    // "N sites in M source files (P parsed by syn, ...)"
    let num_before = |word: &str| -> usize {
        let i = summary.find(word).expect(word);
        summary[..i]
            .split_whitespace()
            .last()
            .and_then(|n| n.trim_start_matches('(').parse().ok())
            .expect("a number")
    };
    let files = num_before(" source files");
    let parsed = num_before(" parsed by syn");
    let sites = num_before(" sites in");
    println!("robustness: {files} files scanned, {parsed} parsed by syn, {sites} unsafe sites");
    assert!(files > 0 && parsed <= files && sites > 0);
}
