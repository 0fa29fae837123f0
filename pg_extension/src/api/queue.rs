//! `group_vector(player)`, `refresh_queue(player)`, `refresh_all_queues()`: the queue refresh
//! (`crate::refresh`) as SQL functions.

use crate::refresh::{self, Scope};
use crate::vector::Vector;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

extension_sql!(
    r#"ALTER FUNCTION refresh_queue(bigint)
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;
ALTER FUNCTION refresh_all_queues()
  SET hnsw.iterative_scan = strict_order SET hnsw.ef_search = 200 SET hnsw.max_scan_tuples = 50000;"#,
    name = "refresh_queue_index_settings",
    requires = [refresh_queue, refresh_all_queues]
);

/// The group vector: the mean taste of the listeners checked in at the player now, else of
/// those there in the last 30 days, else a calm default. (What the queue is ranked for also
/// depends on the player's strategy: `group::points`.)
#[pg_extern(stable)]
fn group_vector(player_id: i64) -> Vector {
    let exists = Spi::get_one_with_args::<bool>(
        "select exists (select from cosound.players where id = $1)",
        &[player_id.into()],
    )
    .expect("the player lookup runs");
    if exists != Some(true) {
        no_player(player_id);
    }
    let mut targets = refresh::group_targets(&[player_id]);
    Vector(targets.remove(&player_id).expect("a target per player"))
}

/// Brings the player's queue up to date; true when it changed.
#[pg_extern(volatile)]
fn refresh_queue(player_id: i64) -> bool {
    match refresh::refresh(Scope::One(player_id)) {
        Some(changed) => changed > 0,
        None => no_player(player_id),
    }
}

/// Brings every player's queue up to date; returns how many changed. A player whose queue
/// another transaction is refreshing right now is left to that one.
#[pg_extern(volatile)]
fn refresh_all_queues() -> i64 {
    refresh::refresh(Scope::All).map_or(0, |changed| changed as i64)
}

fn no_player(player_id: i64) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
        format!("no player with id {player_id}")
    );
}
