//! `makemigrations [NAME] [--check]`: the migration that makes the database match the app's
//! models, written into the app's migration set for both backends.
#![allow(clippy::print_stdout)]

use std::path::Path;

use duet_models::FRAMEWORK_MIGRATIONS;
use duet_models::autodetect::Plan;

use crate::{App, Error};

/// Detects the changes from the app's migrations (read from their directories, or from
/// `dir`) to its models; writes them as one migration named `name`, or with `check` only
/// lists them and fails.
pub(crate) fn run(app: &App, dir: Option<&Path>, name: Option<&str>, check: bool) -> Result<(), Error> {
    if app.models().is_empty() {
        println!("No changes detected.");
        return Ok(());
    }
    let own = app.own_migrations(dir)?;
    let plan = Plan::detect(&[FRAMEWORK_MIGRATIONS], &own, app.models())?;
    if plan.is_empty() {
        println!("No changes detected.");
        return Ok(());
    }
    let changes = plan.changes();
    if check {
        println!("The models differ from the migrations of {}:", own.name());
        for change in &changes {
            println!("  - {change}");
        }
        return Err(Error::ModelsChanged {
            app: app.name().to_owned(),
            changes: changes.len(),
        });
    }
    let written = plan.write(name, duet_models::now())?;
    println!("Wrote migration {}:", written.version);
    for change in &changes {
        println!("  - {change}");
    }
    println!("  {}", written.sqlite.display());
    println!("  {}", written.postgres.display());
    println!("Review its SQL, then run `{} migrate`.", app.name());
    Ok(())
}

#[cfg(test)]
mod tests {
    use duet_models::MigrationSet;

    use crate::{App, Error};

    fn set(name: &'static str) -> MigrationSet {
        MigrationSet::from_directories(name, "sqlite", "postgres")
    }

    #[test]
    fn the_models_migrations_go_into_the_one_set_of_the_app() {
        assert!(matches!(App::new("t").own_migrations(None), Err(Error::NoMigrationSet)));
        let two = App::new("t").migrations(set("a")).migrations(set("b"));
        let several = two.own_migrations(None).unwrap_err();
        assert_eq!(
            several.to_string(),
            "the app has 2 migration sets (a, b); its models' migrations go into one: declare exactly one App::migrations(…)"
        );
        let one = App::new("t").migrations(set("a"));
        assert_eq!(one.own_migrations(None).unwrap().name(), "a");
        let elsewhere = one.own_migrations(Some("/srv/app/migrations".as_ref())).unwrap();
        assert_eq!(
            elsewhere.directories(),
            (
                "/srv/app/migrations/sqlite".as_ref(),
                "/srv/app/migrations/postgres".as_ref()
            )
        );
        let sets = one.migration_sets(Some("/srv/app/migrations".as_ref())).unwrap();
        assert_eq!(sets.iter().map(MigrationSet::name).collect::<Vec<_>>(), ["duet", "a"]);
        assert!(matches!(
            App::new("t").migration_sets(Some("/x".as_ref())),
            Err(Error::NoMigrationSet)
        ));
    }
}
