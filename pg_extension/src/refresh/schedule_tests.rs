//! Schedules as the refresh applies them: the block in force caps the volume, keeps
//! instrumentals out and plays its own library, in the player's time zone.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use crate::fixture::{self, check_in, refresh};
    use pgrx::prelude::*;

    /// Zones 25 hours apart: their calendar days always differ.
    const EAST: &str = "Pacific/Kiritimati";
    const WEST: &str = "Pacific/Pago_Pago";

    fn set_zone(player: i64, zone: &str) {
        Spi::run_with_args(
            "update cosound.players set time_zone = $2 where id = $1",
            &[player.into(), zone.into()],
        )
        .unwrap();
    }

    /// (volume cap, block in force, songs queued) as the last refresh left them.
    fn state(player: i64) -> (f32, Option<i64>, Vec<i64>) {
        let (cap, block) = Spi::get_two_with_args::<f32, i64>(
            "select volume_cap, block_id from cosound.queue_state where player_id = $1",
            &[player.into()],
        )
        .unwrap();
        let songs = Spi::get_one_with_args::<Vec<i64>>(
            "select array_agg(song_id order by slot) from cosound.player_queue where player_id = $1",
            &[player.into()],
        )
        .unwrap()
        .unwrap_or_default();
        (cap.unwrap(), block, songs)
    }

    /// What set off the player's latest queue version.
    fn latest_trigger(player: i64) -> String {
        Spi::get_one_with_args::<String>(
            "select trigger::text from cosound.queue_versions where player_id = $1
              order by version desc limit 1",
            &[player.into()],
        )
        .unwrap()
        .expect("a version")
    }

    #[pg_test]
    fn the_block_in_force_in_the_player_s_zone_sets_cap_and_sounds() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let wind = fixture::song("soundscape", "[0.9,0,0,0.4,0]");
        let piano = fixture::song("instrumental", "[1,0,0,0,0]");
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        set_zone(player, EAST);
        // All day today, in the east: quiet, no instrumentals, the wind alone.
        let block = Spi::get_one_with_args::<i64>(
            "with b as (
               insert into cosound.schedule_blocks
                      (player_id, days, starts, ends, volume_cap, instrumentals)
               select $1, array[extract(isodow from timezone($2, now()))::smallint],
                      '00:00', '24:00', 0.25, false
               returning id)
             insert into cosound.schedule_block_library (block_id, song_id)
             select id, $3 from b returning block_id",
            &[player.into(), EAST.into(), wind.into()],
        )
        .unwrap()
        .unwrap();
        refresh(player);
        assert_eq!(state(player), (0.25, Some(block), vec![wind]));
        assert_eq!(latest_trigger(player), "first");

        // Seen from the west, that day is not today: the block is not in force.
        set_zone(player, WEST);
        refresh(player);
        let (cap, none, songs) = state(player);
        assert_eq!((cap, none), (1.0, None));
        assert!(songs.contains(&rain) && songs.contains(&piano), "{songs:?}");
        assert_eq!(latest_trigger(player), "schedule");
    }

    #[pg_test(error = "time blocks on the same day may not overlap")]
    fn blocks_on_the_same_day_may_not_overlap() {
        fixture::schema();
        let player = fixture::player();
        Spi::run_with_args(
            "insert into cosound.schedule_blocks (player_id, days, starts, ends)
             values ($1, '{1,2}', '08:00', '12:00'), ($1, '{2,3}', '11:30', '13:00')",
            &[player.into()],
        )
        .unwrap();
    }

    #[pg_test]
    fn blocks_that_touch_or_fall_on_other_days_are_fine() {
        fixture::schema();
        let player = fixture::player();
        Spi::run_with_args(
            "insert into cosound.schedule_blocks (player_id, days, starts, ends)
             values ($1, '{1,2}', '08:00', '12:00'), ($1, '{1}', '12:00', '24:00'),
                    ($1, '{3}', '09:00', '10:00')",
            &[player.into()],
        )
        .unwrap();
    }

    #[pg_test(error = "a time zone is a name from the IANA database, such as Europe/Paris")]
    fn an_unknown_time_zone_is_refused() {
        fixture::schema();
        set_zone(fixture::player(), "Mars/Olympus_Mons");
    }
}
