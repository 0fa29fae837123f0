//! The migrations, their order, and the rules that keep them history.
//!
//! A database is made by the local Supabase shim (`supabase/local/`, never applied on a real
//! Supabase project), then `sql/`, then local sign-in (`supabase/local/auth/`, which needs the
//! schema), each file in name order.
//!
//! History starts at release 0.1. `sql/releases/<release>.sha256` lists the migrations of a
//! release with their SHA-256 (the format `sha256sum -c` checks). A released migration never
//! changes and new ones sort after every released one, so an installation upgrades by applying
//! what it lacks; [`check_upgrade`] shows, in the test suite, that such an upgrade ends with
//! the schema of a fresh install.

use crate::paths;
use crate::postgres::Cluster;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Every migration of a local database, in the order it is applied.
pub fn in_order() -> Result<Vec<PathBuf>> {
    let repo = paths::repo();
    Ok([shim(&repo)?, schema(&repo)?, local_sign_in(&repo)?].concat())
}

fn shim(repo: &Path) -> Result<Vec<PathBuf>> {
    sql_files(&repo.join("supabase/local"))
}

fn schema(repo: &Path) -> Result<Vec<PathBuf>> {
    sql_files(&repo.join("sql"))
}

fn local_sign_in(repo: &Path) -> Result<Vec<PathBuf>> {
    sql_files(&repo.join("supabase/local/auth"))
}

fn sql_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

pub fn sha256_of(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// A release's migrations: `sql/` file names with their SHA-256, in order.
struct Release {
    name: String,
    migrations: Vec<(String, String)>,
}

/// The releases, oldest first (by version: 0.2 before 0.10).
fn releases(repo: &Path) -> Result<Vec<Release>> {
    let dir = repo.join("sql/releases");
    let mut releases = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
    {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sha256"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        let migrations = text
            .lines()
            .map(|line| {
                line.split_once("  ")
                    .map(|(sha, file)| (file.to_string(), sha.to_string()))
                    .with_context(|| format!("{}: not a sha256sum line: {line}", path.display()))
            })
            .collect::<Result<_>>()?;
        releases.push(Release {
            name: name.to_string(),
            migrations,
        });
    }
    let version = |r: &Release| -> Vec<u64> {
        r.name
            .split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    releases.sort_by_key(version);
    Ok(releases)
}

/// Released migrations are unchanged, and every newer one sorts after them.
fn check_history(repo: &Path) -> Result<()> {
    let names: Vec<String> = schema(repo)?.iter().map(|path| file_name(path)).collect();
    for release in releases(repo)? {
        for (position, (name, sha)) in release.migrations.iter().enumerate() {
            if names.get(position) != Some(name) {
                bail!(
                    "sql/{name} of release {} is not the migration at its place in sql/: a \
                     released migration stays, and new ones sort after every released one",
                    release.name
                );
            }
            if &sha256_of(&repo.join("sql").join(name))? != sha {
                bail!(
                    "sql/{name} changed after release {}: released migrations are history; \
                     undo the edit and add a new migration instead",
                    release.name
                );
            }
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Builds two databases in `cluster`: one fresh from every migration, one from the latest
/// release's migrations, then the rows of that release (`tests/sql/data_at_<release>.sql`),
/// then the newer migrations; and fails unless their schemas are the same. Both dumps are kept
/// in `logs` when they differ.
pub fn check_upgrade(cluster: &Cluster, logs: &Path) -> Result<()> {
    let repo = paths::repo();
    check_history(&repo)?;
    let releases = releases(&repo)?;
    let release = releases.last().context("sql/releases/ holds no release")?;
    let (released, newer): (Vec<PathBuf>, Vec<PathBuf>) =
        schema(&repo)?.into_iter().partition(|path| {
            release
                .migrations
                .iter()
                .any(|(name, _)| *name == file_name(path))
        });

    cluster.recreate_database("cosound_fresh")?;
    cluster.apply("cosound_fresh", &in_order()?)?;

    cluster.recreate_database("cosound_upgraded")?;
    let at_release = [shim(&repo)?, released, local_sign_in(&repo)?].concat();
    cluster.apply("cosound_upgraded", &at_release)?;
    let data = repo.join(format!("tests/sql/data_at_{}.sql", release.name));
    cluster
        .run_file("cosound_upgraded", &data)
        .with_context(|| format!("{} does not load", data.display()))?;
    cluster.apply("cosound_upgraded", &newer)?;

    let fresh = comparable(&cluster.schema("cosound_fresh")?);
    let upgraded = comparable(&cluster.schema("cosound_upgraded")?);
    if fresh == upgraded {
        println!(
            "an install upgraded from {} by {} migration(s) has the schema of a fresh one",
            release.name,
            newer.len()
        );
        return Ok(());
    }
    std::fs::create_dir_all(logs)?;
    std::fs::write(logs.join("schema-fresh.sql"), fresh.join("\n"))?;
    std::fs::write(logs.join("schema-upgraded.sql"), upgraded.join("\n"))?;
    let line = fresh
        .iter()
        .zip(&upgraded)
        .position(|(a, b)| a != b)
        .unwrap_or(fresh.len().min(upgraded.len()));
    bail!(
        "an install upgraded from {} differs from a fresh one from line {} of their schemas \
         (both in {})",
        release.name,
        line + 1,
        logs.display()
    )
}

/// A schema dump's lines, without pg_dump's per-run `\restrict` key, and with each run of
/// GRANT and REVOKE lines sorted: grants made in another order list a function's or a
/// table's grantees in another order, with the same privileges.
fn comparable(dump: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut grants: Vec<String> = Vec::new();
    for line in dump.lines() {
        if line.starts_with("\\restrict") || line.starts_with("\\unrestrict") {
            continue;
        }
        if line.starts_with("GRANT ") || line.starts_with("REVOKE ") {
            grants.push(line.to_string());
            continue;
        }
        grants.sort();
        lines.append(&mut grants);
        lines.push(line.to_string());
    }
    grants.sort();
    lines.append(&mut grants);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: Vec<PathBuf>) -> Vec<String> {
        files.iter().map(|path| file_name(path)).collect()
    }

    #[test]
    fn released_migrations_are_unchanged_and_come_first() {
        check_history(&paths::repo()).unwrap();
    }

    #[test]
    fn migrations_are_numbered_without_gaps() {
        for (position, name) in names(schema(&paths::repo()).unwrap()).iter().enumerate() {
            assert_eq!(
                name.get(..5),
                Some(format!("{:04}_", position + 1).as_str()),
                "sql/{name} is not numbered {}",
                position + 1
            );
        }
    }

    /// A fixed history can be told apart from an edited one.
    #[test]
    fn an_edited_release_is_refused() {
        let repo = std::env::temp_dir().join(format!("cosound-history-{}", std::process::id()));
        std::fs::create_dir_all(repo.join("sql/releases")).unwrap();
        std::fs::write(repo.join("sql/0001_a.sql"), "select 1;\n").unwrap();
        let sha = sha256_of(&repo.join("sql/0001_a.sql")).unwrap();
        std::fs::write(
            repo.join("sql/releases/0.1.sha256"),
            format!("{sha}  0001_a.sql\n"),
        )
        .unwrap();
        check_history(&repo).unwrap();
        std::fs::write(repo.join("sql/0001_a.sql"), "select 2;\n").unwrap();
        let edited = check_history(&repo).unwrap_err().to_string();
        assert!(edited.contains("changed after release 0.1"), "{edited}");
        std::fs::write(repo.join("sql/0001_a.sql"), "select 1;\n").unwrap();
        std::fs::write(repo.join("sql/0000_b.sql"), "select 3;\n").unwrap();
        let inserted = check_history(&repo).unwrap_err().to_string();
        assert!(
            inserted.contains("not the migration at its place"),
            "{inserted}"
        );
        std::fs::remove_dir_all(&repo).unwrap();
    }

    #[test]
    fn grants_in_another_order_compare_equal_and_nothing_else_does() {
        let one = "\\restrict abc\nCREATE TABLE t (a int, b int);\nGRANT SELECT ON t TO x;\nGRANT SELECT ON t TO y;\n";
        let other = "\\restrict xyz\nCREATE TABLE t (a int, b int);\nGRANT SELECT ON t TO y;\nGRANT SELECT ON t TO x;\n";
        assert_eq!(comparable(one), comparable(other));
        let columns =
            "CREATE TABLE t (b int, a int);\nGRANT SELECT ON t TO x;\nGRANT SELECT ON t TO y;\n";
        assert_ne!(comparable(one), comparable(columns));
    }

    /// The Supabase CLI reads `supabase/migrations/`; those are links to `sql/`, so the two
    /// can never drift apart unnoticed.
    #[test]
    fn supabase_migrations_are_exactly_the_sql_migrations() {
        let repo = paths::repo();
        let sql = names(schema(&repo).unwrap());
        assert_eq!(
            names(sql_files(&repo.join("supabase/migrations")).unwrap()),
            sql,
            "every sql/ migration needs its link: cd supabase/migrations && ln -s ../../sql/NAME NAME"
        );
        for name in &sql {
            let original = std::fs::read(repo.join("sql").join(name)).unwrap();
            let mirror = std::fs::read(repo.join("supabase/migrations").join(name)).unwrap();
            assert_eq!(
                mirror, original,
                "supabase/migrations/{name} differs from sql/{name}"
            );
        }
    }

    /// The extension's tests build their schema from the same files (`fixture.rs` embeds
    /// them), so a new migration must be listed there too.
    #[test]
    fn the_extension_tests_apply_every_migration_in_order() {
        let repo = paths::repo();
        let fixture = std::fs::read_to_string(repo.join("pg_extension/src/fixture.rs")).unwrap();
        let listed: Vec<String> = fixture
            .lines()
            .filter_map(|line| line.trim().strip_prefix("\"sql/"))
            .filter_map(|rest| rest.strip_suffix("\","))
            .map(str::to_string)
            .collect();
        assert_eq!(listed, names(schema(&repo).unwrap()));
    }
}
