//! The refresh as the database runs it, through `extensions.group_vector`,
//! `refresh_queue` and `refresh_all_queues`: who counts in a room, what the queue picks, when
//! it changes and when it does not, each strategy, the steady mix, and that refreshing all
//! players picks what refreshing each alone picks.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use crate::fixture::{self, check_in, refresh};
    use cosound_rules::group::CALM_DEFAULT;
    use pgrx::prelude::*;

    fn group(player: i64) -> Vec<f32> {
        Spi::get_one_with_args::<Vec<f32>>(
            "select extensions.group_vector($1)::real[]",
            &[player.into()],
        )
        .unwrap()
        .unwrap()
    }

    /// The queue as (song, role, gain) rows in slot order.
    fn queue(player: i64) -> Vec<(i64, String, f32)> {
        fixture::triples(
            "select song_id, role::text, gain from cosound.player_queue
              where player_id = $1 order by slot",
            &[player.into()],
        )
    }

    #[pg_test]
    fn the_group_is_the_mean_of_the_listeners_checked_in() {
        fixture::schema();
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        check_in(fixture::listener(None), player);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(group(player), [h, 0.0, 0.0, 0.0, h]);
    }

    #[pg_test]
    fn an_expired_or_ended_session_no_longer_counts() {
        fixture::schema();
        let player = fixture::player();
        let here = fixture::listener(Some("[0,1,0,0,0]"));
        check_in(here, player);
        let expired = fixture::listener(Some("[0,0,1,0,0]"));
        Spi::run_with_args(
            "insert into cosound.sessions (listener_id, player_id, started_at, expires_at)
             values ($1, $2, now() - interval '2 hours', now() - interval '1 hour')",
            &[expired.into(), player.into()],
        )
        .unwrap();
        let left = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(left, player);
        Spi::run_with_args("select cosound.check_out($1)", &[left.into()]).unwrap();
        assert_eq!(group(player), [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[pg_test]
    fn an_empty_room_uses_its_recent_listeners_then_a_calm_default() {
        fixture::schema();
        let player = fixture::player();
        assert_eq!(group(player), CALM_DEFAULT);
        let earlier = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(earlier, player);
        Spi::run_with_args("select cosound.check_out($1)", &[earlier.into()]).unwrap();
        assert_eq!(group(player), [0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[pg_test]
    fn a_new_check_in_ends_the_previous_session() {
        fixture::schema();
        let (first, second) = (fixture::player(), fixture::player());
        let listener = fixture::listener(Some("[0,0,0,1,0]"));
        check_in(listener, first);
        check_in(listener, second);
        assert_eq!(
            group(first),
            [0.0, 0.0, 0.0, 1.0, 0.0],
            "recent, not present"
        );
        let open = Spi::get_one_with_args::<i64>(
            "select count(*) from cosound.sessions where listener_id = $1 and ended_at is null",
            &[listener.into()],
        )
        .unwrap();
        assert_eq!(open, Some(1));
    }

    #[pg_test]
    fn a_refresh_picks_layers_and_an_instrumental_from_the_library() {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let rainy_wind = fixture::song("soundscape", "[1,0,0,0.5,0]");
        let fire = fixture::song("soundscape", "[0,0,0,0,1]");
        let outside = fixture::song("soundscape", "[1,0,0,0.1,0]");
        let piano = fixture::song("instrumental", "[0.8,0.2,0,0,0]");
        let player = fixture::player();
        Spi::run_with_args(
            "insert into cosound.player_library select $1, unnest($2::bigint[])",
            &[player.into(), vec![rain, rainy_wind, fire, piano].into()],
        )
        .unwrap();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        assert!(refresh(player));
        let picked = queue(player);
        let songs: Vec<(i64, &str)> = picked.iter().map(|(s, r, _)| (*s, r.as_str())).collect();
        assert_eq!(
            songs,
            [
                (rain, "layer"),
                (rainy_wind, "layer"),
                (piano, "instrumental")
            ],
            "fire fits too poorly to layer, and the song outside the library never plays"
        );
        assert!(picked.iter().all(|(song, _, _)| *song != outside));
        assert_eq!(picked[0].2, 1.0);
        assert!(picked[1].2 > 0.5 && picked[1].2 < 1.0);
    }

    #[pg_test]
    fn a_second_refresh_with_nothing_changed_writes_nothing() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        let player = fixture::player();
        assert!(refresh(player));
        assert!(!refresh(player));
        let version = Spi::get_one_with_args::<i64>(
            "select version from cosound.queue_state where player_id = $1",
            &[player.into()],
        )
        .unwrap();
        assert_eq!(version, Some(1));
    }

    #[pg_test]
    fn a_reported_play_moves_the_queue_on() {
        fixture::schema();
        fixture::song("soundscape", "[0,1,0,0,0]");
        let first = fixture::song("instrumental", "[0.7,0.7,0,0,0]");
        let second = fixture::song("instrumental", "[0.6,0.8,0,0,0]");
        let player = fixture::player();
        assert!(refresh(player));
        assert_eq!(queue(player)[1].0, first);
        Spi::run_with_args(
            "insert into cosound.plays (player_id, song_id) values ($1, $2)",
            &[player.into(), first.into()],
        )
        .unwrap();
        assert!(refresh(player));
        assert_eq!(queue(player)[1].0, second);
    }

    #[pg_test]
    fn refreshing_all_players_counts_the_queues_that_changed() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        fixture::player();
        fixture::player();
        let all = || {
            Spi::get_one::<i64>("select extensions.refresh_all_queues()")
                .unwrap()
                .unwrap()
        };
        assert_eq!(all(), 2);
        assert_eq!(all(), 0);
    }

    /// A queue row: (player, slot, song, role, gain).
    type QueueRow = (i64, i16, i64, String, f32);

    /// Every queue's rows, and each queue's (player, version).
    fn all_queues() -> (Vec<QueueRow>, Vec<(i64, i64)>) {
        Spi::connect(|client| {
            let queues = client
                .select(
                    "select player_id, slot, song_id, role::text, gain from cosound.player_queue
                      order by player_id, slot",
                    None,
                    &[],
                )?
                .map(|row| {
                    Ok((
                        row.get(1)?.unwrap(),
                        row.get(2)?.unwrap(),
                        row.get(3)?.unwrap(),
                        row.get(4)?.unwrap(),
                        row.get(5)?.unwrap(),
                    ))
                })
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
            let versions = client
                .select(
                    "select player_id, version from cosound.queue_state order by player_id",
                    None,
                    &[],
                )?
                .map(|row| Ok((row.get(1)?.unwrap(), row.get(2)?.unwrap())))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()?;
            Ok::<_, pgrx::spi::Error>((queues, versions))
        })
        .unwrap()
    }

    /// Every kept queue version's why, as text rows.
    fn why_rows() -> Vec<String> {
        Spi::connect(|client| {
            client
                .select(
                    "select format('%s', (v.player_id, v.version, v.trigger, v.strategy,
                                          v.listeners, v.layer_change, v.layer_out, v.layer_in,
                                          (select array_agg((i.slot, i.song_id, i.gain, i.fit,
                                                             i.penalty) order by i.slot)
                                             from cosound.queue_version_items i
                                            where (i.player_id, i.version)
                                                  = (v.player_id, v.version))))
                       from cosound.queue_versions v order by v.player_id, v.version",
                    None,
                    &[],
                )?
                .map(|row| Ok(row.get::<String>(1)?.unwrap()))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
        .unwrap()
    }

    /// Keeps what a refresh reads and writes, for `each_refreshed_alone` to start from.
    fn snapshot() {
        Spi::run(
            "drop table if exists kept_queue, kept_state, kept_versions, kept_items, kept_served;
             create temp table kept_queue as select * from cosound.player_queue;
             create temp table kept_state as select * from cosound.queue_state;
             create temp table kept_versions as select * from cosound.queue_versions;
             create temp table kept_items as select * from cosound.queue_version_items;
             create temp table kept_served as
               select id, served_seconds, served_fit_seconds, served_until from cosound.sessions",
        )
        .unwrap();
    }

    /// Each player's queue computed by `refresh_queue`, one player at a time, from the state
    /// of the last `snapshot`.
    fn each_refreshed_alone() -> Vec<QueueRow> {
        Spi::run(
            "delete from cosound.player_queue;
             insert into cosound.player_queue select * from kept_queue;
             delete from cosound.queue_state;
             insert into cosound.queue_state select * from kept_state;
             delete from cosound.queue_versions;
             insert into cosound.queue_versions select * from kept_versions;
             insert into cosound.queue_version_items select * from kept_items;
             update cosound.sessions s
                set served_seconds = k.served_seconds, served_fit_seconds = k.served_fit_seconds,
                    served_until = k.served_until
               from kept_served k where k.id = s.id;
             select extensions.refresh_queue(id) from cosound.players order by id",
        )
        .unwrap();
        all_queues().0
    }

    /// Songs with coarse embeddings (exact ties), some players with a library, plays, and
    /// listeners here now, here lately, expired and long gone.
    fn random_rooms() {
        fixture::schema();
        Spi::run(
            "select setseed(0.17);
             insert into cosound.songs
                    (type, title, duration_ms, object_key, embedding, loudness_gain_db)
             select case when random() < 0.6 then 'soundscape' else 'instrumental' end::cosound.song_type,
                    'song ' || g, 60000, 'songs/' || g, e::extensions.vector(5),
                    round(random() * 12 - 6)
               from (select g, array[round(random() * 2) / 2, round(random() * 2) / 2,
                                     round(random() * 2) / 2, round(random() * 4) / 4,
                                     round(random() * 2) / 2]::real[] as e
                       from generate_series(1, 300) g) c
              where e <> '{0,0,0,0,0}';
             insert into cosound.songs (type, title, duration_ms, object_key)
             values ('soundscape', 'not yet embedded', 60000, 'songs/unembedded');
             insert into cosound.players (name) select 'room ' || g from generate_series(1, 30) g;
             insert into cosound.player_library (player_id, song_id)
             select p.id, s.id from cosound.players p, cosound.songs s
              where p.id % 3 = 0 and (random() < 0.15 or s.embedding is null);
             insert into cosound.plays (player_id, song_id, played_at)
             select p.id, s.id, now() - make_interval(hours => floor(random() * 30)::int)
               from cosound.players p, cosound.songs s
              where random() < 0.01;
             insert into auth.users (id) select gen_random_uuid() from generate_series(1, 90);
             update cosound.profiles set preference = extensions.l2_normalize(
                 (case when e = '{0,0,0,0,0}' then '{0,0,1,0,0}' else e end)::extensions.vector(5))
               from (select id, array[round(random() * 2) / 2, round(random()), round(random()),
                                      round(random() * 2) / 2, round(random())]::real[] as e
                       from cosound.profiles) t
              where t.id = profiles.id;
             update cosound.players
                set strategy = (enum_range(null::cosound.group_strategy))[1 + (id / 2) % 3];
             insert into cosound.sessions (listener_id, player_id, started_at, expires_at, ended_at)
             select l.id, (select min(id) from cosound.players) + floor(random() * 30)::int,
                    now() - s.started, now() - s.started + s.lasts, s.ended
               from (select id, row_number() over (order by id) as n from cosound.profiles) l,
                    lateral (select * from (values
                      (0, interval '5 minutes', interval '1 hour', null::timestamptz),
                      (1, interval '2 hours', interval '1 hour', null),
                      (2, interval '3 days', interval '1 hour', now() - interval '3 days'),
                      (3, interval '40 days', interval '1 hour', now() - interval '40 days'))
                      as v (kind, started, lasts, ended)
                     where v.kind = l.n % 4) s;
             update cosound.sessions set served_seconds = 600, served_fit_seconds = 600 * (random() * 2 - 1)
              where random() < 0.7",
        )
        .unwrap();
    }

    /// The first layer of the player's queue after a refresh.
    fn lead_layer(player: i64) -> i64 {
        refresh(player);
        queue(player)[0].0
    }

    fn set_strategy(player: i64, strategy: &str) {
        Spi::run_with_args(
            "update cosound.players set strategy = $2::cosound.group_strategy where id = $1",
            &[player.into(), strategy.into()],
        )
        .unwrap();
    }

    #[pg_test]
    fn least_misery_picks_what_the_odd_listener_out_can_bear() {
        fixture::schema();
        let _rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let mostly_rain = fixture::song("soundscape", "[1,0,0,0,0.3]");
        let rain_and_fire = fixture::song("soundscape", "[1,0,0,0,1]");
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        assert_eq!(lead_layer(player), mostly_rain, "the mean leans to the two");
        set_strategy(player, "least_misery");
        assert_eq!(
            lead_layer(player),
            rain_and_fire,
            "the fire lover is not left out"
        );
    }

    #[pg_test]
    fn fair_turns_to_the_listener_served_worst_so_far() {
        fixture::schema();
        let _rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let fire = fixture::song("soundscape", "[0,0,0,0,1]");
        let rain_and_fire = fixture::song("soundscape", "[1,0,0,0,1]");
        let player = fixture::player();
        let rain_lover = fixture::listener(Some("[1,0,0,0,0]"));
        let fire_lover = fixture::listener(Some("[0,0,0,0,1]"));
        check_in(rain_lover, player);
        check_in(fire_lover, player);
        set_strategy(player, "fair");
        assert_eq!(
            lead_layer(player),
            rain_and_fire,
            "nobody served yet: the mean"
        );
        Spi::run_with_args(
            "update cosound.sessions
                set served_seconds = 1200,
                    served_fit_seconds = 1200 * case listener_id when $1 then 0.9 else 0.1 end
              where player_id = $2",
            &[rain_lover.into(), player.into()],
        )
        .unwrap();
        Spi::run("update cosound.queue_state set refreshed_at = now() - interval '1 hour'")
            .unwrap();
        assert_eq!(lead_layer(player), fire);
    }

    #[pg_test]
    fn a_refresh_counts_how_well_the_mix_that_played_served_each_listener() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        let player = fixture::player();
        let listener = fixture::listener(Some("[0.6,0.8,0,0,0]"));
        check_in(listener, player);
        refresh(player);
        // The rain mix played for ten minutes.
        Spi::run(
            "update cosound.sessions set started_at = now() - interval '20 minutes',
                                         served_until = now() - interval '10 minutes';
             update cosound.queue_state set refreshed_at = now() - interval '1 hour'",
        )
        .unwrap();
        refresh(player);
        let (seconds, fit) = Spi::get_two_with_args::<f64, f64>(
            "select served_seconds, served_fit_seconds from cosound.sessions where listener_id = $1",
            &[listener.into()],
        )
        .unwrap();
        let (seconds, fit) = (seconds.unwrap(), fit.unwrap());
        assert!((seconds - 600.0).abs() < 1e-6, "{seconds}");
        assert!(
            (fit / seconds - 0.6).abs() < 1e-6,
            "the rain layer fits 0.6: {fit}"
        );
    }

    #[pg_test]
    fn time_another_transaction_counted_is_not_counted_again_nor_negatively() {
        fixture::schema();
        fixture::song("soundscape", "[1,0,0,0,0]");
        let player = fixture::player();
        let listener = fixture::listener(Some("[1,0,0,0,0]"));
        check_in(listener, player);
        refresh(player);
        // As a refresh that began after this transaction leaves it: counted up to later on.
        Spi::run(
            "update cosound.sessions set served_seconds = 60, served_fit_seconds = 60,
                                         served_until = now() + interval '1 minute';
             update cosound.queue_state set refreshed_at = now() - interval '1 hour'",
        )
        .unwrap();
        refresh(player);
        let (seconds, until) = Spi::get_two_with_args::<f64, bool>(
            "select served_seconds, served_until = now() + interval '1 minute'
               from cosound.sessions where listener_id = $1",
            &[listener.into()],
        )
        .unwrap();
        assert_eq!(seconds, Some(60.0));
        assert_eq!(until, Some(true), "served_until never moves back");
    }

    #[pg_test]
    fn a_listener_reads_no_one_s_taste_in_the_queue_state() {
        fixture::schema();
        let player = fixture::player();
        check_in(fixture::listener(Some("[0,1,0,0,0]")), player);
        refresh(player);
        for column in ["tastes", "target"] {
            let readable = Spi::get_one_with_args::<bool>(
                "select has_column_privilege('authenticated', 'cosound.queue_state', $1, 'select')
                     or has_column_privilege('player', 'cosound.queue_state', $1, 'select')",
                &[column.into()],
            )
            .unwrap();
            assert_eq!(readable, Some(false), "{column}");
        }
        let version = Spi::get_one::<bool>(
            "select has_column_privilege('authenticated', 'cosound.queue_state', 'version', 'select')",
        )
        .unwrap();
        assert_eq!(version, Some(true));
    }

    #[pg_test]
    fn refreshing_all_picks_what_refreshing_each_alone_picks() {
        random_rooms();
        let all = || {
            Spi::get_one::<i64>("select extensions.refresh_all_queues()")
                .unwrap()
                .unwrap()
        };
        snapshot();
        assert_eq!(all(), 30, "every room starts with a queue");
        let (together, _) = all_queues();
        assert_eq!(together, each_refreshed_alone());

        // Some leave, songs play and some layers have played their turn. A play moves every
        // room's penalties, and a room's queue notices other rooms' plays when it grows old:
        // let them all be old.
        Spi::run(
            "update cosound.sessions set ended_at = now()
              where ended_at is null and id % 2 = 0;
             insert into cosound.plays (player_id, song_id)
             select q.player_id, q.song_id from cosound.player_queue q
              where q.player_id % 4 = 1;
             update cosound.player_queue set since = now() - interval '1 hour'
              where player_id % 3 = 0 and slot = 1;
             update cosound.queue_state set refreshed_at = now() - interval '1 hour'",
        )
        .unwrap();
        snapshot();
        let (_, versions) = all_queues();
        let changed = all();
        assert!(changed > 0);
        let (together, bumped) = all_queues();
        let moved = versions.iter().zip(&bumped).filter(|(a, b)| a != b).count();
        assert_eq!(
            moved as i64, changed,
            "a version moves with each changed queue"
        );
        let why_together = why_rows();
        assert_eq!(together, each_refreshed_alone());
        assert_eq!(
            why_together,
            why_rows(),
            "and each version says the same why"
        );
        Spi::run("truncate kept_queue, kept_state, kept_versions, kept_items").unwrap();
        assert_ne!(
            together,
            each_refreshed_alone(),
            "some rooms kept layers a fresh start would not pick"
        );
    }

    /// The player's layers, lead first.
    fn layers(player: i64) -> Vec<i64> {
        queue(player)
            .into_iter()
            .filter(|(_, role, _)| role == "layer")
            .map(|(song, _, _)| song)
            .collect()
    }

    /// Lets the next refresh run as if the queue had grown old.
    fn age_queue() {
        Spi::run("update cosound.queue_state set refreshed_at = now() - interval '1 hour'")
            .unwrap();
    }

    fn set_taste(listener: pgrx::Uuid, taste: &str) {
        Spi::run_with_args(
            "update cosound.profiles set preference = $2::text::extensions.vector(5)
              where id = $1",
            &[listener.into(), taste.into()],
        )
        .unwrap();
    }

    /// The schema with three rain soundscapes and three fire ones, far apart.
    fn rain_and_fire() -> (Vec<i64>, Vec<i64>) {
        fixture::schema();
        let songs =
            |embeddings: [&str; 3]| embeddings.map(|e| fixture::song("soundscape", e)).to_vec();
        (
            songs(["[1,0,0,0,0]", "[1,0.1,0,0,0]", "[1,0,0.1,0,0]"]),
            songs(["[0,0,0,0,1]", "[0,0.1,0,0,1]", "[0,0,0.1,0,1]"]),
        )
    }

    #[pg_test]
    fn a_room_whose_taste_turns_hears_one_layer_change_per_refresh() {
        let (rain, fire) = rain_and_fire();
        let player = fixture::player();
        let (a, b) = (
            fixture::listener(Some("[1,0,0,0,0]")),
            fixture::listener(Some("[1,0,0,0,0]")),
        );
        check_in(a, player);
        check_in(b, player);
        refresh(player);
        assert_eq!(layers(player), rain, "the room filled: the proposal whole");
        set_taste(a, "[0,0,0,0,1]");
        set_taste(b, "[0,0,0,0,1]");
        for step in 1..=3 {
            refresh(player);
            let now = layers(player);
            let fiery = now.iter().filter(|song| fire.contains(song)).count();
            assert_eq!((fiery, now.len()), (step, 3), "step {step}: {now:?}");
            assert!(fire.contains(&now[0]), "the best fitting layer leads");
            age_queue();
        }
    }

    /// Four soundscapes a hair apart around the listener's taste, three of them playing.
    fn a_close_room() -> (i64, Vec<i64>) {
        fixture::schema();
        let songs: Vec<i64> = [
            "[1,0,0,0,0]",
            "[1,0.1,0,0,0]",
            "[1,0.15,0,0,0]",
            "[1,0.2,0,0,0]",
        ]
        .map(|e| fixture::song("soundscape", e))
        .to_vec();
        let player = fixture::player();
        check_in(fixture::listener(Some("[1,0,0,0,0]")), player);
        refresh(player);
        assert_eq!(layers(player), songs[..3]);
        Spi::run_with_args(
            "insert into cosound.plays (player_id, song_id)
             select $1, song_id from cosound.player_queue where player_id = $1",
            &[player.into()],
        )
        .unwrap();
        (player, songs)
    }

    #[pg_test]
    fn a_layer_is_not_pushed_out_by_its_own_recency_penalty() {
        let (player, songs) = a_close_room();
        refresh(player);
        assert_eq!(
            layers(player),
            songs[..3],
            "the fourth fits only a hair worse than the third"
        );
    }

    #[pg_test]
    fn a_layer_that_played_its_turn_gives_way_and_the_others_keep_theirs() {
        let (player, songs) = a_close_room();
        Spi::run_with_args(
            "update cosound.player_queue
                set since = now() - make_interval(secs => $2 + 1)
              where player_id = $1",
            &[player.into(), cosound_rules::steady::TURN_SECONDS.into()],
        )
        .unwrap();
        assert!(refresh(player));
        assert_eq!(
            layers(player),
            [songs[3], songs[0], songs[1]],
            "the newcomer leads: the others just played"
        );
        let kept_their_time = Spi::get_one_with_args::<i64>(
            "select count(*) from cosound.player_queue
              where player_id = $1 and since < now() - interval '10 minutes'",
            &[player.into()],
        )
        .unwrap();
        assert_eq!(kept_their_time, Some(2), "the newcomer's turn starts now");
    }

    #[pg_test]
    fn a_shorter_turn_set_for_the_database_lets_a_layer_give_way_sooner() {
        let (player, songs) = a_close_room();
        Spi::run("set local cosound.layer_turn = 0").unwrap();
        refresh(player);
        assert_eq!(
            layers(player),
            [songs[3], songs[0], songs[1]],
            "every layer has played its turn: one gives way"
        );
    }

    #[pg_test]
    fn with_the_steady_mix_off_the_proposal_plays_whole() {
        let (player, songs) = a_close_room();
        Spi::run("set local cosound.steady_mix = off").unwrap();
        refresh(player);
        assert_eq!(
            layers(player),
            [songs[3], songs[0], songs[1]],
            "off, the proposal plays whole"
        );
    }

    #[pg_test(
        error = "-1 is outside the valid range for parameter \"cosound.mix_margin\" (0 .. 2)"
    )]
    fn a_margin_outside_its_range_is_refused() {
        fixture::schema();
        Spi::run("set local cosound.mix_margin = -1").unwrap();
    }

    #[pg_test]
    fn a_room_that_empties_then_fills_takes_the_new_mix_whole() {
        let (rain, fire) = rain_and_fire();
        let player = fixture::player();
        let first = fixture::listener(Some("[1,0,0,0,0]"));
        check_in(first, player);
        refresh(player);
        assert_eq!(layers(player), rain);
        Spi::run_with_args("select cosound.check_out($1)", &[first.into()]).unwrap();
        refresh(player);
        check_in(fixture::listener(Some("[0,0,0,0,1]")), player);
        refresh(player);
        assert_eq!(layers(player), fire);
    }

    #[pg_test(error = "no player with id -7")]
    fn refreshing_an_unknown_player_is_refused() {
        fixture::schema();
        refresh(-7);
    }

    #[pg_test(error = "no player with id -7")]
    fn the_group_of_an_unknown_player_is_refused() {
        fixture::schema();
        group(-7);
    }
}
