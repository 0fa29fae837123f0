//! What a room's mix is picked for. The group vector (the README's *The rules*) is the mean of the listeners'
//! unit taste vectors, scaled to unit length; a player with nobody there falls back to its
//! recent listeners, then to a fixed calm default, so it never goes silent while the catalogue
//! has sounds.
//!
//! A player's manager chooses how the listeners there count (`GroupStrategy`): as the mean, by
//! the least served of them (least misery), or weighted towards those the session has served
//! worst so far (fair). Each strategy gives the ranking its `points`: a song's distance is its
//! largest cosine distance to any of them, so one point ranks as the plain recommender does.

use crate::space;

/// Rain and sea waves, the two steadiest sounds: what an empty room starts with.
pub const CALM_DEFAULT: [f32; space::DIMENSIONS] = [
    std::f32::consts::FRAC_1_SQRT_2,
    std::f32::consts::FRAC_1_SQRT_2,
    0.0,
    0.0,
    0.0,
];

/// How far back a player's past listeners still speak for it when nobody is there.
pub const RECENT_DAYS: i32 = 30;

/// How the listeners at a player are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupStrategy {
    /// The group vector: good for most, but the odd listener out is left out every time.
    Mean,
    /// Each song counts by its distance to the listener it suits least (Masthoff's least
    /// misery, per song): nobody present hears a layer far from their taste.
    LeastMisery,
    /// A weighted mean, where listeners the mixes of their session have fitted less than the
    /// room's average weigh more, so the same one is not always left out.
    Fair,
}

impl GroupStrategy {
    pub const ALL: [GroupStrategy; 3] = [
        GroupStrategy::Mean,
        GroupStrategy::LeastMisery,
        GroupStrategy::Fair,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupStrategy::Mean => "mean",
            GroupStrategy::LeastMisery => "least_misery",
            GroupStrategy::Fair => "fair",
        }
    }
}

/// How strongly `Fair` favours the under-served: a listener whose mixes fitted 0.1 worse (in
/// cosine similarity) than the room's average weighs e^(0.1 · 4) ≈ 1.5 times as much.
pub const FAIRNESS: f64 = 4.0;

/// A listener checked in at a player.
#[derive(Debug, Clone, PartialEq)]
pub struct Present {
    pub taste: Vec<f32>,
    /// How well the mixes of this session have fitted the listener so far (the time-weighted
    /// mean cosine similarity of the layers to the taste); `None` before any mix was counted.
    pub served: Option<f64>,
}

/// What the ranking scores songs against for `present` under `strategy`: one point for the
/// mean and fair strategies, each taste for least misery. `None` when no taste there points
/// anywhere (nobody with a taste, or tastes that cancel out under a mean).
pub fn points(strategy: GroupStrategy, present: &[Present]) -> Option<Vec<Vec<f32>>> {
    let tastes = present.iter().filter(|p| space::check(&p.taste).is_ok());
    match strategy {
        GroupStrategy::Mean => mean_direction(tastes.map(|p| &p.taste[..])).map(|m| vec![m]),
        GroupStrategy::LeastMisery => {
            let mut points: Vec<Vec<f32>> = Vec::new();
            for p in tastes {
                let wide = space::widen(&p.taste);
                if let Some(unit) = space::normalize(&wide) {
                    let unit = space::narrow(&unit);
                    if !points.contains(&unit) {
                        points.push(unit);
                    }
                }
            }
            (!points.is_empty()).then_some(points)
        }
        GroupStrategy::Fair => {
            let present: Vec<&Present> = tastes.collect();
            let weights = fair_weights(present.iter().map(|p| p.served));
            let mut sum = vec![0.0f64; space::DIMENSIONS];
            for (p, weight) in present.iter().zip(weights) {
                for (total, x) in sum.iter_mut().zip(&p.taste) {
                    *total += weight * f64::from(*x);
                }
            }
            space::normalize(&sum).map(|unit| vec![space::narrow(&unit)])
        }
    }
}

/// Each listener's weight under `Fair`: `exp(FAIRNESS · (average − served))`, the average
/// over those already served; one not yet served weighs as the average does (1).
pub fn fair_weights(served: impl IntoIterator<Item = Option<f64>> + Clone) -> Vec<f64> {
    let known: Vec<f64> = served
        .clone()
        .into_iter()
        .flatten()
        .filter(|f| f.is_finite())
        .collect();
    let average = known.iter().sum::<f64>() / known.len().max(1) as f64;
    served
        .into_iter()
        .map(|f| match f {
            Some(f) if f.is_finite() => (FAIRNESS * (average - f)).exp(),
            _ => 1.0,
        })
        .collect()
}

/// How well a mix fits a taste: the gain-weighted mean cosine similarity of its layers'
/// embeddings to it; `None` for a mix with no layer.
pub fn fit<'a>(taste: &[f32], layers: impl IntoIterator<Item = (&'a [f32], f64)>) -> Option<f64> {
    let (mut total, mut weights) = (0.0, 0.0);
    for (embedding, weight) in layers {
        total += weight * (1.0 - crate::recommend::cosine_distance(embedding, taste));
        weights += weight;
    }
    (weights > 0.0).then(|| total / weights)
}

/// The direction of the mean of `tastes`; `None` for no tastes, or tastes that cancel out.
/// Vectors that are not in the taste space are skipped.
pub fn mean_direction<'a>(tastes: impl IntoIterator<Item = &'a [f32]>) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f64; space::DIMENSIONS];
    for taste in tastes {
        if space::check(taste).is_err() {
            continue;
        }
        for (total, x) in sum.iter_mut().zip(taste) {
            *total += f64::from(*x);
        }
    }
    space::normalize(&sum).map(|unit| space::narrow(&unit))
}

/// The group vector: the present listeners' mean, else the recent listeners', else calm.
pub fn target(present: Option<Vec<f32>>, recent: impl FnOnce() -> Option<Vec<f32>>) -> Vec<f32> {
    present
        .or_else(recent)
        .unwrap_or_else(|| CALM_DEFAULT.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::assert_close;

    fn at(taste: [f32; 5], served: Option<f64>) -> Present {
        Present {
            taste: taste.to_vec(),
            served,
        }
    }

    #[test]
    fn strategies_parse_by_name() {
        for strategy in GroupStrategy::ALL {
            assert_eq!(GroupStrategy::parse(strategy.as_str()), Some(strategy));
        }
        assert_eq!(GroupStrategy::parse("median"), None);
    }

    #[test]
    fn the_mean_is_one_point_and_least_misery_one_per_taste() {
        let rain = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let fire = [0.0f32, 0.0, 0.0, 0.0, 1.0];
        let room = [at(rain, None), at(fire, None), at(rain, None)];
        let mean = points(GroupStrategy::Mean, &room).unwrap();
        assert_eq!(mean.len(), 1);
        assert!(mean[0][0] > mean[0][4], "two of three like rain");
        let worst = points(GroupStrategy::LeastMisery, &room).unwrap();
        assert_eq!(worst, [rain.to_vec(), fire.to_vec()], "one point per taste");
        for strategy in GroupStrategy::ALL {
            assert_eq!(points(strategy, &[]), None);
            assert_eq!(points(strategy, &[at(rain, Some(0.3))]).unwrap(), [rain]);
        }
    }

    #[test]
    fn fair_leans_towards_whoever_was_served_worst() {
        let rain = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let fire = [0.0f32, 0.0, 0.0, 0.0, 1.0];
        let even = points(GroupStrategy::Fair, &[at(rain, None), at(fire, None)]).unwrap();
        assert_close(
            &even[0],
            &points(GroupStrategy::Mean, &[at(rain, None), at(fire, None)]).unwrap()[0],
        );
        let fire_left_out = [at(rain, Some(0.9)), at(fire, Some(0.2))];
        let fair = points(GroupStrategy::Fair, &fire_left_out).unwrap();
        assert!(
            fair[0][4] > 0.9,
            "fire weighs e^2.8 ≈ 16 times rain: {:?}",
            fair[0]
        );
    }

    #[test]
    fn fair_weights_are_one_for_the_average_and_the_newcomer() {
        let weights = fair_weights([Some(0.5), Some(0.7), None, Some(f64::NAN)]);
        assert!((weights[0] - (0.4f64).exp()).abs() < 1e-12);
        assert!((weights[1] - (-0.4f64).exp()).abs() < 1e-12);
        assert_eq!(&weights[2..], [1.0, 1.0]);
        assert_eq!(fair_weights([None, None]), [1.0, 1.0]);
    }

    #[test]
    fn a_mix_fits_by_its_layers_weighted_by_gain() {
        let rain = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let fire = [0.0f32, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(fit(&rain, [(&rain[..], 1.0)]), Some(1.0));
        let half = fit(&rain, [(&rain[..], 1.0), (&fire[..], 1.0)]).unwrap();
        assert!((half - 0.5).abs() < 1e-12);
        let mostly_fire = fit(&rain, [(&rain[..], 1.0), (&fire[..], 3.0)]).unwrap();
        assert!((mostly_fire - 0.25).abs() < 1e-12);
        assert_eq!(fit(&rain, []), None);
    }

    #[test]
    fn two_listeners_meet_halfway() {
        let rain = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let fire = [0.0f32, 0.0, 0.0, 0.0, 1.0];
        let mean = mean_direction([&rain[..], &fire[..]]).unwrap();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert_close(&mean, &[h, 0.0, 0.0, 0.0, h]);
    }

    #[test]
    fn one_listener_is_the_group() {
        let taste = [0.0f32, 0.6, 0.0, 0.8, 0.0];
        assert_close(&mean_direction([&taste[..]]).unwrap(), &taste);
    }

    #[test]
    fn nobody_or_opposites_give_no_direction() {
        assert_eq!(mean_direction([]), None);
        let up = [1.0f32, 0.0, 0.0, 0.0, 0.0];
        let down = [-1.0f32, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(mean_direction([&up[..], &down[..]]), None);
    }

    #[test]
    fn vectors_outside_the_space_are_skipped() {
        let taste = [0.0f32, 1.0, 0.0, 0.0, 0.0];
        let odd = [1.0f32, 0.0];
        assert_close(&mean_direction([&taste[..], &odd[..]]).unwrap(), &taste);
    }

    #[test]
    fn an_empty_room_falls_back_to_recent_listeners_then_calm() {
        let recent = vec![0.0f32, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(target(None, || Some(recent.clone())), recent);
        assert_eq!(target(None, || None), CALM_DEFAULT.to_vec());
        let present = vec![0.0f32, 1.0, 0.0, 0.0, 0.0];
        assert_eq!(
            target(Some(present.clone()), || panic!("not needed")),
            present
        );
        let length: f32 = CALM_DEFAULT.iter().map(|x| x * x).sum();
        assert!((length - 1.0).abs() < 1e-6);
    }
}
