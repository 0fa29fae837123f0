//! Handles shared by every request, built once from the configuration.

use crate::config::Config;
use anyhow::{Context, Result};
use aws_sdk_s3::config::{Credentials, Region};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

#[derive(Clone)]
pub struct AppState {
    pub db: Pool,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl AppState {
    /// Builds the pool and the client; neither connects until first used, so the gateway
    /// starts (and reports the outage on `/healthz`) while a dependency is down.
    pub fn new(config: &Config) -> Result<Self> {
        let pg: tokio_postgres::Config = config
            .database_url
            .parse()
            .context("COSOUND_DATABASE_URL is not a valid PostgreSQL URL")?;
        let manager = Manager::from_config(
            pg,
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
        })
    }
}
