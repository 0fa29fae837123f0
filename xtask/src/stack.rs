//! A whole Cosound stack — PostgreSQL, PostgREST, SeaweedFS (S3) and the gateway — in one
//! directory with its own ports and secrets. `up` runs the dev stack in `.cosound/dev`; the
//! test suite runs a throw-away one in `.cosound/test`.

use crate::cmd;
use crate::config::{self, Config};
use crate::paths;
use crate::postgres::{Cluster, DATABASE};
use crate::seaweed;
use crate::services::{self, Service};
use crate::toolchain;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo profile the extension is built with: the dev stack runs optimised code, the test
/// suite reuses the debug build its `#[pg_test]`s already made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Profile {
    Release,
    Debug,
}

pub struct Stack {
    dir: PathBuf,
    config: Config,
}

impl Stack {
    pub fn dev() -> Result<Self> {
        let config = Config::load_or_create(&paths::state().join("config.env"), &[], true)?;
        Ok(Stack {
            dir: paths::state().join("dev"),
            config,
        })
    }

    /// A fresh test stack: whatever a crashed earlier run left is stopped and deleted.
    pub fn fresh_test() -> Result<Self> {
        let dir = paths::test_dir("test");
        if dir.exists() {
            if let Ok(old) =
                Config::load_or_create(&dir.join("config.env"), &config::test_settings(), false)
            {
                Stack {
                    dir: dir.clone(),
                    config: old,
                }
                .stop()?;
            }
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot delete {}", dir.display()))?;
        }
        let config =
            Config::load_or_create(&dir.join("config.env"), &config::test_settings(), false)?;
        Ok(Stack { dir, config })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn port(&self, key: &str) -> u16 {
        self.config
            .port(key)
            .expect("ports are checked when the config loads")
    }

    fn cluster(&self) -> Cluster {
        Cluster::new(&self.dir, self.port("COSOUND_PG_PORT"))
    }

    pub fn database_url(&self) -> String {
        self.cluster().url_for(
            "cosound_gateway",
            self.config.get("COSOUND_GATEWAY_DB_PASSWORD"),
        )
    }

    pub fn superuser_conninfo(&self) -> String {
        self.cluster().superuser_conninfo()
    }

    /// What the end-to-end tests and benchmarks need to reach this stack.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "COSOUND_TEST_API_URL",
                format!("http://127.0.0.1:{}", self.port("COSOUND_API_PORT")),
            ),
            (
                "COSOUND_TEST_GATEWAY_URL",
                format!("http://127.0.0.1:{}", self.port("COSOUND_GATEWAY_PORT")),
            ),
            (
                "COSOUND_TEST_JWT_SECRET",
                self.config.get("COSOUND_JWT_SECRET").to_string(),
            ),
            (
                "COSOUND_TEST_ANON_KEY",
                self.config.get("COSOUND_ANON_KEY").to_string(),
            ),
            (
                "COSOUND_TEST_SERVICE_ROLE_KEY",
                self.config.get("COSOUND_SERVICE_ROLE_KEY").to_string(),
            ),
            // PostgREST's binary and the stack's directory (its PID file, log and
            // configuration), so a test can take the API away and bring it back.
            (
                "COSOUND_TEST_POSTGREST",
                paths::postgrest().display().to_string(),
            ),
            ("COSOUND_TEST_STACK_DIR", self.dir.display().to_string()),
            ("COSOUND_TEST_DATABASE_URL", self.database_url()),
            ("COSOUND_TEST_SUPERUSER_CONNINFO", self.superuser_conninfo()),
            ("COSOUND_TEST_S3_ENDPOINT", self.s3_endpoint()),
            (
                "COSOUND_TEST_S3_BUCKET",
                self.config.get("COSOUND_S3_BUCKET").to_string(),
            ),
            (
                "COSOUND_TEST_S3_ACCESS_KEY",
                self.config.get("COSOUND_S3_ACCESS_KEY").to_string(),
            ),
            (
                "COSOUND_TEST_S3_SECRET_KEY",
                self.config.get("COSOUND_S3_SECRET_KEY").to_string(),
            ),
        ]
    }

    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port("COSOUND_S3_PORT"))
    }

    /// Starts every service, creating and migrating the database when needed.
    /// The extension must already be installed and the gateway built.
    pub fn start(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let cluster = self.cluster();
        cluster.init()?;
        cluster.start()?;
        cluster.create_database()?;
        cluster.migrate(&self.config)?;
        self.write_postgrest_config()?;
        seaweed::write_config(
            &self.s3_security_dir(),
            self.config.get("COSOUND_S3_SIGNING_KEY"),
        )?;
        for service in self.services() {
            service.start()?;
        }
        Ok(())
    }

    pub fn stop(&self) -> Result<()> {
        self.demo_player().stop()?;
        for service in self.services().into_iter().rev() {
            service.stop()?;
        }
        self.cluster().stop()
    }

    fn services(&self) -> Vec<Service> {
        vec![self.postgrest(), self.s3(), self.gateway()]
    }

    fn postgrest_config(&self) -> PathBuf {
        self.dir.join("postgrest.conf")
    }

    /// Devices and listeners send the same token for minutes on end: PostgREST keeps each
    /// verified token's claims (never past its `exp`) instead of checking it per request.
    fn write_postgrest_config(&self) -> Result<()> {
        let cluster = self.cluster();
        let text = format!(
            "db-uri = \"{uri}\"\n\
             db-schemas = \"api\"\n\
             db-anon-role = \"anon\"\n\
             db-extra-search-path = \"public, extensions\"\n\
             jwt-secret = \"{secret}\"\n\
             jwt-aud = \"authenticated\"\n\
             jwt-cache-max-lifetime = 3600\n\
             server-host = \"127.0.0.1\"\n\
             server-port = {port}\n",
            uri = cluster.url_for(
                "authenticator",
                self.config.get("COSOUND_AUTHENTICATOR_PASSWORD")
            ),
            secret = self.config.get("COSOUND_JWT_SECRET"),
            port = self.port("COSOUND_API_PORT"),
        );
        let file = self.postgrest_config();
        std::fs::write(&file, text)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        Ok(())
    }

    fn postgrest(&self) -> Service {
        let mut command = Command::new(paths::postgrest());
        command.arg(self.postgrest_config());
        let port = self.port("COSOUND_API_PORT");
        Service {
            name: "postgrest",
            port: Some(port),
            ports: vec![port],
            port_setting: "COSOUND_API_PORT",
            // The root answers once the schema cache is loaded; before, requests get 503.
            ready_path: Some("/"),
            command,
            dir: self.dir.clone(),
        }
    }

    /// SeaweedFS's configuration: its keys and certificates (see `seaweed`).
    fn s3_security_dir(&self) -> PathBuf {
        self.dir.join("s3-security")
    }

    /// SeaweedFS in single-process mode. Its inner servers take the four ports after the S3
    /// port, and each of the five plus 10000 for gRPC; only S3 answers without this stack's
    /// keys, and the filer's and master's HTTP APIs are off.
    fn s3(&self) -> Service {
        let s3 = self.port("COSOUND_S3_PORT");
        let data = self.dir.join("s3");
        let mut command = Command::new(paths::weed());
        command
            .arg(format!("-config_dir={}", self.s3_security_dir().display()))
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .arg(format!("-bucket={}", self.config.get("COSOUND_S3_BUCKET")))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-admin.ui=false",
                "-master.telemetry=false",
            ])
            .args(["-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg("-disableHttp")
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-filer.port={}", s3 + 1))
            .arg(format!("-master.port={}", s3 + 2))
            .arg(format!("-volume.port={}", s3 + 3))
            .arg(format!("-admin.port={}", s3 + 4))
            .env(
                "AWS_ACCESS_KEY_ID",
                self.config.get("COSOUND_S3_ACCESS_KEY"),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                self.config.get("COSOUND_S3_SECRET_KEY"),
            );
        let _ = std::fs::create_dir_all(data);
        let ports = (0..5)
            .flat_map(|offset| [s3 + offset, s3 + offset + 10000])
            .collect();
        Service {
            name: "s3",
            port: Some(s3),
            ports,
            port_setting: "COSOUND_S3_PORT",
            ready_path: None,
            command,
            dir: self.dir.clone(),
        }
    }

    fn gateway(&self) -> Service {
        let port = self.port("COSOUND_GATEWAY_PORT");
        let mut command = Command::new(paths::target().join("debug/cosound-gateway"));
        command.envs(self.gateway_env());
        Service {
            name: "gateway",
            port: Some(port),
            ports: vec![port],
            port_setting: "COSOUND_GATEWAY_PORT",
            ready_path: None,
            command,
            dir: self.dir.clone(),
        }
    }

    /// A player device for the seed's "Reading room", run by `up` with the key in
    /// `demo-player.key`. Its output is `null` (no sound card needed) unless COSOUND_OUTPUT
    /// says otherwise, e.g. `COSOUND_OUTPUT=default cargo xtask up` to hear it.
    fn demo_player(&self) -> Service {
        let mut command = Command::new(paths::target().join("debug/cosound-player"));
        command
            .args(["--status", "off"])
            .env(
                "COSOUND_API_URL",
                format!("http://127.0.0.1:{}", self.port("COSOUND_API_PORT")),
            )
            .env(
                "COSOUND_GATEWAY_URL",
                format!("http://127.0.0.1:{}", self.port("COSOUND_GATEWAY_PORT")),
            )
            .env("COSOUND_PLAYER_KEY_FILE", self.demo_player_key())
            .env("COSOUND_CACHE_DIR", self.dir.join("player-cache"));
        if std::env::var_os("COSOUND_OUTPUT").is_none() {
            command.env("COSOUND_OUTPUT", "null");
        }
        Service {
            name: "player",
            port: None,
            ports: Vec::new(),
            port_setting: "",
            ready_path: None,
            command,
            dir: self.dir.clone(),
        }
    }

    fn demo_player_key(&self) -> PathBuf {
        self.dir.join("demo-player.key")
    }

    /// The gateway's settings (its `--help` lists them).
    pub fn gateway_env(&self) -> Vec<(String, String)> {
        let copied = [
            "COSOUND_JWT_SECRET",
            "COSOUND_S3_BUCKET",
            "COSOUND_S3_ACCESS_KEY",
            "COSOUND_S3_SECRET_KEY",
            "COSOUND_MAX_UPLOAD_BYTES",
            "COSOUND_MAX_UPLOAD_MINUTES",
            "COSOUND_KEY_FAILURES_PER_MINUTE",
            "COSOUND_QUEUE_REFRESH_SECONDS",
            "COSOUND_SIGN_INS_PER_MINUTE",
        ];
        let mut env: Vec<(String, String)> = copied
            .iter()
            .map(|key| (key.to_string(), self.config.get(key).to_string()))
            .collect();
        env.push((
            "COSOUND_GATEWAY_ADDR".into(),
            format!("127.0.0.1:{}", self.port("COSOUND_GATEWAY_PORT")),
        ));
        env.push(("COSOUND_DATABASE_URL".into(), self.database_url()));
        // Served at the gateway's /rest/v1, for the pages and Supabase's clients.
        env.push((
            "COSOUND_POSTGREST_URL".into(),
            format!("http://127.0.0.1:{}", self.port("COSOUND_API_PORT")),
        ));
        env.push(("COSOUND_S3_ENDPOINT".into(), self.s3_endpoint()));
        env
    }

    /// Builds the `cosound` extension and installs it into this stack's own directory (where
    /// its cluster looks first), unless these sources were installed there with this profile.
    /// Nothing goes into the shared PostgreSQL install, so no other stack's build, and no
    /// `cargo pgrx test`, can replace the library this stack's database loaded.
    pub fn install_extension(&self, profile: Profile) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let stamp = self.dir.join("extension.stamp");
        let fingerprint = format!("{profile:?} {}", extension_fingerprint()?);
        if std::fs::read_to_string(&stamp).is_ok_and(|old| old == fingerprint) {
            return Ok(());
        }
        let package = self.dir.join("extension-package");
        if package.exists() {
            std::fs::remove_dir_all(&package)?;
        }
        let mut build = Command::new("cargo");
        toolchain::pgrx_env(&mut build)
            .current_dir(paths::repo().join("pg_extension"))
            .args(["pgrx", "package", "--pg-config"])
            .arg(paths::pg_bin("pg_config"))
            .arg("--out-dir")
            .arg(&package);
        if profile == Profile::Debug {
            build.arg("--debug");
        }
        cmd::run(&mut build).context("building the cosound extension failed")?;
        let mut files = Vec::new();
        collect_files(&package, &mut files)?;
        let extension = self.cluster().extension_dir();
        for file in files {
            if let Some(target) = extension.place(&file) {
                replace_file(&file, &target)?;
            }
        }
        std::fs::remove_dir_all(&package)?;
        std::fs::write(stamp, fingerprint)?;
        Ok(())
    }

    pub fn print_status(&self) {
        let cluster = self.cluster();
        if cluster.is_running() {
            println!(
                "{:<10} running  127.0.0.1:{}",
                "postgres",
                self.port("COSOUND_PG_PORT")
            );
        } else {
            println!("{:<10} stopped", "postgres");
        }
        for service in self.services() {
            println!("{}", service.status_line());
        }
        println!("{}", self.demo_player().status_line());
    }
}

/// Copies `from` over `to` by renaming a fresh copy into place: a running server that mapped
/// the old library keeps its file intact instead of seeing it rewritten under it.
fn replace_file(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().context("an installed file has a folder")?;
    std::fs::create_dir_all(dir)?;
    let mut fresh = to.as_os_str().to_owned();
    fresh.push(".new");
    let fresh = PathBuf::from(fresh);
    std::fs::copy(from, &fresh).with_context(|| format!("cannot write {}", fresh.display()))?;
    std::fs::rename(&fresh, to).with_context(|| format!("cannot replace {}", to.display()))?;
    Ok(())
}

/// A hash of everything the extension is built from.
fn extension_fingerprint() -> Result<String> {
    let repo = paths::repo();
    let mut files = vec![repo.join("Cargo.lock"), repo.join("Cargo.toml")];
    collect_files(&repo.join("pg_extension"), &mut files)?;
    files.sort();
    Ok(hash_files(&files))
}

/// A hash of the files' names and contents, in the order given.
fn hash_files(files: &[PathBuf]) -> String {
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(std::fs::read(file).unwrap_or_default());
    }
    hex::encode(hash.finalize())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                collect_files(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

pub fn build_gateway() -> Result<()> {
    cmd::run(Command::new("cargo").current_dir(paths::repo()).args([
        "build",
        "--quiet",
        "-p",
        "cosound-gateway",
    ]))
}

fn build_player() -> Result<()> {
    cmd::run(Command::new("cargo").current_dir(paths::repo()).args([
        "build",
        "--quiet",
        "-p",
        "cosound-player",
    ]))
}

pub fn up() -> Result<()> {
    toolchain::ensure()?;
    let stack = Stack::dev()?;
    stack.install_extension(Profile::Release)?;
    build_gateway()?;
    build_player()?;
    stack.start()?;
    load_demo_catalogue(&stack)?;
    start_demo_player(&stack)?;
    let gateway = stack.port("COSOUND_GATEWAY_PORT");
    let health = services::http_get(gateway, "/healthz")
        .map(|(status, body)| format!("{status} {body}"))
        .unwrap_or_else(|error| format!("no answer: {error}"));
    println!(
        "\nCosound runs (all on 127.0.0.1):\n\
         \x20 web app          http://127.0.0.1:{gateway}/  (listeners, admins and managers sign in here)\n\
         \x20 API (PostgREST)  http://127.0.0.1:{api}/\n\
         \x20 gateway          http://127.0.0.1:{gateway}/healthz  → {health}\n\
         \x20 S3 (SeaweedFS)   {s3}/{bucket}\n\
         \x20 PostgreSQL       127.0.0.1:{pg}, database {DATABASE}\n\
         As a Supabase project (supabase-js: createClient(url, anon key, {{ db: {{ schema: 'api' }} }})):\n\
         \x20 URL              http://127.0.0.1:{gateway}  (/rest/v1, /auth/v1)\n\
         \x20 anon key         {anon}\n\
         \x20 service_role key {service}\n\
         Demo listener: listener@demo.cosound.local / listen-to-rain-1, e.g.\n\
         \x20 curl -s http://127.0.0.1:{api}/rpc/sign_in -H 'Content-Type: application/json' \\\n\
         \x20      -d '{{\"email\": \"listener@demo.cosound.local\", \"password\": \"listen-to-rain-1\"}}'\n\
         Secrets (JWT secret, API keys, S3 keys, database passwords): {config}\n\
         Logs: {logs}\n\
         See what runs: cargo xtask status · stop it: cargo xtask down",
        api = stack.port("COSOUND_API_PORT"),
        s3 = stack.s3_endpoint(),
        bucket = stack.config().get("COSOUND_S3_BUCKET"),
        pg = stack.port("COSOUND_PG_PORT"),
        anon = stack.config().get("COSOUND_ANON_KEY"),
        service = stack.config().get("COSOUND_SERVICE_ROLE_KEY"),
        config = paths::state().join("config.env").display(),
        logs = stack.dir().join("logs").display(),
    );
    Ok(())
}

/// The demo sounds in the repository, uploaded through the gateway as the seed's demo admin.
/// A stamp of the folder's contents makes later `up`s skip it; the gateway would skip each
/// file anyway (409: already in the catalogue), but not without reading it.
fn load_demo_catalogue(stack: &Stack) -> Result<()> {
    let demo = paths::repo().join("supabase/demo-audio");
    let mut files = Vec::new();
    collect_files(&demo, &mut files)?;
    files.sort();
    let fingerprint = hash_files(&files);
    let stamp = stack.dir().join("demo-catalogue.sha256");
    if std::fs::read_to_string(&stamp).is_ok_and(|old| old == fingerprint) {
        return Ok(());
    }
    println!("loading the demo catalogue from {}", demo.display());
    cmd::run(admin_command(stack).args(["upload"]).arg(&demo))
        .context("loading the demo catalogue failed")?;
    std::fs::write(stamp, fingerprint)?;
    Ok(())
}

/// Starts the demo player, with a fresh key for it (the gateway keeps only its hash, so a
/// key cannot be recovered: a restarted player gets a new one, which retires the old).
fn start_demo_player(stack: &Stack) -> Result<()> {
    let player = stack.demo_player();
    if player.running_pid().is_none() {
        let key = cmd::output(admin_command(stack).args(["player-key", "Reading room"]))
            .context("cannot issue the demo player's key")?;
        write_secret(&stack.demo_player_key(), key.trim())?;
    }
    player.start()
}

/// `cosound-admin` against this stack, signed in as the seed's demo admin.
fn admin_command(stack: &Stack) -> Command {
    let mut admin = Command::new(paths::target().join("debug/cosound-admin"));
    admin
        .env(
            "COSOUND_GATEWAY_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_GATEWAY_PORT")),
        )
        .env(
            "COSOUND_API_URL",
            format!("http://127.0.0.1:{}", stack.port("COSOUND_API_PORT")),
        )
        // The demo admin of supabase/seed.sql.
        .env("COSOUND_ADMIN_EMAIL", "admin@demo.cosound.local")
        .env("COSOUND_ADMIN_PASSWORD", "admin-of-sound-4");
    admin
}

/// Writes `value` to a file only its owner can read.
fn write_secret(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    Ok(())
}

pub fn down() -> Result<()> {
    if !paths::state().join("config.env").exists() {
        println!("nothing to stop: the local stack was never started");
        return Ok(());
    }
    Stack::dev()?.stop()?;
    println!(
        "stopped; the data stays in {}",
        paths::state().join("dev").display()
    );
    Ok(())
}

pub fn status() -> Result<()> {
    if !paths::state().join("config.env").exists() {
        println!("the local stack was never started: cargo xtask up");
        return Ok(());
    }
    Stack::dev()?.print_status();
    Ok(())
}
