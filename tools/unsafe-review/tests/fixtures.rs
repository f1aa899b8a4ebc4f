// SPDX-License-Identifier: GPL-2.0

//! Fixture patches with their expected output (`tests/fixtures/NAME.patch` and
//! `NAME.expected`; the files the patch applies to in `NAME.base/`, else the patch alone is
//! used; extra options in `NAME.args`). `UPDATE_EXPECT=1 cargo test` rewrites the expected
//! files: review the diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the tool on fixture `name` with `extra` options: (stdout, exit status).
fn run(name: &str, extra: &[&str]) -> (String, i32) {
    let dir = fixtures();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_unsafe-review"));
    cmd.current_dir(&dir).env_remove("VGRS_KDIR");
    if let Ok(a) = std::fs::read_to_string(dir.join(format!("{name}.args"))) {
        cmd.args(a.split_whitespace());
    }
    if dir.join(format!("{name}.base")).is_dir() {
        cmd.arg("--base").arg(format!("{name}.base"));
    } else {
        cmd.arg("--hunks-only");
    }
    cmd.args(extra).arg(format!("{name}.patch"));
    let out = cmd.output().expect("runs unsafe-review");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{name}: stderr: {stderr}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn check(name: &str) {
    let (out, code) = run(name, &[]);
    let got = format!("{out}exit status: {code}\n");
    let path = fixtures().join(format!("{name}.expected"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &got).expect("writes the expected output");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECT=1 creates it)", path.display()));
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(n, (a, b))| format!("line {}:\n  want: {a}\n  got:  {b}", n + 1))
            .collect();
        panic!(
            "{name}: output differs from {} ({} vs {} lines)\n{}\n--- full output ---\n{got}",
            path.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

macro_rules! fixture_tests {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($name);
            }
        )*
    };
}

fixture_tests! {
    missing_comment => "missing-comment",
    todo_comment => "todo-comment",
    stale_comment => "stale-comment",
    unsafe_in_macro_body => "macro-body",
    unsafe_impl => "unsafe-impl",
    renamed_file => "renamed-file",
    deleted_file => "deleted-file",
    new_file_all_kinds_and_doctest => "new-file",
    unparseable_hunk => "unparseable-hunk",
    multiple_ops_in_one_block => "multiple-ops",
    safety_doc_edit => "safety-doc-edit",
    mbox_series => "mbox-series",
    plain_diff => "plain-diff",
}

#[test]
fn strict_makes_stale_fail() {
    let (_, code) = run("stale-comment", &[]);
    assert_eq!(code, 0);
    let (out, code) = run("stale-comment", &["--strict"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn json_output() {
    let (out, code) = run("multiple-ops", &["--json"]);
    assert_eq!(code, 0);
    for key in [
        "\"mode\": \"patch\"",
        "\"kind\": \"unsafe-block\"",
        "\"change\": \"added\"",
        "\"kind\": \"static-mut\"",
        "\"kind\": \"union-field\"",
        "\"kind\": \"ffi-call\"",
        "\"kind\": \"unsafe-call\"",
        "\"name\": \"free_slot\"",
        "\"exit_status\": 0",
    ] {
        assert!(out.contains(key), "missing {key} in:\n{out}");
    }
    let (out, code) = run("missing-comment", &["--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"verdict\": \"missing\""), "{out}");
    assert!(out.contains("\"missing_justification\": 2"), "{out}");
}

#[test]
fn stdin_input() {
    let dir = fixtures();
    let patch = std::fs::File::open(dir.join("deleted-file.patch")).expect("fixture");
    let out = Command::new(env!("CARGO_BIN_EXE_unsafe-review"))
        .current_dir(&dir)
        .env_remove("VGRS_KDIR")
        .args(["--hunks-only", "-"])
        .stdin(patch)
        .output()
        .expect("runs");
    let (file_out, _) = run("deleted-file", &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), file_out);
}

#[test]
fn bad_input_is_a_clean_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_unsafe-review"))
        .current_dir(fixtures())
        .args(["--hunks-only", "missing-comment.base"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("unsafe-review: error: "), "{err}");
}
