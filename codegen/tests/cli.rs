//! The `codegen` binary: `write` regenerates generated/, `check` exits 1 naming the drifted file
//! and its first differing line.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn codegen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codegen")).args(args).output().expect("running codegen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A workspace-shaped temp dir holding copies of spec/ and codegen/templates/, without generated/.
fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&workspace().join("spec"), &dir.path().join("spec"));
    copy_dir(&templates(), &dir.path().join("codegen").join("templates"));
    dir
}

#[test]
fn the_committed_generated_files_are_up_to_date() {
    let out = codegen(&["check"]);
    assert!(
        out.status.success(),
        "generated/ has drifted from spec/ and codegen/templates/ (run `cargo run -p codegen -- write`):\n{}",
        text(&out.stderr)
    );
}

#[test]
fn write_then_check_round_trips_and_check_reports_drift() {
    let dir = scratch_workspace();
    let root = dir.path().to_str().unwrap();

    let out = codegen(&["--root", root, "check"]);
    assert_eq!(out.status.code(), Some(1), "check without generated/ fails");
    assert!(text(&out.stderr).contains("generated/openapi.yaml is missing"), "{}", text(&out.stderr));

    let out = codegen(&["--root", root, "write"]);
    assert!(out.status.success(), "write: {}", text(&out.stderr));
    let expected = codegen::generate(&dir.path().join("spec"), &dir.path().join("codegen/templates")).unwrap();
    let api_path = dir.path().join("generated/api.rs");
    assert_eq!(std::fs::read_to_string(&api_path).unwrap(), expected.api_rs);
    assert_eq!(std::fs::read_to_string(dir.path().join("generated/openapi.yaml")).unwrap(), expected.openapi_yaml);

    let out = codegen(&["--root", root, "check"]);
    assert!(out.status.success(), "check after write: {}", text(&out.stderr));

    // Edit line 5 of api.rs by hand.
    let mut lines: Vec<String> = expected.api_rs.lines().map(String::from).collect();
    lines[4] = "// edited by hand".to_string();
    std::fs::write(&api_path, lines.join("\n") + "\n").unwrap();
    let out = codegen(&["--root", root, "check"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "check after a hand edit fails: {stderr}");
    assert!(stderr.contains("generated/api.rs is out of date"), "{stderr}");
    assert!(stderr.contains("line 5") && stderr.contains("// edited by hand"), "{stderr}");
    assert!(!stderr.contains("openapi.yaml"), "only the drifted file is named: {stderr}");
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let out = codegen(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("usage: codegen"), "{}", text(&out.stderr));
}
