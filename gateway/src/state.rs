//! Handles shared by every request, built once from the configuration.

use crate::auth::Keys;
use crate::config::Config;
use crate::player_keys::KeySigner;
use crate::rate_limit::AddressLimiter;
use crate::sign_in_guard::SignInGuard;
use crate::web::Site;
use anyhow::{bail, Context, Result};
use aws_sdk_s3::config::{Credentials, Region};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub keys: Arc<Keys>,
    pub key_signer: Arc<KeySigner>,
    pub forged_keys: Arc<AddressLimiter>,
    pub sign_ins: Arc<SignInGuard>,
    pub max_upload_bytes: u64,
    pub max_upload_minutes: u32,
    pub site: Arc<Site>,
    /// PostgREST, proxied at `/rest/v1`.
    pub postgrest_url: String,
}

impl AppState {
    /// Builds the pool and the client; neither connects until first used, so the gateway
    /// starts (and reports the outage on `/healthz`) while a dependency is down.
    pub fn new(config: &Config) -> Result<Self> {
        if config.jwt_secret.len() < 32 {
            bail!("COSOUND_JWT_SECRET must be at least 32 characters, as PostgREST requires");
        }
        let manager = Manager::from_config(
            database_config(config)?,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let db = Pool::builder(manager)
            .max_size(8)
            .build()
            .context("cannot build the database pool")?;

        let credentials = Credentials::new(
            &config.s3_access_key,
            &config.s3_secret_key,
            None,
            None,
            "cosound-config",
        );
        let mut s3 = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(Region::new(config.s3_region.clone()))
            .credentials_provider(credentials)
            // SeaweedFS and most S3-compatible stores address buckets by path.
            .force_path_style(true);
        if let Some(endpoint) = &config.s3_endpoint {
            s3 = s3.endpoint_url(endpoint);
        }
        Ok(AppState {
            db,
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            bucket: config.s3_bucket.clone(),
            keys: Arc::new(Keys::new(&config.jwt_secret)),
            key_signer: Arc::new(KeySigner::new(&config.jwt_secret)),
            sign_ins: Arc::new(SignInGuard::new(config.sign_ins_per_minute)),
            forged_keys: Arc::new(AddressLimiter::new(
                config.key_failures_per_minute,
                Duration::from_secs(60),
            )),
            max_upload_bytes: config.max_upload_bytes,
            max_upload_minutes: config.max_upload_minutes,
            site: Arc::new(Site::new(config)?),
            postgrest_url: config.postgrest_url.clone(),
        })
    }
}

pub fn database_config(config: &Config) -> Result<tokio_postgres::Config> {
    config
        .database_url
        .parse()
        .context("COSOUND_DATABASE_URL is not a valid PostgreSQL URL")
}
