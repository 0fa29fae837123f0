//! SeaweedFS's own locks. Beside its S3 endpoint, `weed mini` runs a filer, a master and a
//! volume server, each with an HTTP and a gRPC port that answer anyone by default: any local
//! program could list, read, write and delete the bucket's objects past the S3 keys and the
//! gateway's checks. So each stack gives SeaweedFS a configuration directory of its own with:
//! - a signing key for the tokens its servers hand each other over HTTP (the filer and the
//!   volume server refuse requests without one, reads included);
//! - a certificate authority of its own for mutual TLS on every gRPC port (a client without
//!   the stack's certificate is refused). The authority's key is deleted once it has signed,
//!   so nothing can issue another.
//!
//! `-disableHttp` (see `Stack::s3`) closes the filer's and the master's HTTP APIs besides:
//! S3 needs neither, only the volume server's.

use crate::cmd;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The SeaweedFS components `weed mini` runs, each with its own `[grpc.*]` section.
const GRPC_COMPONENTS: &[&str] = &[
    "master", "volume", "filer", "s3", "admin", "worker", "client",
];

/// Writes `security.toml` (and, the first time, the certificates) into `dir`, readable by its
/// owner only. `weed -config_dir=DIR` reads it before any other `security.toml` on the machine.
pub fn write_config(dir: &Path, signing_key: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)?;
    let certificates = Certificates::in_dir(dir);
    if !certificates.exist() {
        certificates.create()?;
    }
    let file = dir.join("security.toml");
    std::fs::write(&file, security_toml(signing_key, &certificates)?)
        .with_context(|| format!("cannot write {}", file.display()))?;
    restrict(&file, 0o600)
}

/// One key for writes and reads on both the filer and the volume servers: all four are held
/// by the same process, which is the only one that signs and checks them.
fn security_toml(signing_key: &str, certificates: &Certificates) -> Result<String> {
    let mut text = String::from("# Written by `cargo xtask` for this stack; rewritten on start.\n");
    for section in [
        "jwt.signing",
        "jwt.signing.read",
        "jwt.filer_signing",
        "jwt.filer_signing.read",
    ] {
        writeln!(text, "[{section}]\nkey = \"{signing_key}\"")?;
    }
    writeln!(text, "[grpc]\nca = \"{}\"", certificates.ca.display())?;
    for component in GRPC_COMPONENTS {
        writeln!(
            text,
            "[grpc.{component}]\ncert = \"{}\"\nkey = \"{}\"",
            certificates.cert.display(),
            certificates.key.display()
        )?;
    }
    Ok(text)
}

/// The stack's certificate authority and the one certificate every component presents, as
/// server and as client (SeaweedFS does not check host names).
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificates {
    fn in_dir(dir: &Path) -> Self {
        Certificates {
            ca: dir.join("ca.crt"),
            cert: dir.join("grpc.crt"),
            key: dir.join("grpc.key"),
        }
    }

    fn exist(&self) -> bool {
        [&self.ca, &self.cert, &self.key].iter().all(|f| f.exists())
    }

    /// Ten years: a stack's certificates are never rotated, only deleted with the stack.
    fn create(&self) -> Result<()> {
        let ca_key = self.ca.with_extension("key");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let common = ["-x509", "-nodes", "-days", "3650"];
        cmd::output(
            Command::new("openssl")
                .arg("req")
                .args(common)
                .args(ec)
                .args(["-subj", "/CN=cosound-seaweedfs-ca", "-keyout"])
                .arg(&ca_key)
                .arg("-out")
                .arg(&self.ca),
        )
        .context("cannot create SeaweedFS's certificate authority with openssl")?;
        let signed = cmd::output(
            Command::new("openssl")
                .arg("req")
                .args(common)
                .args(ec)
                .args(["-subj", "/CN=cosound-seaweedfs", "-keyout"])
                .arg(&self.key)
                .arg("-out")
                .arg(&self.cert)
                .arg("-CA")
                .arg(&self.ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .args(["-addext", "extendedKeyUsage=serverAuth,clientAuth"]),
        );
        std::fs::remove_file(&ca_key)?;
        signed.context("cannot create SeaweedFS's gRPC certificate with openssl")?;
        restrict(&self.key, 0o600)
    }
}

fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_signs_filer_and_volume_requests_and_locks_every_grpc_port() {
        let certificates = Certificates::in_dir(Path::new("/stack/s3-security"));
        let text = security_toml("k3y", &certificates).unwrap();
        for section in [
            "[jwt.signing]\nkey = \"k3y\"",
            "[jwt.signing.read]\nkey = \"k3y\"",
            "[jwt.filer_signing]\nkey = \"k3y\"",
            "[jwt.filer_signing.read]\nkey = \"k3y\"",
            "[grpc]\nca = \"/stack/s3-security/ca.crt\"",
        ] {
            assert!(text.contains(section), "{section} missing from:\n{text}");
        }
        for component in ["master", "volume", "filer", "s3", "client"] {
            assert!(
                text.contains(&format!(
                    "[grpc.{component}]\ncert = \"/stack/s3-security/grpc.crt\"\n\
                     key = \"/stack/s3-security/grpc.key\""
                )),
                "{component} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn the_files_are_private_and_the_authority_key_is_gone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("cosound-seaweed-{}", std::process::id()));
        write_config(&dir, "k3y").unwrap();
        let mode = |name: &str| {
            std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("security.toml"), 0o600);
        assert_eq!(mode("grpc.key"), 0o600);
        assert_eq!(mode("."), 0o700);
        assert!(!dir.join("ca.key").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
