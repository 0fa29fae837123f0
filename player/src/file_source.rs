//! A queue read from a local JSON file, so the player plays and renders
//! without the server, and tests can steer it by rewriting the file.
//!
//! The file holds a [`DesiredMix`]; media URIs are paths, relative ones
//! taken from the file's directory (see [`crate::cache::LocalFetcher`]):
//!
//! ```json
//! { "layers": [ { "song_id": 1, "media": { "uri": "rain.flac" }, "gain": 0.6,
//!                 "loudness_gain": 0.9 } ],
//!   "instrumental": { "song_id": 7, "media": { "uri": "piano.mp3" }, "gain": 0.4 } }
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::source::{DesiredMix, PlayReport, QueueSource};

/// Re-reads its file at each poll and answers only when it changed.
#[derive(Debug)]
pub struct FileQueue {
    path: PathBuf,
    last: Option<DesiredMix>,
}

impl FileQueue {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            last: None,
        }
    }

    /// The directory relative media paths are taken from.
    pub fn media_dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

impl QueueSource for FileQueue {
    fn poll(&mut self) -> Result<Option<DesiredMix>> {
        let text = fs::read_to_string(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mix: DesiredMix = serde_json::from_str(&text).map_err(|e| Error::Queue {
            origin: self.path.display().to_string(),
            detail: e.to_string(),
        })?;
        if self.last.as_ref() == Some(&mix) {
            return Ok(None);
        }
        self.last = Some(mix.clone());
        Ok(Some(mix))
    }

    fn report(&mut self, report: &PlayReport) -> Result<()> {
        tracing::debug!(?report, "play report (a file queue keeps no history)");
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SongId;

    #[test]
    fn answers_only_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mix.json");
        let one = r#"{"layers":[{"song_id":1,"media":{"uri":"a.wav"},"gain":0.5}]}"#;
        fs::write(&path, one).unwrap();
        let mut queue = FileQueue::new(&path);
        let mix = queue.poll().unwrap().unwrap();
        assert_eq!(mix.layers[0].song_id, SongId(1));
        assert_eq!(mix.layers[0].mix_gain(), 0.5);
        assert_eq!(queue.poll().unwrap(), None);
        fs::write(&path, one.replace("0.5", "0.7")).unwrap();
        assert_eq!(queue.poll().unwrap().unwrap().layers[0].gain, 0.7);
        assert_eq!(queue.media_dir(), dir.path());
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mix.json");
        fs::write(&path, "{ nope").unwrap();
        let err = FileQueue::new(&path).poll().unwrap_err().to_string();
        assert!(err.contains("mix.json"), "{err}");
    }
}
