//! Why a queue changed: what moved among the inputs it is computed from. Each new version of a
//! queue is recorded with its trigger, the steady-mix step it took (`steady::Change`), and each
//! item's fit to the room and recency penalty, for the player's manager to read.

use crate::queue::Inputs;
use crate::space::DIMENSIONS;

/// How many versions of each queue are kept.
pub const VERSIONS_KEPT: i64 = 50;

/// What set a refresh off; when several inputs moved, the first of these that did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The player's first queue.
    First,
    /// The manager chose another group strategy.
    Strategy,
    /// Another schedule block came into force, or the last one ended.
    Schedule,
    CheckIn,
    CheckOut,
    /// A listener's taste moved: a rating, or the survey.
    Rating,
    /// Songs or libraries changed.
    Catalogue,
    /// The player reported a play, so the recency penalties moved.
    Play,
    /// Nothing but time: the queue had grown old and the penalties had faded.
    Clock,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::First => "first",
            Trigger::Strategy => "strategy",
            Trigger::Schedule => "schedule",
            Trigger::CheckIn => "check_in",
            Trigger::CheckOut => "check_out",
            Trigger::Rating => "rating",
            Trigger::Catalogue => "catalogue",
            Trigger::Play => "play",
            Trigger::Clock => "clock",
        }
    }
}

/// What set off a refresh computed from `now` of a queue last computed from `last`.
pub fn trigger(last: Option<&Inputs>, now: &Inputs) -> Trigger {
    let Some(last) = last else {
        return Trigger::First;
    };
    // A queue stored before the count was kept holds one taste per listener (or the fallback).
    let count = |inputs: &Inputs| {
        inputs
            .listeners
            .unwrap_or((inputs.tastes.len() / DIMENSIONS) as i32)
    };
    if last.strategy != now.strategy {
        Trigger::Strategy
    } else if last.block != now.block {
        Trigger::Schedule
    } else if count(now) > count(last) {
        Trigger::CheckIn
    } else if count(now) < count(last) {
        Trigger::CheckOut
    } else if last.tastes != now.tastes {
        Trigger::Rating
    } else if last.catalogue_generation != now.catalogue_generation {
        Trigger::Catalogue
    } else if last.last_play_at != now.last_play_at {
        Trigger::Play
    } else {
        Trigger::Clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::GroupStrategy;

    fn inputs(listeners: i32) -> Inputs {
        Inputs {
            strategy: GroupStrategy::Mean,
            listeners: Some(listeners),
            block: None,
            tastes: [1.0, 0.0, 0.0, 0.0, 0.0].repeat(listeners.max(1) as usize),
            catalogue_generation: 3,
            last_play_at: Some(10),
        }
    }

    #[test]
    fn each_moved_input_names_its_trigger() {
        let last = inputs(2);
        assert_eq!(trigger(None, &last), Trigger::First);
        assert_eq!(trigger(Some(&last), &last), Trigger::Clock);
        assert_eq!(trigger(Some(&last), &inputs(3)), Trigger::CheckIn);
        assert_eq!(trigger(Some(&last), &inputs(0)), Trigger::CheckOut);
        let mut rated = inputs(2);
        rated.tastes[1] = 0.1;
        assert_eq!(trigger(Some(&last), &rated), Trigger::Rating);
        let uploaded = Inputs {
            catalogue_generation: 4,
            ..inputs(2)
        };
        assert_eq!(trigger(Some(&last), &uploaded), Trigger::Catalogue);
        let played = Inputs {
            last_play_at: Some(11),
            ..inputs(2)
        };
        assert_eq!(trigger(Some(&last), &played), Trigger::Play);
        let quiet = Inputs {
            block: Some(4),
            ..inputs(3)
        };
        assert_eq!(
            trigger(Some(&last), &quiet),
            Trigger::Schedule,
            "quiet hours begin as someone arrives"
        );
    }

    #[test]
    fn a_new_strategy_comes_before_whoever_arrived_with_it() {
        let fair = Inputs {
            strategy: GroupStrategy::Fair,
            ..inputs(3)
        };
        assert_eq!(trigger(Some(&inputs(2)), &fair), Trigger::Strategy);
    }

    #[test]
    fn a_queue_stored_without_a_count_is_counted_by_its_tastes() {
        let old = Inputs {
            listeners: None,
            ..inputs(2)
        };
        assert_eq!(trigger(Some(&old), &inputs(2)), Trigger::Clock);
        assert_eq!(trigger(Some(&old), &inputs(1)), Trigger::CheckOut);
    }
}
