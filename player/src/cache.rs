//! The media cache: the files the queue needs, on local disk, bounded in
//! size, least recently used evicted first.
//!
//! A file enters the cache only whole and verified: it is fetched into a
//! temporary file in the cache directory, checked against the size and
//! SHA-256 the queue gave, and renamed into place — a rename is atomic, so
//! the mixer can never open a partial download, even after a crash (left-
//! over temporaries are deleted when the cache opens). How bytes are
//! fetched is a [`Fetcher`]: local files today, the gateway's media URLs
//! later. Recency survives restarts as the files' modification times.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::source::MediaRef;

const PARTIAL_PREFIX: &str = ".partial-";

/// Gets a media file's bytes from wherever they live.
pub trait Fetcher: Send {
    /// Writes all of `media`'s bytes into `out`.
    fn fetch(&self, media: &MediaRef, out: &mut dyn Write) -> Result<()>;
}

/// Fetches from the local file system; relative URIs are taken from `base`
/// (e.g. the directory of the queue file).
#[derive(Debug, Clone)]
pub struct LocalFetcher {
    base: PathBuf,
}

impl LocalFetcher {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into() }
    }
}

impl Fetcher for LocalFetcher {
    fn fetch(&self, media: &MediaRef, out: &mut dyn Write) -> Result<()> {
        let path = self.base.join(&media.uri);
        let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        io::copy(&mut file, out).map_err(|e| Error::io(&path, e))?;
        Ok(())
    }
}

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    bytes: u64,
    last_used: u64,
}

/// A directory of verified media files of at most `capacity` bytes.
pub struct MediaCache {
    dir: PathBuf,
    capacity: u64,
    fetcher: Box<dyn Fetcher>,
    entries: HashMap<String, Entry>,
    used: u64,
    clock: u64,
}

impl MediaCache {
    /// Opens (creating) the cache in `dir`, indexing what is already there.
    pub fn open(dir: &Path, capacity: u64, fetcher: Box<dyn Fetcher>) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut found = Vec::new();
        for item in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let item = item.map_err(|e| Error::io(dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = item.path();
            if name.starts_with(PARTIAL_PREFIX) {
                // A download that never finished; it was never visible.
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                continue;
            }
            let meta = item.metadata().map_err(|e| Error::io(&path, e))?;
            if meta.is_file() {
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((used, name, path, meta.len()));
            }
        }
        found.sort();
        let mut cache = Self {
            dir: dir.to_path_buf(),
            capacity,
            fetcher,
            entries: HashMap::new(),
            used: 0,
            clock: 0,
        };
        for (_, name, path, bytes) in found {
            cache.clock += 1;
            cache.used += bytes;
            let last_used = cache.clock;
            cache.entries.insert(
                name,
                Entry {
                    path,
                    bytes,
                    last_used,
                },
            );
        }
        cache.evict(None);
        Ok(cache)
    }

    /// The local path of `media`, fetching and verifying it first if it is
    /// not cached.
    pub fn get(&mut self, media: &MediaRef) -> Result<PathBuf> {
        let name = file_name(media);
        self.clock += 1;
        if let Some(entry) = self.entries.get_mut(&name) {
            let on_disk = fs::metadata(&entry.path).map(|m| m.len()).ok();
            let size_ok = media.bytes.is_none_or(|b| b == entry.bytes);
            if on_disk == Some(entry.bytes) && size_ok {
                entry.last_used = self.clock;
                // Best effort: only the order after a restart depends on it.
                if let Ok(file) = File::options().append(true).open(&entry.path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                return Ok(entry.path.clone());
            }
            tracing::warn!(uri = %media.uri, "cached file changed on disk; fetching it again");
            self.remove(&name);
        }
        let (path, bytes) = self.fetch(media, &name)?;
        self.used += bytes;
        self.entries.insert(
            name.clone(),
            Entry {
                path: path.clone(),
                bytes,
                last_used: self.clock,
            },
        );
        self.evict(Some(&name));
        Ok(path)
    }

    /// Drops `media` from the cache (e.g. it would not decode), so the next
    /// `get` fetches it again.
    pub fn forget(&mut self, media: &MediaRef) {
        self.remove(&file_name(media));
    }

    /// Bytes held now.
    pub fn used_bytes(&self) -> u64 {
        self.used
    }

    /// Files held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn fetch(&self, media: &MediaRef, name: &str) -> Result<(PathBuf, u64)> {
        let mut partial = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?;
        let temp_path = partial.path().to_path_buf();
        let (bytes, digest) = {
            let mut writer = Hashing {
                inner: io::BufWriter::new(partial.as_file_mut()),
                hasher: Sha256::new(),
                bytes: 0,
            };
            self.fetcher.fetch(media, &mut writer)?;
            writer.inner.flush().map_err(|e| Error::io(&temp_path, e))?;
            (writer.bytes, hex::encode(writer.hasher.finalize()))
        };
        if let Some(expected) = media.bytes.filter(|&b| b != bytes) {
            return Err(Error::SizeMismatch {
                uri: media.uri.clone(),
                expected,
                actual: bytes,
            });
        }
        if let Some(expected) = media
            .sha256
            .as_ref()
            .filter(|h| !h.eq_ignore_ascii_case(&digest))
        {
            return Err(Error::HashMismatch {
                uri: media.uri.clone(),
                expected: expected.clone(),
                actual: digest,
            });
        }
        partial
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(&temp_path, e))?;
        let path = self.dir.join(name);
        partial
            .persist(&path)
            .map_err(|e| Error::io(&path, e.error))?;
        Ok((path, bytes))
    }

    /// Removes least recently used files until the cache fits, never
    /// `keep` (the file just asked for, even when it alone is too big).
    fn evict(&mut self, keep: Option<&str>) {
        while self.used > self.capacity {
            let oldest = self
                .entries
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != keep)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(name, _)| name.clone());
            match oldest {
                Some(name) => self.remove(&name),
                None => break,
            }
        }
    }

    fn remove(&mut self, name: &str) {
        if let Some(entry) = self.entries.remove(name) {
            self.used -= entry.bytes;
            if let Err(e) = fs::remove_file(&entry.path) {
                tracing::warn!(path = %entry.path.display(), "cannot remove cached file: {e}");
            }
        }
    }
}

/// The cache's name for `media`: its SHA-256 when known (the same content
/// under two URLs is stored once), else a hash of its URI; the URI's
/// extension is kept as the decoder's format hint.
fn file_name(media: &MediaRef) -> String {
    let id = match &media.sha256 {
        Some(sha) if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()) => {
            sha.to_ascii_lowercase()
        }
        _ => format!("uri-{}", hex::encode(Sha256::digest(media.uri.as_bytes()))),
    };
    let ext = Path::new(media.uri.split(['?', '#']).next().unwrap_or_default())
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()));
    match ext {
        Some(ext) => format!("{id}.{}", ext.to_ascii_lowercase()),
        None => id,
    }
}

/// Counts and hashes what passes through, so verification needs no second
/// read of the file.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Serves bytes from memory and counts the fetches.
    #[derive(Clone, Default)]
    struct Memory {
        files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        fetches: Arc<Mutex<usize>>,
    }

    impl Memory {
        fn put(&self, uri: &str, bytes: Vec<u8>) {
            self.files.lock().unwrap().insert(uri.into(), bytes);
        }
        fn fetches(&self) -> usize {
            *self.fetches.lock().unwrap()
        }
    }

    impl Fetcher for Memory {
        fn fetch(&self, media: &MediaRef, out: &mut dyn Write) -> Result<()> {
            *self.fetches.lock().unwrap() += 1;
            let files = self.files.lock().unwrap();
            let bytes = files.get(&media.uri).ok_or_else(|| Error::Fetch {
                uri: media.uri.clone(),
                detail: "404".into(),
            })?;
            out.write_all(bytes).unwrap();
            Ok(())
        }
    }

    fn media(uri: &str, bytes: &[u8]) -> MediaRef {
        MediaRef {
            uri: uri.into(),
            bytes: Some(bytes.len() as u64),
            sha256: Some(hex::encode(Sha256::digest(bytes))),
        }
    }

    #[test]
    fn a_file_is_fetched_once_then_served_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let net = Memory::default();
        net.put("a.wav", vec![1; 100]);
        let mut cache = MediaCache::open(dir.path(), 1_000, Box::new(net.clone())).unwrap();
        let a = media("a.wav", &[1; 100]);
        let path = cache.get(&a).unwrap();
        assert_eq!(fs::read(&path).unwrap(), vec![1; 100]);
        assert_eq!(path.extension().unwrap(), "wav");
        assert_eq!(cache.get(&a).unwrap(), path);
        assert_eq!(net.fetches(), 1);
    }

    #[test]
    fn the_least_recently_used_file_goes_first_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let net = Memory::default();
        for (uri, byte) in [("a", 1), ("b", 2), ("c", 3)] {
            net.put(uri, vec![byte; 400]);
        }
        let mut cache = MediaCache::open(dir.path(), 1_000, Box::new(net.clone())).unwrap();
        let (a, b, c) = (
            media("a", &[1; 400]),
            media("b", &[2; 400]),
            media("c", &[3; 400]),
        );
        cache.get(&a).unwrap();
        cache.get(&b).unwrap();
        cache.get(&a).unwrap();
        cache.get(&c).unwrap();
        assert_eq!((cache.len(), cache.used_bytes()), (2, 800));
        cache.get(&a).unwrap();
        assert_eq!(net.fetches(), 3, "a stayed; b was evicted");
        cache.get(&b).unwrap();
        assert_eq!(net.fetches(), 4);
    }

    #[test]
    fn a_file_that_fails_verification_never_enters() {
        let dir = tempfile::tempdir().unwrap();
        let net = Memory::default();
        net.put("a", vec![1; 100]);
        net.put("b", vec![2; 99]);
        let mut cache = MediaCache::open(dir.path(), 1_000, Box::new(net.clone())).unwrap();
        let mut wrong_hash = media("a", &[1; 100]);
        wrong_hash.sha256 = Some(hex::encode(Sha256::digest(b"other")));
        assert!(matches!(
            cache.get(&wrong_hash),
            Err(Error::HashMismatch { .. })
        ));
        let truncated = MediaRef {
            bytes: Some(100),
            ..media("b", &[2; 99])
        };
        assert!(matches!(
            cache.get(&truncated),
            Err(Error::SizeMismatch { .. })
        ));
        assert!(cache.is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "no leftovers");
    }

    #[test]
    fn reopening_keeps_files_and_drops_partial_downloads() {
        let dir = tempfile::tempdir().unwrap();
        let net = Memory::default();
        net.put("a", vec![1; 100]);
        let a = media("a", &[1; 100]);
        MediaCache::open(dir.path(), 1_000, Box::new(net.clone()))
            .unwrap()
            .get(&a)
            .unwrap();
        fs::write(dir.path().join(".partial-xyz"), b"half").unwrap();
        let mut cache = MediaCache::open(dir.path(), 1_000, Box::new(net.clone())).unwrap();
        assert_eq!(cache.len(), 1);
        cache.get(&a).unwrap();
        assert_eq!(net.fetches(), 1);
        assert!(!dir.path().join(".partial-xyz").exists());
    }

    #[test]
    fn a_forgotten_file_is_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let net = Memory::default();
        net.put("a", vec![1; 10]);
        let mut cache = MediaCache::open(dir.path(), 1_000, Box::new(net.clone())).unwrap();
        let a = media("a", &[1; 10]);
        cache.get(&a).unwrap();
        cache.forget(&a);
        cache.get(&a).unwrap();
        assert_eq!(net.fetches(), 2);
    }
}
