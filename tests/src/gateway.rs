//! Helpers for the gateway's end-to-end tests: requests to the stack's gateway, gateways of
//! their own run inside the test (to wire one to a dead S3 address or give it other limits),
//! the stack's bucket, and audio files to upload.

use crate::{api_url, database_url, gateway_url, setting};
use clap::Parser;
use cosound_gateway::config::Config;
use cosound_gateway::state::AppState;
use serde_json::Value;
use std::net::SocketAddr;

/// The stack's gateway settings, with `changes` (flag, value) in place of the stack's.
pub fn config(changes: &[(&str, &str)]) -> Config {
    let mut flags = vec![
        ("--database-url", database_url()),
        ("--s3-endpoint", setting("COSOUND_TEST_S3_ENDPOINT")),
        ("--s3-bucket", setting("COSOUND_TEST_S3_BUCKET")),
        ("--s3-access-key", setting("COSOUND_TEST_S3_ACCESS_KEY")),
        ("--s3-secret-key", setting("COSOUND_TEST_S3_SECRET_KEY")),
        ("--jwt-secret", setting("COSOUND_TEST_JWT_SECRET")),
        ("--postgrest-url", api_url()),
    ];
    for &(flag, value) in changes {
        flags.retain(|(f, _)| *f != flag);
        flags.push((flag, value.to_string()));
    }
    let args = flags
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value]);
    Config::parse_from(std::iter::once("cosound-gateway".to_string()).chain(args))
}

/// An address where nothing listens (bound, then freed).
pub fn dead_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A gateway served from inside the test; stopped when dropped.
pub struct OwnGateway {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl OwnGateway {
    pub async fn start(config: &Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(cosound_gateway::server::serve(
            listener,
            AppState::new(config).unwrap(),
            async {
                let _ = stopped.await;
            },
        ));
        OwnGateway {
            url: format!("http://{addr}"),
            stop: Some(stop),
        }
    }
}

impl Drop for OwnGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The stack's bucket, as the gateway reaches it.
pub fn bucket() -> (aws_sdk_s3::Client, String) {
    let state = AppState::new(&config(&[])).unwrap();
    (state.s3, state.bucket)
}

/// The port of the stack's S3 endpoint; SeaweedFS's inner servers take the ones after it.
pub fn s3_port() -> u16 {
    let endpoint = setting("COSOUND_TEST_S3_ENDPOINT");
    endpoint
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in the S3 endpoint {endpoint}"))
}

/// Every key in the bucket under `prefix`.
pub async fn object_keys(prefix: &str) -> Vec<String> {
    let (s3, bucket) = bucket();
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("the bucket lists");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_string)),
        );
    }
    keys
}

/// `POST /songs` at `gateway` with `query` (e.g. `title=Rain&type=soundscape`).
pub async fn upload_to(
    gateway: &str,
    token: Option<&str>,
    query: &str,
    audio: Vec<u8>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{gateway}/songs?{query}"))
        .body(audio);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.expect("the gateway answers JSON"),
    )
}

/// [`upload_to`] the stack's gateway.
pub async fn upload(token: Option<&str>, query: &str, audio: Vec<u8>) -> (u16, Value) {
    upload_to(&gateway_url(), token, query, audio).await
}

/// A mono 16-bit WAV file of `seconds` of noise shaped by a slow swell, different for each
/// `seed` (so no two tests upload the same file).
pub fn wav(seconds: f64, sample_rate: u32, seed: u64) -> Vec<u8> {
    pcm_wav(seconds, sample_rate, 1, seed)
}

/// [`wav`] with `channels` channels, each its own noise under the same swell.
pub fn pcm_wav(seconds: f64, sample_rate: u32, channels: u16, seed: u64) -> Vec<u8> {
    let frames = (seconds * f64::from(sample_rate)) as u32;
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let samples = (0..frames).flat_map(move |i| {
        let swell = 0.6 + 0.4 * (f64::from(i) / f64::from(sample_rate) * 0.7).sin();
        (0..channels)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((state >> 33) as f64 / f64::from(1u32 << 31)) * 2.0 - 1.0;
                noise * swell * 0.3
            })
            .collect::<Vec<_>>()
    });
    crate::audio::wav_file(sample_rate, channels, samples)
}

/// A seed no other upload of this run uses.
pub fn unique_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
