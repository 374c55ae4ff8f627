//! `templates/app`, generated as `cargo generate` would (its placeholders substituted) into
//! a scratch directory outside the workspace, with `duet` by path: the new app must be
//! formatted, build, and pass its own test.
//!
//! It builds in this workspace's target directory, which cargo does not lock while test
//! binaries run, so the dependencies the workspace already built are reused: with the
//! workspace's `Cargo.lock` copied in, only the duet crates (optimised, as an outside
//! app's dependencies are), the changed features and the app itself compile.

use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "duet-template-check";

/// Copies `template` into `to`, substituting the placeholders, leaving out cargo-generate's
/// own configuration.
fn generate(template: &Path, to: &Path, duet_path: &Path) {
    for entry in std::fs::read_dir(template).expect("read the template") {
        let entry = entry.expect("template entry");
        let (from, into) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&into).expect("create a directory");
            generate(&from, &into, duet_path);
        } else if entry.file_name() != "cargo-generate.toml" {
            let text = std::fs::read_to_string(&from).expect("template files are text");
            let text = text
                .replace("{{project-name}}", NAME)
                .replace("{{crate_name}}", &NAME.replace('-', "_"))
                .replace("{{duet_path}}", &duet_path.display().to_string());
            assert!(
                !text.contains("{{"),
                "{} has a placeholder this test does not know",
                from.display()
            );
            std::fs::write(&into, text).expect("write a generated file");
        }
    }
}

/// Runs `cargo ARGS` in `dir` as a developer would there: none of the environment the
/// outer cargo gives this test (its package's variables, the workspace's `[env]`), so the
/// generated `.cargo/config.toml` is what sets the build's.
fn cargo(dir: &Path, target_dir: &Path, args: &[&str]) {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(dir);
    for (var, _) in std::env::vars() {
        let outer =
            (var.starts_with("CARGO_") && var != "CARGO_HOME") || ["LIBSQLITE3_FLAGS", "CFLAGS"].contains(&&*var);
        if outer {
            command.env_remove(var);
        }
    }
    command.env("CARGO_TARGET_DIR", target_dir);
    let output = command.output().expect("run cargo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo {args:?} failed in the generated app:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_generated_app_builds_and_passes_its_test() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.join("../..").canonicalize().expect("the workspace");
    let scratch = tempfile::tempdir().expect("scratch directory");
    let app = scratch.path().join(NAME);
    std::fs::create_dir_all(&app).unwrap();
    generate(&workspace.join("templates/app"), &app, manifest);
    std::fs::copy(workspace.join("Cargo.lock"), app.join("Cargo.lock")).expect("copy Cargo.lock");
    let config = std::fs::read_to_string(app.join(".cargo/config.toml")).unwrap();
    let workspace_config = std::fs::read_to_string(workspace.join(".cargo/config.toml")).unwrap();
    for line in workspace_config
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
    {
        assert!(
            config.contains(line),
            "the template's .cargo/config.toml lacks the workspace's {line:?}"
        );
    }
    // The build a deployment uses is the workspace's, measured in docs/benchmarks.md.
    let app_manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let workspace_manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
    let production = settings(&workspace_manifest, "[profile.production]");
    assert!(production.contains(&"lto = \"fat\""), "{production:?}");
    assert_eq!(
        settings(&app_manifest, "[profile.production]"),
        production,
        "the template's production profile differs from the workspace's"
    );

    let target_dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_owned();
    cargo(&app, &target_dir, &["fmt", "--check"]);
    cargo(&app, &target_dir, &["test", "--offline"]);
}

/// The `key = value` lines of `table` in a Cargo manifest, in order (comments left out).
fn settings<'a>(manifest: &'a str, table: &str) -> Vec<&'a str> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != table)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(str::trim)
        .collect()
}
