//! What the player shows about itself: the live terminal view (what plays,
//! layer gains, connection state, last poll, recent problems).

use std::collections::VecDeque;
use std::fmt::Write;
use std::time::SystemTime;

use crate::mix::VoiceState;

/// Problems kept for the view.
const RECENT_PROBLEMS: usize = 5;

/// The state of the link to the queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Connection {
    #[default]
    Starting,
    Ok,
    Failing(String),
}

/// What the controller knows about the player, besides the voices.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub output: String,
    pub source: String,
    pub connection: Connection,
    pub last_poll: Option<SystemTime>,
    pub cache_bytes: u64,
    pub cache_files: usize,
    problems: VecDeque<String>,
}

impl Status {
    pub fn new(output: String, source: String) -> Self {
        Self {
            output,
            source,
            ..Self::default()
        }
    }

    /// Remembers a problem (a skipped file, a failed poll) for the view.
    pub fn problem(&mut self, text: String) {
        if self.problems.len() == RECENT_PROBLEMS {
            self.problems.pop_front();
        }
        self.problems.push_back(text);
    }

    pub fn problems(&self) -> impl Iterator<Item = &str> {
        self.problems.iter().map(String::as_str)
    }
}

/// The status view as text, one screen.
pub fn render(status: &Status, voices: &[VoiceState], now: SystemTime) -> String {
    let mut out = String::new();
    let connection = match &status.connection {
        Connection::Starting => "starting".to_string(),
        Connection::Ok => "ok".to_string(),
        Connection::Failing(e) => format!("FAILING: {e}"),
    };
    let last_poll = status.last_poll.map_or("never".to_string(), |t| {
        let ago = now.duration_since(t).unwrap_or_default();
        format!("{:.1} s ago", ago.as_secs_f32())
    });
    let _ = writeln!(out, "cosound-player → {}", status.output);
    let _ = writeln!(out, "queue:  {} — {connection}", status.source);
    let _ = writeln!(out, "poll:   {last_poll}");
    let _ = writeln!(
        out,
        "cache:  {} files, {:.1} MB",
        status.cache_files,
        status.cache_bytes as f64 / 1e6
    );
    let _ = writeln!(out, "playing ({} voices):", voices.len());
    if voices.is_empty() {
        let _ = writeln!(out, "  (silence)");
    }
    for v in voices {
        let role = v.role.as_str();
        let motion = if v.leaving {
            " fading out".to_string()
        } else if (v.gain - v.target).abs() > 1e-4 {
            format!(" → {:.2}", v.target)
        } else {
            String::new()
        };
        let bar = "█".repeat((v.gain.clamp(0.0, 1.0) * 20.0).round() as usize);
        let _ = writeln!(
            out,
            "  {:<13} {:>8} gain {:.2} {bar:<20}{motion}",
            role, v.song, v.gain
        );
    }
    for p in status.problems() {
        let _ = writeln!(out, "! {p}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::Role;
    use crate::source::SongId;
    use std::time::Duration;

    #[test]
    fn shows_voices_gains_connection_and_last_poll() {
        let now = SystemTime::now();
        let mut status = Status::new("wav:out.wav".into(), "file mix.json".into());
        status.connection = Connection::Failing("timeout".into());
        status.last_poll = Some(now - Duration::from_secs(2));
        status.problem("skipped #3: not playable audio".into());
        let voices = [VoiceState {
            song: SongId(12),
            role: Role::Layer,
            gain: 0.5,
            target: 0.8,
            leaving: false,
        }];
        let text = render(&status, &voices, now);
        for expected in [
            "FAILING: timeout",
            "2.0 s ago",
            "#12",
            "gain 0.50",
            "→ 0.80",
            "skipped #3",
        ] {
            assert!(text.contains(expected), "{expected:?} missing in\n{text}");
        }
    }
}
