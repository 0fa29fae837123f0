//! PostgREST, as a player device uses it (see `sql/0015_api_players.sql`):
//! `GET /player_queue`, `POST /rpc/heartbeat`, `POST /rpc/report_play`,
//! each with the player's JWT and a timeout.

use std::time::Duration;

use postgrest::Postgrest;
use serde::Deserialize;
use serde_json::json;

use crate::error::{chain, Error, Result};
use crate::mix::Role;
use crate::network::check;

pub const API: &str = "the API";

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One row of the `player_queue` view: a sound the player should play.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueueRow {
    pub slot: i16,
    pub song_id: i64,
    #[serde(deserialize_with = "role")]
    pub role: Role,
    /// Linear, the song's loudness gain included.
    pub gain: f32,
    pub byte_size: Option<i64>,
    pub content_sha256: Option<String>,
    /// Bumps with every change of the player's queue.
    pub version: i64,
    /// The most of full volume the player may play at now (0 to 1), from its schedule.
    #[serde(default)]
    pub volume_cap: Option<f32>,
}

/// A queue row's role; one this build does not know is refused rather than guessed at.
fn role<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Role, D::Error> {
    let name = String::deserialize(deserializer)?;
    Role::parse(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown role {name:?}: a queue row is a layer or an instrumental"
        ))
    })
}

/// What a play report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayEvent {
    Start,
    End,
    Failed,
}

impl PlayEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::End => "end",
            Self::Failed => "failed",
        }
    }
}

/// The PostgREST API of one stack.
pub struct Api {
    client: Postgrest,
    url: String,
}

impl Api {
    pub fn new(url: &str) -> Self {
        let url = url.trim_end_matches('/').to_string();
        Self {
            client: Postgrest::new(url.clone()),
            url,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The player's queue, in channel order (the view shows a player its
    /// own rows only).
    pub async fn queue(&self, token: &str) -> Result<Vec<QueueRow>> {
        let request = self
            .client
            .from("player_queue")
            .auth(token)
            .select("slot,song_id,role,gain,byte_size,content_sha256,version,volume_cap")
            .order("slot");
        let response = send(request.build()).await?;
        response.json().await.map_err(|e| Error::Unreachable {
            service: API,
            detail: format!("unreadable queue: {}", chain(&e)),
        })
    }

    /// Says the player is alive (the room shows as online).
    pub async fn heartbeat(&self, token: &str) -> Result<()> {
        send(self.client.rpc("heartbeat", "{}").auth(token).build()).await?;
        Ok(())
    }

    /// Reports that the player started, ended or could not play a song.
    pub async fn report_play(
        &self,
        token: &str,
        song_id: i64,
        event: PlayEvent,
        detail: Option<&str>,
    ) -> Result<()> {
        let body = json!({ "song_id": song_id, "event": event.as_str(), "detail": detail });
        let request = self.client.rpc("report_play", body.to_string()).auth(token);
        send(request.build()).await?;
        Ok(())
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
    let response = request
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| Error::Unreachable {
            service: API,
            detail: chain(&e),
        })?;
    check(API, response).await
}
