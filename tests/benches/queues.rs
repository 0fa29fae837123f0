//! Refreshing every player's queue, at 1k and 10k players with 5 active listeners each and a
//! catalogue of 2,000 songs: after everyone arrives (every queue changes), then again with
//! nothing changed. Baseline: the seed's way of picking one player's mix (the group mean by
//! pgvector's avg, then the seed's lateral formula for 3 layers and 1 instrumental), timed on
//! 100 players and scaled to all of them. At 10k players, each group strategy in turn.

#[path = "common/mod.rs"]
mod common;

use common::{connect, create_seed_formula, empty, ms, table, timed, vacuum};

const LISTENERS_PER_PLAYER: i64 = 5;

const SEED_PICKS: &str = "
    with target as (
      select extensions.l2_normalize(extensions.avg(p.preference)) as v
        from cosound.sessions s join cosound.profiles p on p.id = s.listener_id
       where s.player_id = $1 and s.ended_at is null and s.expires_at > now()
    )
    select song_id from target, pg_temp.seed_recommend(target.v, 3, $1, 'soundscape')
    union all
    select song_id from target, pg_temp.seed_recommend(target.v, 1, $1, 'instrumental')";

async fn load(db: &tokio_postgres::Client, players: i64) {
    empty(db).await;
    db.batch_execute(&format!(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         select case when g % 4 = 0 then 'instrumental' else 'soundscape' end::cosound.song_type,
                'song ' || g, 60000, 'bench/' || g,
                array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5)
           from generate_series(1, 2000) g;
         insert into cosound.players (name) select 'room ' || g from generate_series(1, {players}) g;
         insert into cosound.plays (player_id, song_id, played_at)
         select p.id, 1 + (random() * 1999)::int + (select min(id) - 1 from cosound.songs),
                now() - random() * interval '30 days'
           from cosound.players p, generate_series(1, 20);
         insert into auth.users (id) select gen_random_uuid()
           from generate_series(1, {players} * {LISTENERS_PER_PLAYER});
         update cosound.profiles set preference = extensions.l2_normalize(
           array[random(), random(), random(), random(), random()]::real[]::extensions.vector(5));
         insert into cosound.sessions (listener_id, player_id)
         select l.id, (select min(id) from cosound.players) + (l.n - 1) / {LISTENERS_PER_PLAYER}
           from (select id, row_number() over (order by id) as n from cosound.profiles) l;
"
    ))
    .await
    .expect("the players load");
    vacuum(db).await;
}

/// Every room's listeners count by `strategy`, and no room has a queue yet.
async fn use_strategy(db: &tokio_postgres::Client, strategy: &str) {
    db.execute(
        "update cosound.players set strategy = $1::text::cosound.group_strategy",
        &[&strategy],
    )
    .await
    .unwrap();
    db.batch_execute("delete from cosound.player_queue; delete from cosound.queue_state")
        .await
        .unwrap();
}

/// A tenth of the rooms change: one listener there leaves.
async fn a_tenth_leave(db: &tokio_postgres::Client, players: i64) {
    db.batch_execute(&format!(
        "update cosound.sessions set ended_at = now()
          where id in (select min(id) from cosound.sessions where ended_at is null
                        group by player_id order by player_id limit {})",
        players / 10
    ))
    .await
    .unwrap();
}

async fn refresh_all(db: &tokio_postgres::Client) -> i64 {
    db.query_one("select extensions.refresh_all_queues()", &[])
        .await
        .expect("the refresh runs")
        .get(0)
}

#[tokio::main]
async fn main() {
    let db = connect().await;
    create_seed_formula(&db).await;
    let mut rows = Vec::new();
    for players in [1_000i64, 10_000] {
        load(&db, players).await;
        let (changed, everyone_arrived) = timed(refresh_all(&db)).await;
        assert_eq!(changed, players);
        let (unchanged, nothing_changed) = timed(refresh_all(&db)).await;
        assert_eq!(unchanged, 0);
        a_tenth_leave(&db, players).await;
        let (some, tenth_changed) = timed(refresh_all(&db)).await;
        // The steady mix may keep a room's layers when one of five leaves.
        assert!(some <= players / 10 && some > 0, "{some} queues changed");
        let first: i64 = db
            .query_one("select min(id) from cosound.players", &[])
            .await
            .unwrap()
            .get(0);
        let sample = 100;
        let (_, seed_sample) = timed(async {
            for p in first..first + sample {
                db.query(SEED_PICKS, &[&p])
                    .await
                    .expect("the seed picks run");
            }
        })
        .await;
        let seed_all = seed_sample * (players / sample) as u32;
        rows.push(vec![
            format!("{players}"),
            "mean".into(),
            ms(seed_all),
            ms(everyone_arrived),
            ms(tenth_changed),
            ms(nothing_changed),
        ]);
        if players < 10_000 {
            continue;
        }
        for strategy in ["least_misery", "fair"] {
            use_strategy(&db, strategy).await;
            let (changed, everyone_arrived) = timed(refresh_all(&db)).await;
            assert_eq!(changed, players);
            let (unchanged, nothing_changed) = timed(refresh_all(&db)).await;
            assert_eq!(unchanged, 0);
            a_tenth_leave(&db, players).await;
            let (_, tenth_changed) = timed(refresh_all(&db)).await;
            rows.push(vec![
                format!("{players}"),
                strategy.into(),
                ms(seed_all),
                ms(everyone_arrived),
                ms(tenth_changed),
                ms(nothing_changed),
            ]);
        }
    }
    println!(
        "refresh_all_queues, 5 active listeners per player, 2,000 songs (baseline: the seed's formula per player, 100 players timed and scaled)"
    );
    table(
        &[
            "players",
            "strategy",
            "seed formula, all players (baseline)",
            "all queues change",
            "a tenth change",
            "nothing changed",
        ],
        &rows,
    );
}
