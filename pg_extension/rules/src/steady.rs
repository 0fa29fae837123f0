//! A steady mix: the room hears its layers change one at a time, and only for a reason.
//!
//! The ranking proposes a mix at every refresh, and a single rating, a check-in or a layer's
//! own recency penalty can reorder it; people in a room dislike abrupt changes more than they
//! enjoy the better fit. So a refresh moves the playing layers at most one step towards the
//! proposal: the best proposed layer that is not playing replaces the playing layer the
//! proposal left out (the one that has played longest once it is due, else the worst fitting),
//! and only when the newcomer fits the room better by `MARGIN` or the outgoing layer has played
//! `TURN_SECONDS`. A room that emptied or filled, or whose manager chose another strategy,
//! takes the proposal whole; a layer that may no longer play (removed from the player's
//! library) goes at once. The layers play in the proposal's order (the ranking's, recency
//! penalty included), then those it left out best fitting first, so the closest sound leads.

use crate::queue::{Inputs, Pick};

/// How much better (in cosine similarity to the room) a layer must fit to replace one that
/// has not played its turn; equal to the recency penalty of a fresh play, so a layer is never
/// pushed out by its own penalty alone. In the simulated day (`cargo xtask bench room`) 0.02
/// kept a little more fit and 0.1 a few changes fewer; 0.05 sits between.
pub const MARGIN: f64 = 0.05;
/// How long a layer plays before it gives way to a proposed one that fits no better. In the
/// simulated day 40 minutes kept nearly all the fit of 60 (and more than 20) with a third
/// fewer changes than 20; longer loops of one sound were not tried on people.
pub const TURN_SECONDS: f64 = 40.0 * 60.0;

/// How steady the mix is: the margin a layer needs to replace one early, and how long a layer
/// plays before it may give way (the settings `cosound.mix_margin` and `cosound.layer_turn`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub margin: f64,
    pub turn_seconds: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            margin: MARGIN,
            turn_seconds: TURN_SECONDS,
        }
    }
}

/// A layer with how well it fits the room now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layer {
    pub pick: Pick,
    /// Its cosine similarity to the room: to the point it suits least, as the ranking scores.
    pub fit: f64,
}

/// A layer playing, with how long it has played and whether it may still play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playing {
    pub layer: Layer,
    pub seconds: f64,
    pub offered: bool,
}

/// What a refresh did to the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The same layers (their gains may follow the room).
    Kept,
    /// The proposal whole: nothing was playing, or the room turned over.
    Whole,
    /// One layer gave way to another.
    Swapped { out: i64, into: i64 },
    /// A layer joined a mix with fewer than the proposal's.
    Added(i64),
    /// A layer left a mix with more than the proposal's.
    Dropped(i64),
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Kept => "kept",
            Change::Whole => "whole",
            Change::Swapped { .. } => "swapped",
            Change::Added(_) => "added",
            Change::Dropped(_) => "dropped",
        }
    }

    /// The layer that left and the one that came.
    pub fn songs(self) -> (Option<i64>, Option<i64>) {
        match self {
            Change::Kept | Change::Whole => (None, None),
            Change::Swapped { out, into } => (Some(out), Some(into)),
            Change::Added(into) => (None, Some(into)),
            Change::Dropped(out) => (Some(out), None),
        }
    }
}

/// Whether a queue computed from `now` takes the proposal whole, after one computed from
/// `last`: there was none, the room emptied or filled, or the manager's strategy or the
/// schedule's block changed (whoever chose those wants to hear them now).
pub fn turned_over(last: Option<&Inputs>, now: &Inputs) -> bool {
    let empty = |inputs: &Inputs| inputs.listeners.map(|n| n == 0);
    last.is_none_or(|last| {
        last.strategy != now.strategy
            || last.block != now.block
            || empty(last).is_none()
            || empty(last) != empty(now)
    })
}

/// The layers to play, lead first, from those `playing` and those `proposed` (in ranking
/// order), and what changed. `turned_over` says the room emptied or filled, or its
/// strategy changed, since the last refresh.
pub fn settle(
    playing: &[Playing],
    proposed: &[Layer],
    turned_over: bool,
    rules: &Rules,
) -> (Vec<Pick>, Change) {
    let (mut layers, change) = step(playing, proposed, turned_over, rules);
    let rank = |layer: &Layer| {
        proposed
            .iter()
            .position(|p| p.pick.song_id == layer.pick.song_id)
            .unwrap_or(usize::MAX)
    };
    layers.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.fit.total_cmp(&a.fit)));
    (layers.into_iter().map(|layer| layer.pick).collect(), change)
}

fn step(
    playing: &[Playing],
    proposed: &[Layer],
    turned_over: bool,
    rules: &Rules,
) -> (Vec<Layer>, Change) {
    let playing: Vec<&Playing> = playing.iter().filter(|p| p.offered).collect();
    if turned_over || playing.is_empty() {
        return (proposed.to_vec(), Change::Whole);
    }
    let proposes = |song: i64| proposed.iter().find(|layer| layer.pick.song_id == song);
    let plays = |song: i64| playing.iter().any(|p| p.layer.pick.song_id == song);
    // Kept layers take the gain the proposal gives them, so the balance follows the room.
    let kept = |p: &Playing| {
        proposes(p.layer.pick.song_id).map_or(p.layer, |layer| Layer {
            pick: layer.pick,
            fit: p.layer.fit,
        })
    };
    let incoming = proposed.iter().find(|layer| !plays(layer.pick.song_id));
    let outgoing = playing
        .iter()
        .filter(|p| proposes(p.layer.pick.song_id).is_none())
        .min_by(|a, b| {
            let due = |p: &Playing| p.seconds >= rules.turn_seconds;
            due(b).cmp(&due(a)).then(if due(a) {
                b.seconds.total_cmp(&a.seconds)
            } else {
                a.layer.fit.total_cmp(&b.layer.fit)
            })
        });
    let gives_way = |out: &Playing, fit: f64| {
        out.seconds >= rules.turn_seconds || fit - out.layer.fit >= rules.margin
    };
    let best_fit = proposed
        .first()
        .map_or(f64::NEG_INFINITY, |layer| layer.fit);
    let all_kept = || playing.iter().map(|p| kept(p)).collect();
    match (incoming, outgoing) {
        (Some(into), Some(out)) if gives_way(out, into.fit) => {
            let out_id = out.layer.pick.song_id;
            let layers = playing
                .iter()
                .map(|p| {
                    if p.layer.pick.song_id == out_id {
                        *into
                    } else {
                        kept(p)
                    }
                })
                .collect();
            let change = Change::Swapped {
                out: out_id,
                into: into.pick.song_id,
            };
            (layers, change)
        }
        (Some(into), None) => {
            let mut layers: Vec<Layer> = all_kept();
            layers.push(*into);
            (layers, Change::Added(into.pick.song_id))
        }
        (None, Some(out)) if gives_way(out, best_fit) => {
            let out_id = out.layer.pick.song_id;
            let layers = playing
                .iter()
                .filter(|p| p.layer.pick.song_id != out_id)
                .map(|p| kept(p))
                .collect();
            (layers, Change::Dropped(out_id))
        }
        _ => (all_kept(), Change::Kept),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Role;

    fn layer(song_id: i64, fit: f64) -> Layer {
        Layer {
            pick: Pick {
                song_id,
                role: Role::Layer,
                gain: fit as f32,
            },
            fit,
        }
    }

    fn playing(song_id: i64, fit: f64, seconds: f64) -> Playing {
        Playing {
            layer: layer(song_id, fit),
            seconds,
            offered: true,
        }
    }

    fn ids(picks: &[Pick]) -> Vec<i64> {
        picks.iter().map(|pick| pick.song_id).collect()
    }

    #[test]
    fn a_room_turns_over_when_it_empties_fills_or_is_told_to() {
        use crate::group::GroupStrategy;
        let room = |listeners: i32| Inputs {
            strategy: GroupStrategy::Mean,
            listeners: Some(listeners),
            block: None,
            tastes: vec![1.0, 0.0, 0.0, 0.0, 0.0],
            catalogue_generation: 1,
            last_play_at: None,
        };
        assert!(turned_over(None, &room(2)));
        assert!(!turned_over(Some(&room(2)), &room(5)), "more came");
        assert!(turned_over(Some(&room(0)), &room(1)), "filled");
        assert!(turned_over(Some(&room(3)), &room(0)), "emptied");
        let fair = Inputs {
            strategy: GroupStrategy::Fair,
            ..room(2)
        };
        assert!(turned_over(Some(&room(2)), &fair));
        let quiet = Inputs {
            block: Some(9),
            ..room(2)
        };
        assert!(turned_over(Some(&room(2)), &quiet));
    }

    #[test]
    fn nothing_playing_takes_the_proposal() {
        let proposed = [layer(1, 0.9), layer(2, 0.8)];
        let (picks, change) = settle(&[], &proposed, false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1, 2], Change::Whole));
    }

    #[test]
    fn a_room_that_emptied_or_filled_takes_the_proposal_whole() {
        let now = [playing(1, 0.5, 10.0), playing(2, 0.5, 10.0)];
        let proposed = [layer(3, 0.9), layer(4, 0.9), layer(5, 0.9)];
        let (picks, change) = settle(&now, &proposed, true, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![3, 4, 5], Change::Whole));
    }

    #[test]
    fn a_slightly_better_proposal_waits_for_the_layers_turn() {
        let now = [playing(1, 0.80, 60.0), playing(2, 0.78, 60.0)];
        let proposed = [layer(1, 0.80), layer(3, 0.80)];
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1, 2], Change::Kept));
    }

    #[test]
    fn a_clearly_better_layer_replaces_the_worst_fitting_and_leads() {
        let now = [
            playing(1, 0.70, 60.0),
            playing(2, 0.60, 60.0),
            playing(3, 0.65, 60.0),
        ];
        let proposed = [layer(4, 0.95), layer(5, 0.94), layer(6, 0.93)];
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!(
            (ids(&picks), change),
            (vec![4, 1, 3], Change::Swapped { out: 2, into: 4 })
        );
    }

    #[test]
    fn a_layer_that_played_its_turn_gives_way_longest_first() {
        let now = [
            playing(1, 0.80, TURN_SECONDS + 100.0),
            playing(2, 0.90, TURN_SECONDS + 500.0),
            playing(3, 0.85, 30.0),
        ];
        let proposed = [layer(4, 0.82), layer(3, 0.85)];
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!(
            (ids(&picks), change),
            (vec![4, 3, 1], Change::Swapped { out: 2, into: 4 })
        );
    }

    #[test]
    fn kept_layers_follow_the_proposed_order_and_gains() {
        let now = [playing(1, 0.8, 60.0), playing(2, 0.7, 60.0)];
        // The first just played: its penalty puts the second in front.
        let mut proposed = [layer(2, 0.7), layer(1, 0.8)];
        (proposed[0].pick.gain, proposed[1].pick.gain) = (1.0, 0.6);
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!(change, Change::Kept);
        assert_eq!(ids(&picks), [2, 1]);
        assert_eq!((picks[0].gain, picks[1].gain), (1.0, 0.6));
    }

    #[test]
    fn a_thin_mix_gains_one_layer_at_a_time() {
        let now = [playing(1, 0.9, 60.0)];
        let proposed = [layer(1, 0.9), layer(2, 0.85), layer(3, 0.8)];
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1, 2], Change::Added(2)));
    }

    #[test]
    fn a_layer_the_proposal_left_out_leaves_when_it_fits_clearly_worse() {
        let now = [playing(1, 0.9, 60.0), playing(2, 0.3, 60.0)];
        let (picks, change) = settle(&now, &[layer(1, 0.9)], false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1], Change::Dropped(2)));
        let close = [playing(1, 0.9, 60.0), playing(2, 0.88, 60.0)];
        let (picks, change) = settle(&close, &[layer(1, 0.9)], false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1, 2], Change::Kept));
    }

    #[test]
    fn a_layer_that_may_no_longer_play_goes_at_once() {
        let mut gone = playing(2, 0.9, 60.0);
        gone.offered = false;
        let now = [playing(1, 0.9, 60.0), gone];
        let proposed = [layer(1, 0.9), layer(3, 0.89)];
        let (picks, change) = settle(&now, &proposed, false, &Rules::default());
        assert_eq!((ids(&picks), change), (vec![1, 3], Change::Added(3)));
    }

    #[test]
    fn at_most_one_layer_changes_however_far_the_proposal_moved() {
        let now = [
            playing(1, 0.1, TURN_SECONDS * 2.0),
            playing(2, 0.1, TURN_SECONDS * 2.0),
            playing(3, 0.1, TURN_SECONDS * 2.0),
        ];
        let proposed = [layer(7, 0.99), layer(8, 0.99), layer(9, 0.99)];
        let (picks, _) = settle(&now, &proposed, false, &Rules::default());
        let changed = ids(&picks).iter().filter(|id| **id >= 7).count();
        assert_eq!(changed, 1);
    }
}
