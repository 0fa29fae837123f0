//! The database cluster of a stack: created once, started with `pg_ctl`, migrated in order.
//!
//! Migrations ([`migrations`](crate::migrations) says which, in which order) are the plain SQL
//! files a DBA would apply with psql, each once, in its own transaction. A migration that
//! changed after it was applied is refused: applied migrations are history and never edited.

use crate::cmd;
use crate::config::Config;
use crate::migrations;
use crate::paths;
use crate::services;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const DATABASE: &str = "cosound";
pub const SUPERUSER: &str = "postgres";

pub struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    pub fn new(stack_dir: &Path, port: u16) -> Self {
        Cluster {
            dir: stack_dir.to_path_buf(),
            port,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("pgdata")
    }

    /// The Unix socket directory: only the cluster's owner (and root) may connect through it.
    fn socket_dir(&self) -> PathBuf {
        self.dir.join("pgsocket")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("logs/postgres.log")
    }

    /// The stack's own build of the `cosound` extension (see [`ExtensionDir`]).
    pub fn extension_dir(&self) -> ExtensionDir {
        ExtensionDir(self.dir.join("extension"))
    }

    /// The server's settings on the command line (through `pg_ctl`'s shell, hence the quotes
    /// around `$`). The stack's extension directories come first, so this cluster loads only
    /// its own `cosound`; the install's (`$system`, `$libdir`) still serve pgvector and the rest.
    fn server_settings(&self) -> String {
        let extension = self.extension_dir();
        format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c 'extension_control_path={}:$system' -c 'dynamic_library_path={}:$libdir'",
            self.port,
            self.socket_dir().display(),
            extension.share().display(),
            extension.lib().display(),
        )
    }

    pub fn is_running(&self) -> bool {
        cmd::succeeds(
            cmd::as_db_user(&paths::pg_bin("pg_ctl"))
                .arg("status")
                .arg("-D")
                .arg(self.data()),
        )
    }

    pub fn init(&self) -> Result<()> {
        if self.data().join("PG_VERSION").exists() {
            return Ok(());
        }
        for dir in [self.data(), self.socket_dir(), self.dir.join("logs")] {
            std::fs::create_dir_all(&dir)?;
        }
        restrict_to_owner(&self.socket_dir())?;
        cmd::chown_to_db_user(&self.data())?;
        cmd::chown_to_db_user(&self.socket_dir())?;
        cmd::chown_to_db_user(&self.dir.join("logs"))?;
        cmd::run(
            cmd::as_db_user(&paths::pg_bin("initdb"))
                .arg("-D")
                .arg(self.data())
                .args(["--username", SUPERUSER, "--encoding", "UTF8", "--no-locale"])
                // Local socket: its directory is private to the owner. TCP: passwords only.
                .args([
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ]),
        )
    }

    pub fn start(&self) -> Result<()> {
        if self.is_running() {
            println!("postgres already runs on 127.0.0.1:{}", self.port);
            return Ok(());
        }
        services::ensure_free(self.port, "PostgreSQL", "COSOUND_PG_PORT")?;
        let settings = self.server_settings();
        println!(
            "starting postgres on 127.0.0.1:{} (log: {})",
            self.port,
            self.log().display()
        );
        cmd::run(
            cmd::as_db_user(&paths::pg_bin("pg_ctl"))
                .arg("start")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(["-w", "-t", "60", "-o", &settings]),
        )
        .with_context(|| {
            format!(
                "PostgreSQL did not start. Last lines of {}:\n{}",
                self.log().display(),
                services::tail(&self.log(), 15)
            )
        })
    }

    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        println!("stopping postgres");
        cmd::run(
            cmd::as_db_user(&paths::pg_bin("pg_ctl"))
                .arg("stop")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "-t", "60"]),
        )
    }

    /// psql as the superuser over the private socket, stopping at the first error.
    pub fn psql(&self, database: &str) -> Command {
        let mut psql = Command::new(paths::pg_bin("psql"));
        psql.arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                database,
            ])
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        psql
    }

    /// Runs `sql` through psql's standard input, where `:'name'` interpolates `vars` safely.
    pub fn script(&self, database: &str, sql: &str, vars: &[(&str, &str)]) -> Result<String> {
        let mut psql = self.psql(database);
        for (name, value) in vars {
            psql.arg("-v").arg(format!("{name}={value}"));
        }
        let mut child = psql
            .args(["-A", "-t", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start psql")?;
        child
            .stdin
            .take()
            .context("psql stdin")?
            .write_all(sql.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Creates `name` unless it exists.
    pub fn create_database(&self, name: &str) -> Result<()> {
        let exists = self.script(
            "postgres",
            "select 1 from pg_database where datname = :'db'",
            &[("db", name)],
        )?;
        if exists.is_empty() {
            cmd::run(
                self.psql("postgres")
                    .arg("-c")
                    .arg(format!("create database {name}")),
            )?;
        }
        Ok(())
    }

    /// `name` afresh: dropped first when it exists.
    pub fn recreate_database(&self, name: &str) -> Result<()> {
        cmd::run(
            self.psql("postgres")
                .arg("-c")
                .arg(format!("drop database if exists {name} with (force)"))
                .arg("-c")
                .arg(format!("create database {name}")),
        )
    }

    /// Applies the migrations not yet applied, then the login passwords and JWT secret of
    /// this install, then the seed (`supabase/seed.sql`, written to be re-run), if any.
    pub fn migrate(&self, config: &Config) -> Result<()> {
        self.apply(DATABASE, &migrations::in_order()?)?;
        self.script(
            DATABASE,
            "alter role authenticator with login password :'authenticator';
             alter role cosound_gateway with login password :'gateway';
             insert into auth.local_settings (name, value) values ('jwt_secret', :'jwt_secret')
             on conflict (name) do update set value = excluded.value;",
            &[
                (
                    "authenticator",
                    config.get("COSOUND_AUTHENTICATOR_PASSWORD"),
                ),
                ("gateway", config.get("COSOUND_GATEWAY_DB_PASSWORD")),
                ("jwt_secret", config.get("COSOUND_JWT_SECRET")),
            ],
        )?;
        let seed = paths::repo().join("supabase/seed.sql");
        if !seed.exists() {
            return Ok(());
        }
        self.run_file(DATABASE, &seed)
            .with_context(|| format!("the seed {} failed", seed.display()))
    }

    /// Applies those of `files` that `database` has not applied yet, in the order given.
    pub fn apply(&self, database: &str, files: &[PathBuf]) -> Result<()> {
        self.script(
            database,
            "create schema if not exists cosound_migrations;
             create table if not exists cosound_migrations.applied (
               name text primary key, sha256 text not null, applied_at timestamptz not null default now());
             revoke all on schema cosound_migrations from public;",
            &[],
        )?;
        for file in files {
            self.apply_once(database, file)?;
        }
        Ok(())
    }

    /// Runs one SQL file in one transaction.
    pub fn run_file(&self, database: &str, file: &Path) -> Result<()> {
        cmd::run(self.psql(database).arg("-1").arg("-f").arg(file))
    }

    /// `pg_dump --schema-only` of `database`.
    pub fn schema(&self, database: &str) -> Result<String> {
        let out = Command::new(paths::pg_bin("pg_dump"))
            .arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                database,
            ])
            .arg("--schema-only")
            .output()
            .context("cannot start pg_dump")?;
        if !out.status.success() {
            bail!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn apply_once(&self, database: &str, file: &Path) -> Result<()> {
        let name = file
            .strip_prefix(paths::repo())
            .unwrap_or(file)
            .display()
            .to_string();
        let sha = migrations::sha256_of(file)?;
        let applied = self.script(
            database,
            "select sha256 from cosound_migrations.applied where name = :'name'",
            &[("name", &name)],
        )?;
        if applied == sha {
            return Ok(());
        }
        if !applied.is_empty() {
            bail!(
                "migration {name} changed after it was applied. Applied migrations are history: \
                 undo the edit and add a new migration instead (or, for a throw-away dev \
                 database, `cargo xtask down` and delete .cosound/dev)"
            );
        }
        println!("applying {name} to {database}");
        let record = format!(
            "insert into cosound_migrations.applied (name, sha256) values ('{name}', '{sha}')"
        );
        cmd::run(
            self.psql(database)
                .arg("-1")
                .arg("-f")
                .arg(file)
                .arg("-c")
                .arg(record),
        )
        .with_context(|| format!("migration {name} failed and was rolled back"))
    }

    /// A libpq/tokio-postgres connection string for the superuser over the private socket.
    pub fn superuser_conninfo(&self) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={DATABASE}",
            self.socket_dir().display(),
            self.port
        )
    }

    pub fn url_for(&self, role: &str, password: &str) -> String {
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }
}

/// A stack's copy of the extension, laid out as PostgreSQL's `extension_control_path` and
/// `dynamic_library_path` expect: control and script files in `share/extension/`, the library
/// in `lib/`. Other stacks, and `cargo pgrx test`, install elsewhere, so none replaces it.
pub struct ExtensionDir(PathBuf);

impl ExtensionDir {
    /// The `extension_control_path` entry: PostgreSQL 18 looks in its `extension/` subfolder.
    pub fn share(&self) -> PathBuf {
        self.0.join("share")
    }

    pub fn lib(&self) -> PathBuf {
        self.0.join("lib")
    }

    /// Where a file of a built extension package goes, by its kind; `None` for other files.
    pub fn place(&self, file: &Path) -> Option<PathBuf> {
        let name = file.file_name()?;
        match file.extension()?.to_str()? {
            "so" => Some(self.lib().join(name)),
            "control" | "sql" => Some(self.share().join("extension").join(name)),
            _ => None,
        }
    }
}

fn restrict_to_owner(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_looks_for_the_extension_in_its_stack_dir_first() {
        let stack = Path::new("/state/dev");
        let settings = Cluster::new(stack, 54329).server_settings();
        assert!(
            settings.contains("-c 'extension_control_path=/state/dev/extension/share:$system'"),
            "{settings}"
        );
        assert!(
            settings.contains("-c 'dynamic_library_path=/state/dev/extension/lib:$libdir'"),
            "{settings}"
        );
    }

    #[test]
    fn package_files_go_where_the_settings_point() {
        let dir = Cluster::new(Path::new("/state/test-3"), 54399).extension_dir();
        let package = Path::new("/pkg/usr/share/postgresql");
        assert_eq!(
            dir.place(&package.join("extension/cosound.control")),
            Some(PathBuf::from(
                "/state/test-3/extension/share/extension/cosound.control"
            ))
        );
        assert_eq!(
            dir.place(&package.join("extension/cosound--0.1.0.sql")),
            Some(PathBuf::from(
                "/state/test-3/extension/share/extension/cosound--0.1.0.sql"
            ))
        );
        assert_eq!(
            dir.place(Path::new("/pkg/usr/lib/postgresql/cosound.so")),
            Some(PathBuf::from("/state/test-3/extension/lib/cosound.so"))
        );
        assert_eq!(dir.place(Path::new("/pkg/README")), None);
    }
}
