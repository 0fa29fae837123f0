//! The Cosound player: plays a room's layered ambient mix from its queue.
//!
//! Module map, from the queue to the speaker:
//! - [`source`]: the [`QueueSource`](source::QueueSource) seam — the desired
//!   mix (layers, instrumental, gains) and the play reports going back;
//!   [`file_source`] implements it from a JSON file, [`network`] from
//!   PostgREST and the gateway.
//! - [`cache`]: the bounded, LRU-by-size, verified media cache and its
//!   pluggable [`Fetcher`](cache::Fetcher).
//! - [`decode`]: audio files (wav, flac, ogg, mp3) → in-memory clips at the
//!   output rate.
//! - [`mix`]: the mixer — [`Engine`](mix::Engine), equal-power
//!   [`crossfade`](mix::crossfade)s, seamless loops ([`seam`](mix::seam)).
//! - [`stream`]: the engine as a rodio `Source`, steered through a
//!   [`MixHandle`](stream::MixHandle) without blocking the audio thread.
//! - [`controller`]: each poll — queue → cache → decode → plan → mixer, and
//!   events → reports; skips what fails, never silences the mix.
//! - [`output`]: default device, `wav:` file or `null`, and the run loop.
//! - [`status`]: the live terminal view.
//! - [`cli`]: the command line; [`error`]: the crate's error type.

pub mod cache;
pub mod cli;
pub mod controller;
pub mod decode;
pub mod error;
pub mod file_source;
pub mod mix;
pub mod network;
pub mod output;
pub mod source;
pub mod status;
pub mod stream;
