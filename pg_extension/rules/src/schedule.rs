//! A player's schedule: time blocks on ISO weekdays, from and to in the player's own time zone
//! (`cosound.schedule_blocks`), none overlapping on a day. The block in force, found by the
//! refresh in SQL where PostgreSQL's time-zone database lives, caps the device's volume, may
//! keep instrumentals out, and may replace the player's library with its own. A change of
//! block takes the room's new mix whole, as a new strategy does.

/// Full volume: what a player plays at outside every block.
pub const FULL_VOLUME: f32 = 1.0;

/// The block in force at a player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub id: i64,
    /// The most of full volume the device may play, 0 to 1.
    pub volume_cap: f32,
    pub instrumentals: bool,
    /// It holds songs of its own, which are the only ones the player may play meanwhile.
    pub own_library: bool,
}

/// The volume cap while `block` (if any) is in force.
pub fn volume_cap(block: Option<&Block>) -> f32 {
    block.map_or(FULL_VOLUME, |block| block.volume_cap)
}

/// Whether instrumentals play while `block` (if any) is in force.
pub fn instrumentals(block: Option<&Block>) -> bool {
    block.is_none_or(|block| block.instrumentals)
}

/// The block whose own library replaces the player's while it is in force.
pub fn library(block: Option<&Block>) -> Option<i64> {
    block
        .filter(|block| block.own_library)
        .map(|block| block.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_every_block_the_player_plays_as_it_always_did() {
        assert_eq!(volume_cap(None), 1.0);
        assert!(instrumentals(None));
        assert_eq!(library(None), None);
    }

    #[test]
    fn a_quiet_block_caps_the_volume_keeps_instrumentals_out_and_may_bring_its_library() {
        let quiet = Block {
            id: 7,
            volume_cap: 0.3,
            instrumentals: false,
            own_library: true,
        };
        assert_eq!(volume_cap(Some(&quiet)), 0.3);
        assert!(!instrumentals(Some(&quiet)));
        assert_eq!(library(Some(&quiet)), Some(7));
        let shared = Block {
            own_library: false,
            ..quiet
        };
        assert_eq!(library(Some(&shared)), None);
    }
}
