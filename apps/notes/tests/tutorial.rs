//! docs/tutorial.md and this app are one text: the tutorial's code blocks are the app's code,
//! so that following the tutorial verbatim builds this app, and the tutorial cannot rot.
//!
//! A comment line before a block names the file it belongs to, relative to the app:
//! - `<!-- file: src/notes.rs -->`: the block is a piece of the file, verbatim;
//! - `<!-- file: src/main.rs (so far) -->`: an earlier version of the file, which later steps
//!   grow: each of its lines is in the file, in the same order;
//! - `<!-- output: notes routes -->`: what the app prints for those arguments.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const TUTORIAL: &str = include_str!("../../../docs/tutorial.md");

/// What the comment before a block says of it.
#[derive(Debug, Clone, PartialEq)]
enum Marker {
    File { path: String, so_far: bool },
    Output(Vec<String>),
}

#[derive(Debug)]
struct Block {
    /// The line of its opening fence (1-based).
    line: usize,
    lang: String,
    marker: Option<Marker>,
    text: String,
}

fn marker(line: &str) -> Option<Marker> {
    let inner = line.trim().strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    if let Some(path) = inner.strip_prefix("file:") {
        let path = path.trim();
        return Some(match path.strip_suffix("(so far)") {
            Some(path) => Marker::File {
                path: path.trim().to_owned(),
                so_far: true,
            },
            None => Marker::File {
                path: path.to_owned(),
                so_far: false,
            },
        });
    }
    let args = inner.strip_prefix("output: notes")?;
    Some(Marker::Output(args.split_whitespace().map(str::to_owned).collect()))
}

/// The tutorial's fenced blocks, with the marker on the line before each.
fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = TUTORIAL.lines().enumerate();
    let mut previous = "";
    while let Some((n, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let mut text = String::new();
            for (_, line) in lines.by_ref() {
                if line == "```" {
                    break;
                }
                text.push_str(line);
                text.push('\n');
            }
            blocks.push(Block {
                line: n + 1,
                lang: lang.to_owned(),
                marker: marker(previous),
                text,
            });
            previous = "";
        } else {
            previous = line;
        }
    }
    blocks
}

fn app_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(app_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of `file` that `block` shows: a verbatim piece's range, or an earlier version's
/// lines found in order. `None` when the block is not in the file.
fn shown_lines(file: &str, block: &str, so_far: bool) -> Option<Vec<usize>> {
    let lines: Vec<&str> = file.lines().collect();
    let wanted: Vec<&str> = block.lines().collect();
    if !so_far {
        let start = (0..lines.len()).find(|&i| lines[i..].starts_with(&wanted))?;
        return Some((start..start + wanted.len()).collect());
    }
    let mut at = 0;
    let mut found = Vec::new();
    for line in wanted.iter().filter(|l| !l.trim().is_empty()) {
        at += lines[at..].iter().position(|l| l == line)?;
        found.push(at);
        at += 1;
    }
    Some(found)
}

#[test]
fn every_rust_and_sql_block_names_its_file() {
    let blocks = blocks();
    assert!(blocks.len() > 20, "the tutorial was read: {} blocks", blocks.len());
    for block in &blocks {
        if block.lang == "rust" || block.lang == "sql" {
            assert!(
                matches!(block.marker, Some(Marker::File { .. })),
                "docs/tutorial.md:{}: a {} block without a `<!-- file: … -->` line before it",
                block.line,
                block.lang
            );
        }
    }
}

#[test]
fn each_block_is_the_text_of_its_file() {
    for block in blocks() {
        if let Some(Marker::File { path, so_far }) = &block.marker {
            assert!(
                shown_lines(&read(path), &block.text, *so_far).is_some(),
                "docs/tutorial.md:{}: this block is not {} {path}:\n{}",
                block.line,
                if *so_far { "an earlier version of" } else { "a piece of" },
                block.text
            );
        }
    }
}

/// Every file of the app's code, relative to the app.
fn code_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            code_files(&path, out);
        } else {
            out.push(path.strip_prefix(app_dir()).unwrap().display().to_string());
        }
    }
}

#[test]
fn the_tutorial_shows_every_line_of_the_app() {
    let mut files = Vec::new();
    code_files(&app_dir().join("src"), &mut files);
    code_files(&app_dir().join("migrations"), &mut files);
    files.push("build.rs".to_owned());
    let blocks = blocks();
    for path in files {
        let text = read(&path);
        let mut shown = BTreeSet::new();
        for block in &blocks {
            if let Some(Marker::File { path: of, so_far }) = &block.marker
                && *of == path
            {
                shown.extend(shown_lines(&text, &block.text, *so_far).unwrap_or_default());
            }
        }
        let missing: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(n, line)| !line.trim().is_empty() && !shown.contains(n))
            .map(|(n, line)| format!("{path}:{}: {line}", n + 1))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/tutorial.md does not show:\n{}",
            missing.join("\n")
        );
    }
}

#[test]
fn the_outputs_it_shows_are_the_apps() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("notes.sqlite3").display());
    let outputs: Vec<Block> = blocks()
        .into_iter()
        .filter(|b| matches!(b.marker, Some(Marker::Output(_))))
        .collect();
    assert!(!outputs.is_empty(), "the tutorial shows the app's output somewhere");
    for block in outputs {
        let Some(Marker::Output(args)) = &block.marker else {
            unreachable!()
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = common::notes(dir.path(), &url, &args);
        command.env("NOTES_INBOX_SECRET", "change-me");
        let output = command.output().expect("run notes");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            block.text,
            "docs/tutorial.md:{}: `notes {}` prints something else",
            block.line,
            args.join(" ")
        );
    }
}

#[test]
fn the_readme_opens_with_this_apps_main() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```rust\n").expect("the README shows Rust") + "```rust\n".len();
    let end = start + readme[start..].find("```\n").expect("the block ends");
    assert_eq!(
        &readme[start..end],
        read("src/main.rs"),
        "README.md's first example is src/main.rs"
    );
}
