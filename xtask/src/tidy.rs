//! The house rules that a machine can check: the domain crate's dependency direction and
//! a `//!` doc comment at the top of every Rust module.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates the domain must never depend on (in normal dependencies, directly or not): the
/// domain does no I/O, so it needs no runtime, database, HTTP server or client.
pub const FORBIDDEN_IN_DOMAIN: &[&str] =
    &["tokio", "sqlx", "axum", "reqwest", "hyper", "tower", "mio"];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// Every tidy problem in the workspace, as a line a person can act on.
pub fn problems(root: &Path) -> Vec<String> {
    let mut problems = domain_dependency_problems(root);
    problems.extend(module_doc_problems(root));
    problems
}

/// Forbidden crates among the domain's normal dependencies, direct or transitive
/// (`cargo tree -e normal`).
pub fn domain_dependency_problems(root: &Path) -> Vec<String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "tree",
            "--offline",
            "-p",
            "huimin-domain",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root)
        .output();
    let output = match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Ok(output) => {
            return vec![format!(
                "cargo tree failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )];
        }
        Err(error) => return vec![format!("cannot run cargo tree: {error}")],
    };
    dependency_problems_in_tree(&output)
}

/// The check itself, on `cargo tree` output (one `name vX.Y.Z` per line).
pub fn dependency_problems_in_tree(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_IN_DOMAIN.contains(name))
        .map(|name| format!("huimin-domain depends on `{name}` (normal dependencies): the domain must not do I/O"))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Rust files whose first non-blank line is not a `//!` module doc.
pub fn module_doc_problems(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for folder in ["crates", "xtask", "fuzz/fuzz_targets"] {
        collect_rust_files(&root.join(folder), &mut files);
    }
    files.sort();
    files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            !starts_with_module_doc(&text)
        })
        .map(|file| {
            format!(
                "{}: the module does not open with a `//!` comment saying what it owns",
                file.display()
            )
        })
        .collect()
}

pub fn starts_with_module_doc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("#!["))
        .is_some_and(|line| line.starts_with("//!"))
}

fn collect_rust_files(folder: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}
