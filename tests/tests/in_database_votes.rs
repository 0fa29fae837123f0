//! Votes teach tastes inside the database, safely under concurrency: many votes by one listener
//! at once leave the taste vector exactly as applying them one by one in commit order would.

use cosound_e2e::superuser;
use std::sync::Arc;
use tokio::sync::Barrier;

const VOTES: usize = 60;

/// pgvector's text form, parsed.
fn floats(text: &str) -> Vec<f32> {
    text.trim_matches(['[', ']'])
        .split(',')
        .map(|x| x.parse().expect("a vector component"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_concurrent_votes_by_one_listener_apply_in_commit_order() {
    let db = superuser().await;
    let setup = db
        .query_one(
            "with u as (insert into auth.users default values returning id) select id::text from u",
            &[],
        )
        .await
        .unwrap();
    let listener: String = setup.get(0);
    let initial: String = db
        .query_one(
            "update cosound.profiles
                set preference = extensions.l2_normalize('[0.2,0.2,0.2,0.2,0.9]'::extensions.vector)
              where id = $1::text::uuid
             returning preference::text",
            &[&listener],
        )
        .await
        .unwrap()
        .get(0);
    let songs: Vec<i64> = db
        .query(
            "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
             select 'soundscape', 'concurrency ' || g, 1000, 'concurrency/' || gen_random_uuid(),
                    array[(g % 3) / 2.0, (g % 5) / 4.0, (g % 2), (g % 7) / 6.0, 0.1]::real[]::extensions.vector(5)
               from generate_series(1, 12) g
             returning id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Records the order in which the votes took the listener's row lock, which they hold
    // until commit: the commit order.
    db.batch_execute(
        "create table if not exists public.vote_commit_order (
           position bigint generated always as identity, vote_id bigint not null)",
    )
    .await
    .unwrap();

    let start = Arc::new(Barrier::new(VOTES));
    let mut voters = Vec::new();
    for i in 0..VOTES {
        let start = start.clone();
        let listener = listener.clone();
        let song = songs[i % songs.len()];
        let rating = [1i16, 2, 4, 5][i % 4];
        voters.push(tokio::spawn(async move {
            let mut db = superuser().await;
            start.wait().await;
            let tx = db.transaction().await.unwrap();
            let vote: i64 = tx
                .query_one(
                    "insert into cosound.votes (listener_id, song_id, rating)
                     values ($1::text::uuid, $2, $3) returning id",
                    &[&listener, &song, &rating],
                )
                .await
                .unwrap()
                .get(0);
            tx.execute(
                "insert into public.vote_commit_order (vote_id) values ($1)",
                &[&vote],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for voter in voters {
        voter.await.unwrap();
    }

    let in_order = db
        .query(
            "select s.embedding::text, v.rating::int
               from public.vote_commit_order o
               join cosound.votes v on v.id = o.vote_id
               join cosound.songs s on s.id = v.song_id
              where v.listener_id = $1::text::uuid
              order by o.position",
            &[&listener],
        )
        .await
        .unwrap();
    assert_eq!(in_order.len(), VOTES);
    let mut expected = initial;
    for vote in &in_order {
        let embedding: String = vote.get(0);
        let rating: i32 = vote.get(1);
        expected = db
            .query_one(
                "select extensions.apply_rating($1::text::extensions.vector, $2::text::extensions.vector, $3)::text",
                &[&expected, &embedding, &rating],
            )
            .await
            .unwrap()
            .get(0);
    }
    let stored: String = db
        .query_one(
            "select preference::text from cosound.profiles where id = $1::text::uuid",
            &[&listener],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(floats(&stored), floats(&expected));
}
