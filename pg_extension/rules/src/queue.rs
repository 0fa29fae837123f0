//! A player's queue: which soundscape layers play, at which gains, and the next instrumental;
//! and when a queue needs computing again.
//!
//! The layers are the best `LAYERS` soundscapes for the group by adjusted distance. Each plays
//! at a weight relative to the best one's fit (cosine similarity less the recency penalty), so
//! the closest sound leads the mix; a layer fitting less than half as well as the best is left
//! out. The instrumental is the best instrumental. Every gain is also scaled by the song's
//! loudness gain, so sounds mastered at different levels mix evenly. Four channels (eight while
//! cross-fading) stay well within the player's sixteen.

use crate::group::GroupStrategy;
use crate::recommend::Ranked;

/// Soundscape layers looped at once.
pub const LAYERS: usize = 3;
/// A layer fitting less than this fraction as well as the best one is left out.
pub const MIN_LAYER_WEIGHT: f64 = 0.5;
/// A queue is recomputed at least this often, so that the fading of the recency penalty reaches
/// it even when nothing else changes.
pub const STALE_AFTER_SECONDS: f64 = 300.0;

/// What a queue row is in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A soundscape layer, looped until the queue drops it.
    Layer,
    /// The instrumental, played once over the layers.
    Instrumental,
}

impl Role {
    /// The role of a stored queue row; `None` for one this build does not know.
    pub fn parse(name: &str) -> Option<Self> {
        [Role::Layer, Role::Instrumental]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Layer => "layer",
            Role::Instrumental => "instrumental",
        }
    }
}

/// One channel of the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub song_id: i64,
    pub role: Role,
    pub gain: f32,
}

/// A linear factor from a gain in decibels.
pub fn loudness_factor(gain_db: f32) -> f64 {
    10f64.powf(f64::from(gain_db) / 20.0)
}

/// The queue from the ranked soundscapes (best first) and the best instrumental, with each
/// song's loudness gain in dB from `loudness_db`.
pub fn mix(
    soundscapes: &[Ranked],
    instrumental: Option<&Ranked>,
    loudness_db: impl Fn(i64) -> f32,
) -> Vec<Pick> {
    let fit = |song: &Ranked| 1.0 - song.adjusted_distance;
    let mut picks: Vec<Pick> = Vec::with_capacity(LAYERS + 1);
    if let Some(best) = soundscapes.first() {
        let best_fit = fit(best);
        for song in soundscapes.iter().take(LAYERS) {
            // A group whose taste points away from every sound still hears the nearest one.
            let weight = if best_fit > 0.0 {
                fit(song) / best_fit
            } else {
                f64::from(u8::from(song.song_id == best.song_id))
            };
            if weight >= MIN_LAYER_WEIGHT {
                picks.push(Pick {
                    song_id: song.song_id,
                    role: Role::Layer,
                    gain: (weight * loudness_factor(loudness_db(song.song_id))) as f32,
                });
            }
        }
    }
    if let Some(song) = instrumental {
        picks.push(Pick {
            song_id: song.song_id,
            role: Role::Instrumental,
            gain: loudness_factor(loudness_db(song.song_id)) as f32,
        });
    }
    picks
}

/// What a queue is computed from, apart from the time (and, for the fair strategy, how well
/// each listener was served: that is counted when the queue is due for another reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub strategy: GroupStrategy,
    /// How many listeners with a taste are there (`None` for a queue stored before this was).
    pub listeners: Option<i32>,
    /// The tastes of the listeners there, one after another in the order they checked in; with
    /// nobody there, the fallback target.
    pub tastes: Vec<f32>,
    /// The schedule block in force, if any.
    pub block: Option<i64>,
    /// Counts changes to songs and libraries.
    pub catalogue_generation: i64,
    /// The player's latest reported play (microseconds since 2000, PostgreSQL's epoch).
    pub last_play_at: Option<i64>,
}

/// Whether a queue computed from `last` `age_seconds` ago must be computed again now.
pub fn needs_refresh(last: Option<&Inputs>, now: &Inputs, age_seconds: f64) -> bool {
    last != Some(now) || age_seconds >= STALE_AFTER_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song(song_id: i64, adjusted_distance: f64) -> Ranked {
        Ranked {
            song_id,
            distance: adjusted_distance,
            adjusted_distance,
        }
    }

    #[test]
    fn the_best_layer_leads_and_weaker_fits_follow_or_drop_out() {
        let ranked = [song(1, 0.1), song(2, 0.28), song(3, 0.6)];
        let picks = mix(&ranked, Some(&song(9, 0.2)), |_| 0.0);
        assert_eq!(picks.len(), 3);
        assert_eq!((picks[0].song_id, picks[0].gain), (1, 1.0));
        assert_eq!(picks[1].song_id, 2);
        assert!((picks[1].gain - 0.8).abs() < 1e-6);
        assert_eq!(
            (picks[2].song_id, picks[2].role, picks[2].gain),
            (9, Role::Instrumental, 1.0)
        );
    }

    #[test]
    fn at_most_three_layers() {
        let ranked: Vec<Ranked> = (0..10).map(|i| song(i, 0.01 * i as f64)).collect();
        let picks = mix(&ranked, None, |_| 0.0);
        let ids: Vec<i64> = picks.iter().map(|p| p.song_id).collect();
        assert_eq!(ids, [0, 1, 2]);
    }

    #[test]
    fn loudness_gain_scales_the_channel() {
        let picks = mix(&[song(1, 0.0)], Some(&song(2, 0.0)), |id| {
            if id == 1 {
                -6.0
            } else {
                20.0
            }
        });
        assert!((picks[0].gain - 0.501_187).abs() < 1e-5);
        assert!((picks[1].gain - 10.0).abs() < 1e-5);
    }

    #[test]
    fn a_taste_pointing_away_from_everything_still_gets_the_nearest_layer() {
        let picks = mix(&[song(4, 1.4), song(5, 1.5)], None, |_| 0.0);
        assert_eq!(picks.len(), 1);
        assert_eq!((picks[0].song_id, picks[0].gain), (4, 1.0));
    }

    #[test]
    fn an_empty_catalogue_gives_an_empty_queue() {
        assert!(mix(&[], None, |_| 0.0).is_empty());
    }

    #[test]
    fn a_queue_is_recomputed_when_its_inputs_change_or_it_grows_old() {
        let inputs = Inputs {
            strategy: GroupStrategy::Mean,
            listeners: Some(1),
            block: None,
            tastes: vec![1.0, 0.0, 0.0, 0.0, 0.0],
            catalogue_generation: 4,
            last_play_at: Some(100),
        };
        assert!(!needs_refresh(Some(&inputs), &inputs, 30.0));
        assert!(needs_refresh(None, &inputs, 0.0));
        assert!(needs_refresh(Some(&inputs), &inputs, 301.0));
        let played = Inputs {
            last_play_at: Some(200),
            ..inputs.clone()
        };
        assert!(needs_refresh(Some(&inputs), &played, 1.0));
        let new_song = Inputs {
            catalogue_generation: 5,
            ..inputs.clone()
        };
        assert!(needs_refresh(Some(&inputs), &new_song, 1.0));
        let fair = Inputs {
            strategy: GroupStrategy::Fair,
            ..inputs.clone()
        };
        assert!(needs_refresh(Some(&inputs), &fair, 1.0));
        let left = Inputs {
            listeners: Some(0),
            ..inputs.clone()
        };
        assert!(
            needs_refresh(Some(&inputs), &left, 1.0),
            "one leaves whose taste the fallback repeats"
        );
        let quiet_hours = Inputs {
            block: Some(3),
            ..inputs.clone()
        };
        assert!(needs_refresh(Some(&inputs), &quiet_hours, 1.0));
    }
}
