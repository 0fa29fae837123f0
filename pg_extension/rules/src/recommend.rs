//! The recommender's ranking (the README's *The rules*): a song's adjusted distance to a target is its cosine
//! distance plus a recency penalty `0.05 · exp(−h / 6)`, h the hours since it last played
//! (24 for a song never played). Lowest adjusted distance first; equal ones by song id.
//!
//! The penalty lies in [0, 0.05], and adjusted ≥ distance, so the exact top k can be read from
//! a stream of songs in increasing pure distance: once the next song's distance exceeds the
//! k-th best adjusted distance so far, neither it nor any later song can enter. `TopK` is that
//! reader; where the stream comes from (an exact scan, an HNSW index) is the caller's business.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The largest penalty: a song played this instant.
pub const PENALTY_WEIGHT: f64 = 0.05;
/// How fast the penalty fades: e-fold every 6 hours.
pub const PENALTY_HOURS: f64 = 6.0;
/// A song never played counts as played this long ago.
pub const NEVER_PLAYED_SECONDS: f64 = 24.0 * 3600.0;

/// The recency penalty of a song last played `seconds_since_played` ago (`None`: never).
///
/// Written as the SQL reference computes it, `0.05 * exp(-(seconds / 3600.0) / 6.0)` in
/// float8, so both give the same bits. A play reported in the future (a skewed clock) counts as
/// played now, which keeps the penalty within its bound.
pub fn penalty(seconds_since_played: Option<f64>) -> f64 {
    let seconds = seconds_since_played
        .unwrap_or(NEVER_PLAYED_SECONDS)
        .max(0.0);
    PENALTY_WEIGHT * (-(seconds / 3600.0) / PENALTY_HOURS).exp()
}

/// A song in the ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub song_id: i64,
    pub distance: f64,
    pub adjusted_distance: f64,
}

impl Ranked {
    pub fn new(song_id: i64, distance: f64, penalty: f64) -> Self {
        Ranked {
            song_id,
            distance,
            adjusted_distance: distance + penalty,
        }
    }

    /// The ranking's order: adjusted distance, then song id.
    fn rank_cmp(&self, other: &Self) -> Ordering {
        self.adjusted_distance
            .total_cmp(&other.adjusted_distance)
            .then(self.song_id.cmp(&other.song_id))
    }
}

/// Orders the heap by rank, worst on top.
#[derive(Debug)]
struct ByRank(Ranked);

impl PartialEq for ByRank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByRank {}
impl PartialOrd for ByRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// The best `k` songs of a stream read in increasing pure distance.
#[derive(Debug)]
pub struct TopK {
    k: usize,
    best: BinaryHeap<ByRank>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            best: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    /// Whether a song at `distance`, or any after it in the stream, could still enter. Equal
    /// distances are still read: a song with no penalty left ties the k-th and may win on id.
    pub fn wants(&self, distance: f64) -> bool {
        match self.best.peek() {
            _ if self.k == 0 => false,
            Some(worst) if self.best.len() == self.k => distance <= worst.0.adjusted_distance,
            _ => true,
        }
    }

    pub fn offer(&mut self, song: Ranked) {
        if self.k == 0 {
            return;
        }
        self.best.push(ByRank(song));
        if self.best.len() > self.k {
            self.best.pop();
        }
    }

    /// The ranking, best first.
    pub fn into_ranking(self) -> Vec<Ranked> {
        self.best
            .into_sorted_vec()
            .into_iter()
            .map(|ranked| ranked.0)
            .collect()
    }
}

/// Which kind of stream serves a call: below this many candidate songs, an exact scan sorted by
/// distance is as fast as the index (measured by `cargo xtask bench recommend`) and exact by
/// construction.
pub const EXACT_SCAN_MAX_CANDIDATES: f64 = 20_000.0;

/// How many songs an index stream may yield before the call gives up on it for the exact scan.
/// A LIMIT also tells the planner the stream is short, which is what makes it pick the index.
/// Ten times k is far more than the early stop needs unless recent plays penalise most of the
/// songs near the target.
pub fn index_read_limit(k: usize) -> i64 {
    (k.saturating_mul(10)).max(1000) as i64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    ExactScan,
    Index,
}

impl Strategy {
    pub fn for_candidates(candidates: f64) -> Self {
        if candidates <= EXACT_SCAN_MAX_CANDIDATES {
            Strategy::ExactScan
        } else {
            Strategy::Index
        }
    }
}

/// How far `cosine_distance` may lie from pgvector's `<=>`, which sums in f32: far above the
/// rounding of five products, far below any gap the ranking cares about.
pub const DISTANCE_TOLERANCE: f64 = 1e-4;

/// The cosine distance of two vectors, as pgvector defines it (1 − cosine similarity, the
/// similarity clamped to [−1, 1]), computed in f64: within `DISTANCE_TOLERANCE` of pgvector's
/// value, but not always its bits.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut norm_a, mut norm_b) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    1.0 - (dot / (norm_a * norm_b).sqrt()).clamp(-1.0, 1.0)
}

/// The songs that may be in the exact top `k`, from rankings whose distances are known only
/// within `DISTANCE_TOLERANCE`; ranking these few by their exact distances gives the exact top k.
///
/// Why it is enough: the k songs with the lowest approximate adjusted distance A all have an
/// exact one at most A_k + ε (A_k the k-th lowest A), so the exact k-th best D_k ≤ A_k + ε; and
/// a song with D ≤ D_k has A ≤ D + ε ≤ A_k + 2ε. Every song of the exact top k, ties on D_k
/// included, is kept.
pub fn shortlist(mut approximate: Vec<Ranked>, k: usize) -> Vec<i64> {
    if k == 0 {
        return Vec::new();
    }
    if approximate.len() > k {
        let (_, kth, _) = approximate.select_nth_unstable_by(k - 1, Ranked::rank_cmp);
        let bound = kth.adjusted_distance + 2.0 * DISTANCE_TOLERANCE;
        approximate.retain(|song| song.adjusted_distance <= bound);
    }
    approximate.into_iter().map(|song| song.song_id).collect()
}

/// The kinds of song in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SongType {
    Soundscape,
    Instrumental,
}

impl SongType {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "soundscape" => Some(SongType::Soundscape),
            "instrumental" => Some(SongType::Instrumental),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SongType::Soundscape => "soundscape",
            SongType::Instrumental => "instrumental",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the randomized tests need no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn brute_force(songs: &[Ranked], k: usize) -> Vec<Ranked> {
        let mut all = songs.to_vec();
        all.sort_by(Ranked::rank_cmp);
        all.truncate(k);
        all
    }

    /// Reads `songs` in increasing distance as a scan would, stopping as TopK allows.
    fn streamed(songs: &[Ranked], k: usize) -> (Vec<Ranked>, usize) {
        let mut stream = songs.to_vec();
        stream.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        let mut top = TopK::new(k);
        let mut read = 0;
        for song in stream {
            if !top.wants(song.distance) {
                break;
            }
            read += 1;
            top.offer(song);
        }
        (top.into_ranking(), read)
    }

    #[test]
    fn the_penalty_fades_from_five_hundredths() {
        assert_eq!(penalty(Some(0.0)), 0.05);
        assert!((penalty(Some(6.0 * 3600.0)) - 0.05 / std::f64::consts::E).abs() < 1e-15);
        assert_eq!(penalty(None), penalty(Some(86_400.0)));
        assert!(penalty(None) < 0.001);
        assert_eq!(penalty(Some(-3600.0)), 0.05, "a future play counts as now");
        assert_eq!(penalty(Some(1e9)), 0.0);
    }

    #[test]
    fn early_stop_gives_the_exact_top_k_on_random_catalogues() {
        let mut rng = Rng(0x5eed_cafe);
        for round in 0..300 {
            let n = 1 + (rng.next() * 400.0) as usize;
            let k = (rng.next() * 30.0) as usize;
            let songs: Vec<Ranked> = (0..n)
                .map(|i| {
                    // Coarse values make exact ties in distance and in adjusted distance.
                    let distance = (rng.next() * 40.0).floor() / 100.0;
                    let played = match (rng.next() * 4.0) as u32 {
                        0 => None,
                        1 => Some(0.0),
                        _ => Some((rng.next() * 48.0).floor() * 3600.0),
                    };
                    Ranked::new(i as i64 * 7 % 1000, distance, penalty(played))
                })
                .collect();
            let (got, read) = streamed(&songs, k);
            assert_eq!(got, brute_force(&songs, k), "round {round}");
            // It read every song that could enter the final ranking (distance at most the k-th
            // adjusted distance), and at most one more: the one whose entry closed the ranking.
            let could_enter = match got.len() {
                _ if k == 0 => 0,
                full if full == k => songs
                    .iter()
                    .filter(|s| s.distance <= got[k - 1].adjusted_distance)
                    .count(),
                _ => n,
            };
            assert!(
                (could_enter..=could_enter + 1).contains(&read),
                "round {round}: read {read} of {n}, {could_enter} could enter"
            );
        }
    }

    #[test]
    fn the_stream_stops_once_no_later_song_can_enter() {
        let songs: Vec<Ranked> = (0..1000)
            .map(|i| Ranked::new(i, i as f64 / 1000.0, penalty(None)))
            .collect();
        let (got, read) = streamed(&songs, 10);
        assert_eq!(got.len(), 10);
        assert!(read < 12, "read {read} songs for the top 10");
    }

    #[test]
    fn ties_go_to_the_lower_song_id() {
        let songs = [
            Ranked::new(9, 0.1, 0.0),
            Ranked::new(3, 0.1, 0.0),
            Ranked::new(5, 0.05, 0.05),
        ];
        let (got, _) = streamed(&songs, 2);
        let ids: Vec<i64> = got.iter().map(|r| r.song_id).collect();
        assert_eq!(ids, [3, 5]);
    }

    #[test]
    fn k_zero_reads_nothing() {
        let top = TopK::new(0);
        assert!(!top.wants(0.0));
        assert!(top.into_ranking().is_empty());
    }

    #[test]
    fn the_shortlist_holds_the_exact_top_k_of_approximate_distances() {
        let mut rng = Rng(0xd15_7a9ce);
        for round in 0..300 {
            let n = 1 + (rng.next() * 300.0) as usize;
            let k = (rng.next() * 12.0) as usize;
            let exact: Vec<Ranked> = (0..n)
                .map(|i| {
                    // Coarse distances and penalties tie often, both exactly and within ε.
                    let distance = (rng.next() * 30.0).floor() / 1e4;
                    let played = (rng.next() < 0.5).then(|| (rng.next() * 4.0).floor() * 3600.0);
                    Ranked::new(i as i64, distance, penalty(played))
                })
                .collect();
            let approximate: Vec<Ranked> = exact
                .iter()
                .map(|song| {
                    let error = (rng.next() * 2.0 - 1.0) * DISTANCE_TOLERANCE;
                    Ranked::new(
                        song.song_id,
                        song.distance + error,
                        song.adjusted_distance - song.distance,
                    )
                })
                .collect();
            let kept = shortlist(approximate, k);
            let mut top = TopK::new(k);
            for id in &kept {
                top.offer(exact[*id as usize]);
            }
            assert_eq!(top.into_ranking(), brute_force(&exact, k), "round {round}");
            assert!(kept.len() >= k.min(n));
        }
    }

    #[test]
    fn the_cosine_distance_is_pgvectors() {
        assert_eq!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]), 0.0);
        assert_eq!(cosine_distance(&[1.0, 0.0], &[0.0, 3.0]), 1.0);
        assert_eq!(cosine_distance(&[1.0, 0.0], &[-1.0, 0.0]), 2.0);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let d = cosine_distance(&[h, h, 0.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!((d - (1.0 - std::f64::consts::FRAC_1_SQRT_2)).abs() < 1e-7);
    }

    #[test]
    fn small_candidate_sets_are_scanned_exactly() {
        assert_eq!(Strategy::for_candidates(500.0), Strategy::ExactScan);
        assert_eq!(Strategy::for_candidates(1e6), Strategy::Index);
        assert_eq!(index_read_limit(200), 2000);
        assert_eq!(index_read_limit(3), 1000);
        assert_eq!(SongType::parse("soundscape"), Some(SongType::Soundscape));
        assert_eq!(SongType::parse("jazz"), None);
    }
}
