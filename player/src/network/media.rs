//! Media through the gateway: `GET {gateway}/media/{song_id}` with the
//! player's JWT, streamed into the cache's verifying writer.
//!
//! The gateway answers with the bytes, or with a redirect to a presigned S3
//! URL, which is followed (reqwest drops the JWT on a redirect to another
//! host, so it never reaches S3). A stalled transfer is cut off after
//! [`STALL`]; an unreachable gateway (or S3 behind it, 5xx) puts the
//! gateway on backoff, shared with token renewal.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::Fetcher;
use crate::error::{chain, Error, Result};
use crate::network::session::{Session, GATEWAY};
use crate::network::{check, token_refused};
use crate::source::MediaRef;

/// The longest wait for the answer's headers or any next piece of the body.
const STALL: Duration = Duration::from_secs(20);

/// Fetches media URIs `media/{song_id}` from the session's gateway.
pub struct GatewayFetcher {
    session: Arc<Session>,
}

impl GatewayFetcher {
    pub fn new(session: Arc<Session>) -> Self {
        Self { session }
    }

    async fn download(&self, media: &MediaRef, out: &mut dyn Write) -> Result<()> {
        if let Some(wait) = self.session.gateway_wait() {
            return Err(wait);
        }
        let mut response = self.request(media).await;
        if response.as_ref().is_err_and(token_refused) {
            self.session.invalidate();
            response = self.request(media).await;
        }
        let mut response = response.map_err(|e| self.failed(e))?;
        loop {
            let chunk = tokio::time::timeout(STALL, response.chunk())
                .await
                .map_err(|_| Error::Unreachable {
                    service: GATEWAY,
                    detail: format!("{}: no data for {} s", media.uri, STALL.as_secs()),
                })
                .and_then(|read| {
                    read.map_err(|e| Error::Unreachable {
                        service: GATEWAY,
                        detail: format!("{}: {}", media.uri, chain(&e)),
                    })
                })
                .map_err(|e| self.failed(e))?;
            let Some(chunk) = chunk else {
                break;
            };
            out.write_all(&chunk).map_err(|e| Error::Fetch {
                uri: media.uri.clone(),
                detail: format!("cannot write to the cache: {e}"),
            })?;
        }
        self.session.gateway_succeeded();
        Ok(())
    }

    async fn request(&self, media: &MediaRef) -> Result<reqwest::Response> {
        let token = self.session.token().await?;
        let url = format!("{}/{}", self.session.gateway_url(), media.uri);
        let response = tokio::time::timeout(
            STALL,
            self.session.http().get(&url).bearer_auth(token).send(),
        )
        .await
        .map_err(|_| Error::Unreachable {
            service: GATEWAY,
            detail: format!("{url}: no answer for {} s", STALL.as_secs()),
        })?
        .map_err(|e| Error::Unreachable {
            service: GATEWAY,
            detail: chain(&e),
        })?;
        check(GATEWAY, response).await
    }

    /// Puts the gateway on backoff when `error` says it (or S3) is away.
    fn failed(&self, error: Error) -> Error {
        if matches!(error, Error::Unreachable { .. }) {
            self.session.gateway_failed();
        }
        error
    }
}

impl Fetcher for GatewayFetcher {
    fn fetch(&self, media: &MediaRef, out: &mut dyn Write) -> Result<()> {
        self.session.block_on(self.download(media, out))
    }
}
