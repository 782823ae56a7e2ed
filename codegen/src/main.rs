//! `codegen write` regenerates the committed copies in `generated/`; `codegen check` fails when
//! they have drifted from what the spec and templates produce.
//!
//! Paths are relative to the workspace root (the parent of this crate), so the commands work from
//! any directory: `cargo run -p codegen -- write` / `cargo run -p codegen -- check`.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: codegen [--root DIR] <write|check>\n  \
    write       regenerate generated/openapi.yaml and generated/api.rs\n  \
    check       exit 1 if they differ from what spec/ and codegen/templates/ produce\n  \
    --root DIR  the workspace holding spec/, codegen/templates/ and generated/ \
    (default: the one this binary was built in)";

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The generated files, as (path relative to the workspace root, expected contents).
fn expected(root: &Path) -> Result<Vec<(&'static str, String)>> {
    let output = codegen::generate(&root.join("spec"), &root.join("codegen").join("templates"))?;
    Ok(vec![("generated/openapi.yaml", output.openapi_yaml), ("generated/api.rs", output.api_rs)])
}

fn write(root: &Path) -> Result<()> {
    let files = expected(root)?;
    let dir = root.join("generated");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (rel, contents) in files {
        let path = root.join(rel);
        let unchanged = std::fs::read_to_string(&path).map(|old| old == contents).unwrap_or(false);
        if unchanged {
            println!("unchanged {rel}");
        } else {
            std::fs::write(&path, &contents).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {rel}");
        }
    }
    Ok(())
}

/// Describes how `actual` differs from `expected`: the first differing line (1-based) with both
/// versions of it, or the missing/extra lines at the end.
fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut exp = expected.split_inclusive('\n');
    let mut act = actual.split_inclusive('\n');
    let mut line = 1usize;
    loop {
        match (exp.next(), act.next()) {
            (Some(e), Some(a)) if e == a => line += 1,
            (Some(e), Some(a)) if e.trim_end_matches('\n') == a.trim_end_matches('\n') => {
                return Some(format!("line {line} differs only in its line ending: expected {e:?}, found {a:?}"))
            }
            (Some(e), Some(a)) => {
                return Some(format!(
                    "first difference at line {line}:\n    expected: {:?}\n    found:    {:?}",
                    e.trim_end_matches('\n'),
                    a.trim_end_matches('\n')
                ))
            }
            (Some(e), None) => {
                return Some(format!(
                    "the file ends early: line {line} is missing (expected {:?})",
                    e.trim_end_matches('\n')
                ))
            }
            (None, Some(a)) => {
                return Some(format!(
                    "the file has extra content from line {line} (found {:?})",
                    a.trim_end_matches('\n')
                ))
            }
            // Equal line sequences but different strings cannot happen with split_inclusive.
            (None, None) => return Some("the files differ".to_string()),
        }
    }
}

/// The list of drifted files with a description each; empty when everything is up to date.
fn check(root: &Path) -> Result<Vec<String>> {
    let mut drifted = Vec::new();
    for (rel, contents) in expected(root)? {
        let path = root.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(actual) => {
                if let Some(diff) = first_difference(&contents, &actual) {
                    drifted.push(format!("{rel} is out of date; {diff}"));
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                drifted.push(format!("{rel} is missing"));
            }
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }
    Ok(drifted)
}

fn run() -> Result<ExitCode> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let root = match args.iter().position(|a| a == "--root") {
        Some(i) if i + 1 < args.len() => {
            let root = PathBuf::from(args.remove(i + 1));
            args.remove(i);
            root
        }
        Some(_) => bail!("--root needs a directory\n{USAGE}"),
        None => workspace_root(),
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["write"] => {
            write(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        ["check"] => {
            let drifted = check(&root)?;
            if drifted.is_empty() {
                println!("generated/ is up to date");
                Ok(ExitCode::SUCCESS)
            } else {
                for d in &drifted {
                    eprintln!("codegen check: {d}");
                }
                eprintln!("codegen check: run `cargo run -p codegen -- write` to regenerate");
                Ok(ExitCode::FAILURE)
            }
        }
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("{USAGE}"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("codegen: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn first_difference_reports_the_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        let d = first_difference("a\nb\nc\n", "a\nX\nc\n").unwrap();
        assert!(d.contains("line 2") && d.contains("\"b\"") && d.contains("\"X\""), "{d}");
        let d = first_difference("a\nb\n", "a\n").unwrap();
        assert!(d.contains("line 2") && d.contains("missing"), "{d}");
        let d = first_difference("a\n", "a\nb\n").unwrap();
        assert!(d.contains("line 2") && d.contains("extra"), "{d}");
        let d = first_difference("a\nb", "a\nb\n").unwrap();
        assert!(d.contains("line 2"), "{d}");
    }
}
