//! Ports and secrets of a stack.
//!
//! Each stack keeps them in one `config.env` file (`KEY=value` lines), written on first use
//! with fresh random secrets so no two installs share a JWT secret, S3 key or database
//! password, and none is ever committed. For the dev stack, environment variables of the same
//! name win over the file. `.env.example` documents every key (a test keeps the two in step).

use anyhow::{bail, Context, Result};
use rand::RngCore;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

enum Default {
    Port(u16),
    Text(&'static str),
    /// 32 random bytes, hex: 256 bits, and ≥ 32 characters as PostgREST asks of a JWT secret.
    Secret,
    /// A [`Default::Secret`] only the stack's own services share, added after installs
    /// existed: an older file without it gets a fresh one, since nothing outside knows it.
    StackSecret,
    /// A Supabase-style API key: a JWT for this database role, signed with the JWT secret.
    ApiKey(&'static str),
}

struct Var {
    key: &'static str,
    default: Default,
}

const VARS: &[Var] = &[
    Var {
        key: "COSOUND_PG_PORT",
        default: Default::Port(54329),
    },
    Var {
        key: "COSOUND_API_PORT",
        default: Default::Port(3000),
    },
    Var {
        key: "COSOUND_GATEWAY_PORT",
        default: Default::Port(8787),
    },
    Var {
        key: "COSOUND_S3_PORT",
        default: Default::Port(8333),
    },
    Var {
        key: "COSOUND_S3_BUCKET",
        default: Default::Text("cosound"),
    },
    Var {
        key: "COSOUND_JWT_SECRET",
        default: Default::Secret,
    },
    Var {
        key: "COSOUND_ANON_KEY",
        default: Default::ApiKey("anon"),
    },
    Var {
        key: "COSOUND_SERVICE_ROLE_KEY",
        default: Default::ApiKey("service_role"),
    },
    Var {
        key: "COSOUND_S3_ACCESS_KEY",
        default: Default::Secret,
    },
    Var {
        key: "COSOUND_S3_SECRET_KEY",
        default: Default::Secret,
    },
    Var {
        key: "COSOUND_S3_SIGNING_KEY",
        default: Default::StackSecret,
    },
    Var {
        key: "COSOUND_AUTHENTICATOR_PASSWORD",
        default: Default::Secret,
    },
    Var {
        key: "COSOUND_GATEWAY_DB_PASSWORD",
        default: Default::Secret,
    },
    Var {
        key: "COSOUND_MAX_UPLOAD_BYTES",
        default: Default::Text("209715200"),
    },
    Var {
        key: "COSOUND_MAX_UPLOAD_MINUTES",
        default: Default::Text("30"),
    },
    Var {
        key: "COSOUND_KEY_FAILURES_PER_MINUTE",
        default: Default::Text("10"),
    },
    Var {
        key: "COSOUND_SIGN_INS_PER_MINUTE",
        default: Default::Text("30"),
    },
    Var {
        key: "COSOUND_QUEUE_REFRESH_SECONDS",
        default: Default::Text("30"),
    },
];

/// The test stack's ports: all distinct from the dev stack's defaults, so both can run at once.
const TEST_PORTS: &[(&str, u16)] = &[
    ("COSOUND_PG_PORT", 54339),
    ("COSOUND_API_PORT", 3100),
    ("COSOUND_GATEWAY_PORT", 8797),
    ("COSOUND_S3_PORT", 8433),
];

/// The whole suite signs in from one address, many times a minute.
const TEST_SIGN_INS_PER_MINUTE: u16 = 1000;

/// The test stack's settings: its ports, moved by the test slot (see `paths::test_slot`), and
/// a sign-in limit per address that the whole suite, all from 127.0.0.1, stays under.
pub fn test_settings() -> Vec<(&'static str, u16)> {
    let shift = 20 * crate::paths::test_slot();
    TEST_PORTS
        .iter()
        .map(|&(key, port)| (key, port + shift))
        .chain([("COSOUND_SIGN_INS_PER_MINUTE", TEST_SIGN_INS_PER_MINUTE)])
        .collect()
}

pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    /// Reads `file`, first writing it with defaults, `overrides` and fresh secrets if it is
    /// missing; then, when `from_env` is set, environment variables of the same names win.
    pub fn load_or_create(
        file: &Path,
        overrides: &[(&'static str, u16)],
        from_env: bool,
    ) -> Result<Self> {
        if !file.exists() {
            write_new(file, overrides)?;
        }
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let text = add_stack_secrets(file, text)?;
        let mut values = parse(&text).with_context(|| format!("in {}", file.display()))?;
        write_api_keys(file, &text, &values)?;
        for var in VARS {
            if from_env {
                if let Ok(value) = std::env::var(var.key) {
                    values.insert(var.key.to_string(), value);
                }
            }
            // A file written before a setting existed gets its default; only a missing
            // secret, which must be the install's own, is an error.
            if let (false, Default::Text(text)) = (values.contains_key(var.key), &var.default) {
                values.insert(var.key.to_string(), text.to_string());
            }
            // The keys follow the secret in use, which the environment may have changed.
            if let Default::ApiKey(role) = var.default {
                if !(from_env && std::env::var(var.key).is_ok()) {
                    let secret = values.get(JWT_SECRET).cloned().unwrap_or_default();
                    values.insert(var.key.to_string(), api_key(role, &secret));
                }
            }
            if !values.contains_key(var.key) {
                bail!(
                    "{} has no {}: add it, or delete the file to have it written anew",
                    file.display(),
                    var.key
                );
            }
        }
        let config = Config { values };
        for var in VARS {
            if let Default::Port(_) = var.default {
                config.port(var.key)?;
            }
        }
        Ok(config)
    }

    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map(String::as_str).unwrap_or_default()
    }

    pub fn port(&self, key: &str) -> Result<u16> {
        self.get(key)
            .parse()
            .with_context(|| format!("{key} must be a port number, not {:?}", self.get(key)))
    }
}

fn write_new(file: &Path, overrides: &[(&'static str, u16)]) -> Result<()> {
    let mut text = String::from(
        "# Cosound stack settings, written once with fresh secrets; see .env.example.\n",
    );
    for var in VARS {
        let value = match (&var.default, overrides.iter().find(|(k, _)| *k == var.key)) {
            (_, Some((_, port))) => port.to_string(),
            (Default::Port(port), None) => port.to_string(),
            (Default::Text(text), None) => text.to_string(),
            (Default::Secret | Default::StackSecret, None) => secret(),
            // Written by `write_api_keys`, once the secret they are signed with is in the file.
            (Default::ApiKey(_), None) => continue,
        };
        writeln!(text, "{}={}", var.key, value)?;
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(file, text).with_context(|| format!("cannot write {}", file.display()))?;
    restrict_to_owner(file)
}

const JWT_SECRET: &str = "COSOUND_JWT_SECRET";

/// Appends a fresh value for each [`Default::StackSecret`] the file lacks; the file's text after.
fn add_stack_secrets(file: &Path, mut text: String) -> Result<String> {
    let mut changed = false;
    for var in VARS {
        let prefix = format!("{}=", var.key);
        if matches!(var.default, Default::StackSecret)
            && !text
                .lines()
                .any(|line| line.trim_start().starts_with(&prefix))
        {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            writeln!(text, "{prefix}{}", secret())?;
            changed = true;
        }
    }
    if changed {
        std::fs::write(file, &text).with_context(|| format!("cannot write {}", file.display()))?;
        restrict_to_owner(file)?;
    }
    Ok(text)
}

/// Keeps the file's API keys signed with the file's JWT secret: adds them to a file that has
/// none (a new one, or one written before they existed) and rewrites them when the secret
/// was changed, as `supabase start` hands out keys that match its secret.
fn write_api_keys(file: &Path, text: &str, values: &BTreeMap<String, String>) -> Result<()> {
    let Some(secret) = values.get(JWT_SECRET) else {
        return Ok(());
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut changed = false;
    for var in VARS {
        let Default::ApiKey(role) = var.default else {
            continue;
        };
        let line = format!("{}={}", var.key, api_key(role, secret));
        let prefix = format!("{}=", var.key);
        match lines.iter_mut().find(|old| old.starts_with(&prefix)) {
            Some(old) if *old == line => {}
            Some(old) => {
                *old = line;
                changed = true;
            }
            None => {
                lines.push(line);
                changed = true;
            }
        }
    }
    if changed {
        std::fs::write(file, lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", file.display()))?;
        restrict_to_owner(file)?;
    }
    Ok(())
}

/// A JWT with the claims of a Supabase API key for `role`. The claims are fixed (no `aud`, so
/// PostgREST takes it as it takes Supabase's keys), so one secret always gives the same key.
fn api_key(role: &str, secret: &str) -> String {
    // 2026-01-01 to 2036-01-01: an API key is long-lived; rotating the secret replaces it.
    const ISSUED: u64 = 1_767_225_600;
    const EXPIRES: u64 = 2_082_758_400;
    let claims =
        serde_json::json!({ "iss": "cosound", "role": role, "iat": ISSUED, "exp": EXPIRES });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

fn restrict_to_owner(file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn parse(text: &str) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {} is not KEY=value: {line:?}", number + 1);
        };
        values.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_example_documents_exactly_the_config_keys() {
        let example = std::fs::read_to_string(crate::paths::repo().join(".env.example")).unwrap();
        let documented: Vec<&str> = example
            .lines()
            .filter_map(|line| {
                line.split_once('=')
                    .map(|(key, _)| key.trim_start_matches("# "))
            })
            .filter(|key| VARS.iter().any(|var| var.key == *key))
            .collect();
        let keys: Vec<&str> = VARS.iter().map(|var| var.key).collect();
        assert_eq!(documented, keys);
    }

    #[test]
    fn a_new_config_has_distinct_secrets_and_the_overridden_ports() {
        let dir = std::env::temp_dir().join(format!("cosound-config-{}", std::process::id()));
        let file = dir.join("config.env");
        let config = Config::load_or_create(&file, &test_settings(), false).unwrap();
        assert_eq!(
            config.port("COSOUND_PG_PORT").unwrap(),
            54339 + 20 * crate::paths::test_slot()
        );
        assert_eq!(config.get("COSOUND_S3_BUCKET"), "cosound");
        assert_eq!(config.get("COSOUND_JWT_SECRET").len(), 64);
        assert_ne!(
            config.get("COSOUND_JWT_SECRET"),
            config.get("COSOUND_S3_SECRET_KEY")
        );
        let again = Config::load_or_create(&file, &[], false).unwrap();
        assert_eq!(
            again.get("COSOUND_JWT_SECRET"),
            config.get("COSOUND_JWT_SECRET")
        );
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.contains(&format!(
            "COSOUND_ANON_KEY={}",
            config.get("COSOUND_ANON_KEY")
        )));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_api_keys_are_jwts_for_their_roles_signed_with_the_secret() {
        let dir = std::env::temp_dir().join(format!("cosound-keys-{}", std::process::id()));
        let file = dir.join("config.env");
        let config = Config::load_or_create(&file, &[], false).unwrap();
        let validation = jsonwebtoken::Validation {
            validate_aud: false,
            ..jsonwebtoken::Validation::default()
        };
        let key = jsonwebtoken::DecodingKey::from_secret(config.get(JWT_SECRET).as_bytes());
        for (name, role) in [
            ("COSOUND_ANON_KEY", "anon"),
            ("COSOUND_SERVICE_ROLE_KEY", "service_role"),
        ] {
            let claims =
                jsonwebtoken::decode::<serde_json::Value>(config.get(name), &key, &validation)
                    .unwrap()
                    .claims;
            assert_eq!(claims["role"], role);
            assert!(claims.get("aud").is_none());
        }

        // A changed secret gets keys of its own, in the file too.
        let text = std::fs::read_to_string(&file).unwrap();
        let old_secret = config.get(JWT_SECRET);
        std::fs::write(&file, text.replace(old_secret, &"f".repeat(64))).unwrap();
        let changed = Config::load_or_create(&file, &[], false).unwrap();
        assert_ne!(
            changed.get("COSOUND_ANON_KEY"),
            config.get("COSOUND_ANON_KEY")
        );
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .contains(changed.get("COSOUND_ANON_KEY")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_older_file_gets_the_stack_secrets_it_lacks_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("cosound-older-{}", std::process::id()));
        let file = dir.join("config.env");
        let config = Config::load_or_create(&file, &[], false).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let older: String = text
            .lines()
            .filter(|line| !line.starts_with("COSOUND_S3_SIGNING_KEY="))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(&file, older).unwrap();
        let again = Config::load_or_create(&file, &[], false).unwrap();
        assert_eq!(again.get("COSOUND_S3_SIGNING_KEY").len(), 64);
        assert_ne!(
            again.get("COSOUND_S3_SIGNING_KEY"),
            config.get("COSOUND_S3_SIGNING_KEY")
        );
        assert_eq!(
            again.get("COSOUND_JWT_SECRET"),
            config.get("COSOUND_JWT_SECRET")
        );
        let kept = Config::load_or_create(&file, &[], false).unwrap();
        assert_eq!(
            kept.get("COSOUND_S3_SIGNING_KEY"),
            again.get("COSOUND_S3_SIGNING_KEY")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_line_is_refused_with_its_number() {
        let error = parse("A=1\nnot a setting\n").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
