//! The database mode of `batch-predict`: the catalogue's songs as a batch
//! [`Source`]. Each song's audio comes from the S3 bucket where the gateway
//! stored it (`songs.object_key`), and each embedding is written back in a
//! statement of its own as soon as it is computed, so a song is either
//! placed by this run or left exactly as it was. The settings are the
//! gateway's (same flags, same `COSOUND_*` variables).

use anyhow::{Context, Result};
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use cosound_ml::batch::{Outcome, Source};
use cosound_ml::clip::load_bytes;
use cosound_ml::Error;
use std::io::ErrorKind;
use tokio::runtime::Runtime;

#[derive(clap::Args)]
#[command(next_help_heading = "Database mode (the gateway's settings)")]
pub struct Settings {
    /// PostgreSQL URL of the `cosound_gateway` role.
    #[arg(long, env = "COSOUND_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// S3 endpoint (SeaweedFS locally; leave unset for AWS).
    #[arg(long, env = "COSOUND_S3_ENDPOINT")]
    s3_endpoint: Option<String>,

    #[arg(long, env = "COSOUND_S3_BUCKET", default_value = "cosound")]
    s3_bucket: String,

    #[arg(long, env = "COSOUND_S3_ACCESS_KEY", hide_env_values = true)]
    s3_access_key: Option<String>,

    #[arg(long, env = "COSOUND_S3_SECRET_KEY", hide_env_values = true)]
    s3_secret_key: Option<String>,

    #[arg(long, env = "COSOUND_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
}

fn required<'a>(value: &'a Option<String>, variable: &str) -> Result<&'a str> {
    value.as_deref().with_context(|| {
        format!("the database mode needs {variable} (or its flag; see batch-predict --help)")
    })
}

/// One song to embed, as listed at the start.
#[derive(Clone)]
pub struct Song {
    pub id: i64,
    pub title: String,
    pub key: String,
}

/// The songs of one batch, with the connections that read and write them.
pub struct Catalogue {
    runtime: Runtime,
    db: tokio_postgres::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    songs: Vec<Song>,
    /// The id of the model whose embeddings are written.
    model: String,
}

/// What became of a song whose embedding was computed.
pub enum Stored {
    Written,
    /// Deleted, or its audio replaced, by the gateway meanwhile: nothing written.
    Gone,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Audio(#[from] Error),
    #[error("{name}: cannot write its embedding: {reason}")]
    Write { name: String, reason: String },
}

/// The database's own message: tokio-postgres displays any server error as just "db error".
fn reason(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_string())
}

impl Catalogue {
    /// Connects and lists the songs that lack an embedding or were placed by
    /// another model than `model` (whose id each write records), or every
    /// song when `all`.
    pub fn open(settings: &Settings, all: bool, model: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let credentials = Credentials::new(
            required(&settings.s3_access_key, "COSOUND_S3_ACCESS_KEY")?,
            required(&settings.s3_secret_key, "COSOUND_S3_SECRET_KEY")?,
            None,
            None,
            "cosound-config",
        );
        let mut s3 = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(Region::new(settings.s3_region.clone()))
            .credentials_provider(credentials)
            // As the gateway does: SeaweedFS addresses buckets by path.
            .force_path_style(true);
        if let Some(endpoint) = &settings.s3_endpoint {
            s3 = s3.endpoint_url(endpoint);
        }
        let url = required(&settings.database_url, "COSOUND_DATABASE_URL")?;
        let (db, connection) = runtime
            .block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))
            .context("cannot connect to the database (COSOUND_DATABASE_URL)")?;
        runtime.spawn(async {
            if let Err(error) = connection.await {
                eprintln!("the database connection failed: {error}");
            }
        });
        let songs = runtime
            .block_on(db.query(
                "select id, title, object_key from cosound.songs
                  where $1 or embedding is null or embedding_model is distinct from $2
                  order by id",
                &[&all, &model],
            ))
            .context("cannot list the songs")?
            .iter()
            .map(|row| Song {
                id: row.get(0),
                title: row.get(1),
                key: row.get(2),
            })
            .collect();
        Ok(Catalogue {
            runtime,
            db,
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            bucket: settings.s3_bucket.clone(),
            songs,
            model: model.to_string(),
        })
    }

    /// Writes a computed embedding in a statement of its own; a failed
    /// outcome is passed on and writes nothing. The song must still hold
    /// the audio that was embedded: a song deleted or replaced meanwhile
    /// matches no row and is [`Stored::Gone`].
    pub fn keep(&self, song: &Song, outcome: Outcome) -> Result<Stored, Failure> {
        let embedding = outcome.result?;
        let vector = format!("[{}]", embedding.map(|w| w.to_string()).join(","));
        let rows = self
            .runtime
            .block_on(self.db.execute(
                "update cosound.songs
                    set embedding = $3::text::extensions.vector, embedding_model = $4,
                        fits_no_class = $5
                  where id = $1 and object_key = $2",
                &[
                    &song.id,
                    &song.key,
                    &vector,
                    &self.model,
                    &cosound_ml::fits_no_class(&embedding),
                ],
            ))
            .map_err(|error| Failure::Write {
                name: outcome.name,
                reason: reason(&error),
            })?;
        Ok(if rows == 0 {
            Stored::Gone
        } else {
            Stored::Written
        })
    }

    /// The whole object at `key`; a missing one is `NotFound`.
    async fn fetch(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    std::io::Error::new(
                        ErrorKind::NotFound,
                        format!("no such object in the bucket {}", self.bucket),
                    )
                } else {
                    std::io::Error::other(format!(
                        "the bucket {} does not serve it: {}",
                        self.bucket,
                        DisplayErrorContext(error)
                    ))
                }
            })?;
        let body = object.body.collect().await.map_err(std::io::Error::other)?;
        Ok(body.to_vec())
    }
}

impl Source for Catalogue {
    type Item = Song;

    fn items(&self) -> cosound_ml::Result<Vec<Song>> {
        Ok(self.songs.clone())
    }

    /// Id, title and key; ends with the key, whose extension hints at the format.
    fn name(&self, song: &Song) -> String {
        format!("song {} “{}”, {}", song.id, song.title, song.key)
    }

    fn samples(&self, song: &Song) -> cosound_ml::Result<Vec<f32>> {
        let name = self.name(song);
        match self.runtime.block_on(self.fetch(&song.key)) {
            Ok(bytes) => load_bytes(&name, bytes),
            Err(source) => Err(Error::Io { name, source }),
        }
    }
}
