//! A whole Cosound stack — PostgreSQL, PostgREST, SeaweedFS (S3) and the gateway — in one
//! directory with its own ports and secrets. `up` runs the dev stack in `.cosound/dev`; the
//! test suite runs a throw-away one in `.cosound/test`.

use crate::config::{self, Config};
use crate::paths;
use crate::postgres::{Cluster, DATABASE};
use crate::seaweed;
use crate::services::Service;
use anyhow::{Context, Result};
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

    pub fn cluster(&self) -> Cluster {
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
        cluster.create_database(DATABASE)?;
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
    pub fn demo_player(&self) -> Service {
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

    pub fn demo_player_key(&self) -> PathBuf {
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
