//! The player's session with the gateway: its key traded for a short-lived
//! player JWT, renewed before it runs out, and the one async runtime and
//! HTTP client the network side shares.
//!
//! The controller calls its queue and cache from one plain thread, so the
//! network code is async (postgrest-rs, reqwest) driven by a small
//! current-thread runtime with [`Session::block_on`]; every request carries
//! a timeout, so no call holds the controller for long.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::{chain, Error, Result};
use crate::network::backoff::Backoff;
use crate::network::{RETRY_BASE, RETRY_CAP};

pub const GATEWAY: &str = "the gateway";

/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
/// A token is renewed once this share of its lifetime has passed, so a
/// slow or briefly absent gateway still leaves time to renew.
const RENEW_AT: f64 = 0.6;

/// What `POST /player/token` answers.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    player_id: i64,
}

#[derive(Debug)]
struct Token {
    jwt: String,
    renew_at: Instant,
    expires_at: Instant,
}

#[derive(Debug)]
struct State {
    token: Option<Token>,
    player_id: Option<i64>,
    /// Retries of the gateway (token and media), shared by both.
    gateway: Backoff,
}

/// A player's credentials and connection to the gateway.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    gateway_url: String,
    key: String,
    state: Mutex<State>,
}

impl Session {
    pub fn new(gateway_url: &str, key: String) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("the network runtime", e))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Unreachable {
                service: GATEWAY,
                detail: chain(&e),
            })?;
        Ok(Self {
            runtime,
            http,
            gateway_url: gateway_url.trim_end_matches('/').to_string(),
            key,
            state: Mutex::new(State {
                token: None,
                player_id: None,
                gateway: Backoff::new(RETRY_BASE, RETRY_CAP),
            }),
        })
    }

    /// Runs `future` to completion on the session's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// The player this session's key belongs to, once a token was granted.
    pub fn player_id(&self) -> Option<i64> {
        self.state().player_id
    }

    /// A token that PostgREST and the gateway accept: the one held, or a
    /// new one when it is due for renewal. While the gateway is away, the
    /// held token serves until it expires.
    pub async fn token(&self) -> Result<String> {
        let now = Instant::now();
        let held = {
            let state = self.state();
            let held = state.token.as_ref().filter(|t| now < t.expires_at);
            if let Some(token) = held.filter(|t| now < t.renew_at) {
                return Ok(token.jwt.clone());
            }
            if !state.gateway.ready(now) {
                return held.map(|t| t.jwt.clone()).ok_or(Error::Waiting {
                    service: GATEWAY,
                    wait: state.gateway.remaining(now),
                });
            }
            held.map(|t| t.jwt.clone())
        };
        match self.trade_key().await {
            Ok(jwt) => Ok(jwt),
            Err(e) => {
                let wait = self.gateway_failed();
                match held {
                    Some(jwt) => {
                        tracing::warn!(
                            "cannot renew the player token (next try in {wait:.1?}): {e}"
                        );
                        Ok(jwt)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Drops the held token (PostgREST or the gateway refused it), so the
    /// next call trades the key again.
    pub fn invalidate(&self) {
        self.state().token = None;
    }

    /// Records a gateway failure; returns the wait before the next try.
    pub fn gateway_failed(&self) -> Duration {
        self.state().gateway.failed(Instant::now())
    }

    pub fn gateway_succeeded(&self) {
        self.state().gateway.succeeded();
    }

    /// The gateway's backoff, as an error, when it is not to be tried yet.
    pub fn gateway_wait(&self) -> Option<Error> {
        let now = Instant::now();
        let state = self.state();
        (!state.gateway.ready(now)).then(|| Error::Waiting {
            service: GATEWAY,
            wait: state.gateway.remaining(now),
        })
    }

    async fn trade_key(&self) -> Result<String> {
        let asked = Instant::now();
        let response = self
            .http
            .post(format!("{}/player/token", self.gateway_url))
            .json(&serde_json::json!({ "key": self.key }))
            .timeout(TOKEN_TIMEOUT)
            .send()
            .await
            .map_err(|e| Error::Unreachable {
                service: GATEWAY,
                detail: chain(&e),
            })?;
        let response = super::check(GATEWAY, response).await?;
        let answer: TokenAnswer = response.json().await.map_err(|e| Error::Unreachable {
            service: GATEWAY,
            detail: format!("unreadable token answer: {}", chain(&e)),
        })?;
        let lifetime = Duration::from_secs(answer.expires_in);
        let mut state = self.state();
        if state.player_id != Some(answer.player_id) {
            tracing::info!(player_id = answer.player_id, "signed in at the gateway");
        }
        state.player_id = Some(answer.player_id);
        state.gateway.succeeded();
        state.token = Some(Token {
            jwt: answer.access_token.clone(),
            // Timed from the request, not the answer: the token's clock
            // started on the gateway before the answer arrived.
            renew_at: asked + lifetime.mul_f64(RENEW_AT),
            expires_at: asked + lifetime,
        });
        Ok(answer.access_token)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one still holds
        // consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
