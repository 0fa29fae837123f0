//! `recommend_with_penalty(target, k, player_id, song_type)`: the exact top k of the catalogue
//! (or of a player's library) by adjusted distance, as `crate::ranking` reads it.

use crate::ranking::{ranked, rows, Candidates};
use crate::vector::Vector;
use cosound_rules::recommend::SongType;
use cosound_rules::space;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

// The index settings the ranking functions run with, set on each function so they do not leak
// into the caller's transaction: strict-order iterative scans make the HNSW stream one of
// increasing distance, as the early stop requires.
extension_sql!(
    r#"ALTER FUNCTION recommend_with_penalty(vector, integer, bigint, text)
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;"#,
    name = "recommend_with_penalty_index_settings",
    requires = [recommend_with_penalty]
);

/// The `k` songs nearest to `target` by adjusted distance, best first (ties by song id);
/// within the player's library when it has one; of one type when `song_type` is given.
#[pg_extern(stable)]
fn recommend_with_penalty(
    target: Option<Vector>,
    k: Option<i32>,
    player_id: default!(Option<i64>, "NULL"),
    song_type: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(song_id, i64),
        name!(distance, f64),
        name!(adjusted_distance, f64),
    ),
> {
    let Some(target) = target else {
        invalid("a target vector is required".into())
    };
    if let Err(error) = space::check(&target.0) {
        invalid(format!("invalid target: {error}"));
    }
    if target.0.iter().all(|&x| x == 0.0) {
        invalid("invalid target: all zeros, so it points nowhere".into());
    }
    let k = match k {
        Some(k) if k >= 0 => k as usize,
        _ => invalid(format!(
            "k is the number of songs wanted, 0 or more, not {}",
            k.map_or("null".into(), |k| k.to_string())
        )),
    };
    let song_type = song_type.map(|name| {
        SongType::parse(name).unwrap_or_else(|| {
            invalid(format!(
                "a song type is soundscape or instrumental, not {name}"
            ))
        })
    });
    let candidates = Candidates::of(player_id);
    TableIterator::new(rows(ranked(&[target.0], k, &candidates, song_type)))
}

fn invalid(message: String) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message
    );
}
