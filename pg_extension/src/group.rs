//! The group vector (DOMAIN.md): the mean of the listeners' unit taste vectors, scaled to unit
//! length. A player with nobody there falls back to its recent listeners, then to a fixed calm
//! default, so it never goes silent while the catalogue has sounds.

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
