//! Where the mix goes — an audio device, a WAV file, or nowhere at real-
//! time pace — and the loop that keeps it fed.
//!
//! With a device or `null`, audio runs on its own thread and the controller
//! polls on the main thread by the wall clock. Rendering to WAV runs as fast
//! as it can, so there the controller runs between blocks on the render
//! clock: a 60 s file has its 12 polls at 0, 5, 10 … s of audio.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rodio::source::Source;

use crate::controller::Controller;
use crate::error::{self, Error, Result};
use crate::mix::{Engine, CROSSFADE};
use crate::status;
use crate::stream::{mix_stream, MixHandle, MixSource};

/// How long a WAV render lasts when no duration is given.
pub const DEFAULT_WAV_SECONDS: u64 = 60;
/// How often the live status view is redrawn.
const REDRAW: Duration = Duration::from_millis(250);
/// How much a null output consumes at a time.
const NULL_CHUNK: Duration = Duration::from_millis(10);

/// An output, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The default audio device, through rodio.
    Default,
    /// Render into a WAV file (32-bit float), no sound card needed.
    Wav(PathBuf),
    /// Consume the mix at real-time pace, playing it nowhere.
    Null,
}

impl FromStr for Output {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "default" => Ok(Self::Default),
            "null" => Ok(Self::Null),
            _ => match s.strip_prefix("wav:") {
                Some(path) if !path.is_empty() => Ok(Self::Wav(path.into())),
                _ => Err(Error::BadOutput { given: s.into() }),
            },
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => write!(f, "default"),
            Self::Null => write!(f, "null"),
            Self::Wav(path) => write!(f, "wav:{}", path.display()),
        }
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub poll_interval: Duration,
    /// Stop after this long (WAV: this much audio); `None` runs until
    /// killed (WAV: [`DEFAULT_WAV_SECONDS`]).
    pub duration: Option<Duration>,
    /// Sample rate for WAV and null (a device uses its own).
    pub sample_rate: u32,
    /// Redraw the live status view in the terminal.
    pub live_status: bool,
}

/// Plays the mix to `output`; `controller` is built once the output's
/// sample rate is known.
pub fn run(
    output: &Output,
    options: &RunOptions,
    controller: impl FnOnce(MixHandle) -> Controller,
) -> Result<()> {
    match output {
        Output::Default => {
            let mut sink =
                rodio::DeviceSinkBuilder::open_default_sink().map_err(|e| Error::NoDevice {
                    detail: e.to_string(),
                })?;
            sink.log_on_drop(false);
            let rate = sink.config().sample_rate().get();
            tracing::info!(rate, "playing on the default audio device");
            let (source, handle) = mix_stream(Engine::new(rate, CROSSFADE));
            sink.mixer().add(source);
            wall_clock_loop(controller(handle), options);
            Ok(())
        }
        Output::Null => {
            let (source, handle) = mix_stream(Engine::new(options.sample_rate, CROSSFADE));
            thread::spawn(move || consume_in_real_time(source));
            wall_clock_loop(controller(handle), options);
            Ok(())
        }
        Output::Wav(path) => {
            let seconds = options
                .duration
                .unwrap_or(Duration::from_secs(DEFAULT_WAV_SECONDS));
            let (source, handle) = mix_stream(Engine::new(options.sample_rate, CROSSFADE));
            let source = polled_on_render_clock(source, controller(handle), options.poll_interval);
            render_wav(source, seconds, path)?;
            tracing::info!(path = %path.display(), seconds = seconds.as_secs_f64(), "rendered");
            Ok(())
        }
    }
}

/// Runs `controller` from inside `source`, every `interval` of rendered
/// audio, starting at 0.
pub fn polled_on_render_clock(
    source: MixSource,
    mut controller: Controller,
    interval: Duration,
) -> MixSource {
    let mut next = Duration::ZERO;
    source.with_hook(Box::new(move |elapsed| {
        if elapsed >= next {
            controller.tick();
            next += interval;
        }
    }))
}

/// Writes `duration` of `source` to a WAV file at `path`.
pub fn render_wav(source: MixSource, duration: Duration, path: &std::path::Path) -> Result<()> {
    rodio::wav_to_file(source.with_duration(duration), path).map_err(|e| Error::Wav {
        path: path.to_path_buf(),
        detail: error::chain(&e),
    })
}

/// Pulls the mix at the pace a sound card would, into nothing.
fn consume_in_real_time(mut source: MixSource) {
    let rate = f64::from(source.sample_rate().get());
    let chunk = (NULL_CHUNK.as_secs_f64() * rate) as usize * 2;
    let start = Instant::now();
    let mut samples: u64 = 0;
    loop {
        for _ in 0..chunk {
            source.next();
        }
        samples += chunk as u64;
        let due = start + Duration::from_secs_f64(samples as f64 / 2.0 / rate);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// Polls by the wall clock and redraws the status view until the run's
/// duration is over (or forever).
fn wall_clock_loop(mut controller: Controller, options: &RunOptions) {
    let live = options.live_status && std::io::stdout().is_terminal();
    let start = Instant::now();
    let mut next_poll = start;
    loop {
        let now = Instant::now();
        if options.duration.is_some_and(|d| now >= start + d) {
            return;
        }
        if now >= next_poll {
            controller.tick();
            // After a slow tick, wait a full interval rather than catch up.
            next_poll = (next_poll + options.poll_interval).max(Instant::now());
        }
        if live {
            let view = status::render(controller.status(), &controller.voices(), SystemTime::now());
            let mut out = std::io::stdout().lock();
            // Home, clear, draw: the whole view is redrawn each time.
            let _ = write!(out, "\x1b[H\x1b[2J{view}");
            let _ = out.flush();
        }
        thread::sleep(REDRAW.min(next_poll.saturating_duration_since(Instant::now())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_and_print_back() {
        for text in ["default", "null", "wav:/tmp/mix.wav"] {
            assert_eq!(text.parse::<Output>().unwrap().to_string(), text);
        }
        assert!("wav:".parse::<Output>().is_err());
        assert!("speakers".parse::<Output>().is_err());
    }
}
