//! The gateway's settings, read once at start from flags or `COSOUND_*` environment variables.

use clap::Parser;
use std::net::SocketAddr;

#[derive(Parser, Clone)]
#[command(
    name = "cosound-gateway",
    about = "Cosound's gateway: uploads, player tokens, media, queue refresh, the web pages"
)]
pub struct Config {
    /// Address to listen on (keep it on loopback behind a reverse proxy).
    #[arg(long, env = "COSOUND_GATEWAY_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,

    /// PostgreSQL URL of the `cosound_gateway` role.
    #[arg(long, env = "COSOUND_DATABASE_URL")]
    pub database_url: String,

    /// S3 endpoint (SeaweedFS locally; leave unset for AWS).
    #[arg(long, env = "COSOUND_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(long, env = "COSOUND_S3_BUCKET", default_value = "cosound")]
    pub s3_bucket: String,

    #[arg(long, env = "COSOUND_S3_ACCESS_KEY", hide_env_values = true)]
    pub s3_access_key: String,

    #[arg(long, env = "COSOUND_S3_SECRET_KEY", hide_env_values = true)]
    pub s3_secret_key: String,

    #[arg(long, env = "COSOUND_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// HS256 secret of every JWT, the one PostgREST verifies with (≥ 32 characters).
    #[arg(long, env = "COSOUND_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,

    /// Largest upload accepted, in bytes; a larger one is refused with 413.
    #[arg(long, env = "COSOUND_MAX_UPLOAD_BYTES", default_value_t = 200 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Longest sound accepted, in minutes of decoded audio; a longer one is refused with 413.
    #[arg(long, env = "COSOUND_MAX_UPLOAD_MINUTES", default_value_t = 30)]
    pub max_upload_minutes: u32,

    /// Wrong player keys one address may send per minute before it gets 429.
    #[arg(long, env = "COSOUND_KEY_FAILURES_PER_MINUTE", default_value_t = 10)]
    pub key_failures_per_minute: usize,

    /// Sign-in and sign-up attempts one address may make per minute before it gets 429.
    #[arg(long, env = "COSOUND_SIGN_INS_PER_MINUTE", default_value_t = 30)]
    pub sign_ins_per_minute: usize,

    /// Seconds between refreshes of every player's queue (0: never; the notifications of
    /// check-ins and ratings still refresh the player concerned).
    #[arg(long, env = "COSOUND_QUEUE_REFRESH_SECONDS", default_value_t = 30)]
    pub queue_refresh_seconds: u32,

    /// Folder of the web app's pages (served at `/` and `/app/`); the default is the one in
    /// the source tree the gateway was built from.
    #[arg(long, env = "COSOUND_WEB_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/web"))]
    pub web_dir: std::path::PathBuf,

    /// PostgREST, which the gateway serves at `/rest/v1` as a Supabase project does.
    #[arg(
        long,
        env = "COSOUND_POSTGREST_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub postgrest_url: String,

    /// The API's URL as browsers reach it, where the pages send their calls: by default the
    /// gateway's own `/rest/v1`.
    #[arg(long, env = "COSOUND_PUBLIC_API_URL", default_value = "/rest/v1")]
    pub public_api_url: String,

    /// Supabase Auth's URL (`https://<project>.supabase.co/auth/v1`) as browsers reach it:
    /// the pages then sign in there instead of through the local sign-in functions.
    #[arg(long, env = "COSOUND_PUBLIC_AUTH_URL", requires = "public_anon_key")]
    pub public_auth_url: Option<String>,

    /// The Supabase project's anon key, which Supabase Auth asks of every client.
    #[arg(long, env = "COSOUND_PUBLIC_ANON_KEY")]
    pub public_anon_key: Option<String>,
}
