//! Where the desired mix comes from: the seam between the player and its
//! queue.
//!
//! The player asks a [`QueueSource`] every poll interval what it should be
//! playing and tells it what it started and ended. Today
//! [`crate::file_source::FileQueue`] reads a JSON file; the network client
//! (PostgREST queue view, gateway tokens, heartbeats) implements the same
//! trait. Whatever a source does — fail, hang up, repeat itself — the mixer
//! keeps playing what it has.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::mix::Role;

/// A song's id in the catalogue (`cosound.songs.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SongId(pub i64);

impl fmt::Display for SongId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a song's audio file is, and what it must be once fetched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MediaRef {
    /// What the fetcher understands: a path for local files, a media URL
    /// (or object key) for the gateway.
    pub uri: String,
    /// Expected size in bytes, when the queue knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Expected SHA-256 (lowercase hex), when the queue knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One sound the queue asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    pub song_id: SongId,
    pub media: MediaRef,
    /// How much of the mix this sound makes up (linear).
    pub gain: f32,
    /// The song's loudness normalisation (linear), multiplied into `gain`.
    #[serde(default = "unity")]
    pub loudness_gain: f32,
}

fn unity() -> f32 {
    1.0
}

impl LayerSpec {
    /// The gain the mixer applies.
    pub fn mix_gain(&self) -> f32 {
        self.gain * self.loudness_gain
    }
}

/// The mix the queue wants now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DesiredMix {
    /// Soundscape layers, looped, in channel order.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// At most one instrumental, played once over the layers.
    #[serde(default)]
    pub instrumental: Option<LayerSpec>,
    /// Media the queue will want next, fetched ahead into the cache.
    #[serde(default)]
    pub upcoming: Vec<MediaRef>,
    /// The most of full volume the mix may play at (0 to 1), from the player's schedule;
    /// none: full volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_cap: Option<f32>,
}

impl DesiredMix {
    /// The layers, then the instrumental, each with its role.
    pub fn sounds(&self) -> impl Iterator<Item = (Role, &LayerSpec)> {
        self.layers
            .iter()
            .map(|l| (Role::Layer, l))
            .chain(self.instrumental.iter().map(|i| (Role::Instrumental, i)))
    }
}

/// What the player reports back to its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayReport {
    Started {
        song: SongId,
        role: Role,
    },
    Ended {
        song: SongId,
        role: Role,
    },
    /// The song could not be played (missing, corrupt, undecodable).
    Failed {
        song: SongId,
        detail: String,
    },
}

/// The player's queue, as seen from the device.
///
/// Calls come from the controller thread, never from the audio thread, so
/// an implementation may block (a network client can `block_on` its
/// requests) but should bound each call by a timeout: the poll interval is
/// the player's heartbeat.
pub trait QueueSource: Send {
    /// The mix wanted now, or `None` when it is unchanged since the last
    /// call that returned one. An error leaves the current mix playing.
    fn poll(&mut self) -> Result<Option<DesiredMix>>;

    /// Called with each song the mixer starts and ends (play history);
    /// a failure is logged and playback goes on.
    fn report(&mut self, report: &PlayReport) -> Result<()>;

    /// A short description for the status view, e.g. the file or URL.
    fn describe(&self) -> String;
}
