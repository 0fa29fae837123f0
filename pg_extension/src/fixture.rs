//! The real schema inside a `#[pg_test]`'s transaction, which rolls it back afterwards.
//!
//! `cargo pgrx test` creates the extension with `CREATE EXTENSION cosound CASCADE`, putting
//! pgvector in `public`; the migrations expect it in `extensions`, as a DBA installs it. The
//! schema is the files a DBA applies (the local Supabase shim, then `sql/` in name order), never
//! a copy. Tests that create the shim's roles at once take turns on the role catalogue's unique
//! index; each rolls back, so the next one succeeds.

use pgrx::prelude::*;

/// Every migration, in the order `cargo xtask` applies them.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "supabase/local/0001_supabase_platform.sql",
        include_str!("../../supabase/local/0001_supabase_platform.sql"),
    ),
    (
        "sql/0001_extensions.sql",
        include_str!("../../sql/0001_extensions.sql"),
    ),
    (
        "sql/0002_gateway_role.sql",
        include_str!("../../sql/0002_gateway_role.sql"),
    ),
    (
        "sql/0003_api_schema.sql",
        include_str!("../../sql/0003_api_schema.sql"),
    ),
    (
        "sql/0004_catalogue.sql",
        include_str!("../../sql/0004_catalogue.sql"),
    ),
    (
        "sql/0005_listeners.sql",
        include_str!("../../sql/0005_listeners.sql"),
    ),
    (
        "sql/0006_players_and_sessions.sql",
        include_str!("../../sql/0006_players_and_sessions.sql"),
    ),
    (
        "sql/0007_votes_teach_tastes.sql",
        include_str!("../../sql/0007_votes_teach_tastes.sql"),
    ),
    (
        "sql/0008_play_history.sql",
        include_str!("../../sql/0008_play_history.sql"),
    ),
    (
        "sql/0009_schedules.sql",
        include_str!("../../sql/0009_schedules.sql"),
    ),
    (
        "sql/0010_queues.sql",
        include_str!("../../sql/0010_queues.sql"),
    ),
    (
        "sql/0011_roles_and_access.sql",
        include_str!("../../sql/0011_roles_and_access.sql"),
    ),
    (
        "sql/0012_row_level_security.sql",
        include_str!("../../sql/0012_row_level_security.sql"),
    ),
    (
        "sql/0013_refusals.sql",
        include_str!("../../sql/0013_refusals.sql"),
    ),
    (
        "sql/0014_api_listeners.sql",
        include_str!("../../sql/0014_api_listeners.sql"),
    ),
    (
        "sql/0015_api_players.sql",
        include_str!("../../sql/0015_api_players.sql"),
    ),
    (
        "sql/0016_api_management.sql",
        include_str!("../../sql/0016_api_management.sql"),
    ),
    (
        "sql/0017_api_document.sql",
        include_str!("../../sql/0017_api_document.sql"),
    ),
    (
        "sql/0018_token_policy.sql",
        include_str!("../../sql/0018_token_policy.sql"),
    ),
    (
        "sql/0019_imported_installations.sql",
        include_str!("../../sql/0019_imported_installations.sql"),
    ),
    (
        "sql/0020_embedding_models.sql",
        include_str!("../../sql/0020_embedding_models.sql"),
    ),
    (
        "sql/0021_the_default_time_zone_needs_no_lookup.sql",
        include_str!("../../sql/0021_the_default_time_zone_needs_no_lookup.sql"),
    ),
];

/// Applies the migrations in the current transaction.
pub fn schema() {
    Spi::run(
        "do $$ begin
           if (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                where e.extname = 'vector') <> 'extensions' then
             alter extension vector set schema extensions;
           end if;
         end $$",
    )
    .expect("pgvector moves to the extensions schema");
    for (name, sql) in MIGRATIONS {
        Spi::run(sql).unwrap_or_else(|error| panic!("{name} failed: {error}"));
    }
}

/// A new listener (a user with a profile) with this taste (pgvector text, or null).
pub fn listener(taste: Option<&str>) -> pgrx::Uuid {
    let id = Spi::get_one::<pgrx::Uuid>("insert into auth.users default values returning id")
        .expect("the user is created")
        .expect("a new user has an id");
    Spi::run_with_args(
        "update cosound.profiles set preference = $2::text::extensions.vector(5) where id = $1",
        &[id.into(), taste.into()],
    )
    .expect("the new user has a profile with this taste");
    id
}

/// A new song of this type ('soundscape' or 'instrumental') and embedding (pgvector text).
pub fn song(song_type: &str, embedding: &str) -> i64 {
    Spi::get_one_with_args::<i64>(
        "insert into cosound.songs (type, title, duration_ms, object_key, embedding)
         values ($1::cosound.song_type, 'a song', 60000, 'songs/' || gen_random_uuid(),
                 $2::text::extensions.vector(5))
         returning id",
        &[song_type.into(), embedding.into()],
    )
    .expect("the song is stored")
    .expect("a new song has an id")
}

/// A new player.
pub fn player() -> i64 {
    Spi::get_one::<i64>("insert into cosound.players (name) values ('a room') returning id")
        .expect("the player is stored")
        .expect("a new player has an id")
}

/// The rows `sql` returns, as triples of its first three columns (none of them null).
pub fn triples<A, B, C>(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<(A, B, C)>
where
    A: pgrx::FromDatum + pgrx::IntoDatum,
    B: pgrx::FromDatum + pgrx::IntoDatum,
    C: pgrx::FromDatum + pgrx::IntoDatum,
{
    Spi::connect(|client| {
        client
            .select(sql, None, args)?
            .map(|row| {
                Ok((
                    row.get(1)?.expect("a value"),
                    row.get(2)?.expect("a value"),
                    row.get(3)?.expect("a value"),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Checks the listener in at the player, as `api.check_in` does.
pub fn check_in(listener: pgrx::Uuid, player: i64) {
    Spi::run_with_args(
        "select cosound.check_in($1, $2)",
        &[listener.into(), player.into()],
    )
    .expect("the listener checks in");
}

/// Refreshes the player's queue; whether it changed.
pub fn refresh(player: i64) -> bool {
    Spi::get_one_with_args::<bool>("select extensions.refresh_queue($1)", &[player.into()])
        .expect("the queue refreshes")
        .expect("refresh_queue answers")
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn every_migration_is_in_the_fixture() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut on_disk = Vec::new();
        for dir in ["supabase/local", "sql"] {
            let mut names: Vec<String> = std::fs::read_dir(format!("{root}/{dir}"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".sql"))
                .map(|name| format!("{dir}/{name}"))
                .collect();
            names.sort();
            on_disk.extend(names);
        }
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, on_disk);
    }
}
