//! Writing a checked export, table by table. Each batch is one transaction that also records
//! the original ids it wrote (the `cosound.imported_*` tables), and every statement skips the
//! originals already recorded: a second run adds nothing, an interrupted one goes on from its
//! last committed batch. Cosound's ids are drawn from their sequences inside the statement, so
//! the rows and their mappings are written together.

use super::validate::{Code, Player, Song, User, Vote};
use crate::upload::{self, Gateway, Outcome};
use anyhow::{bail, Context, Result};
use futures_util::pin_mut;
use indicatif::ProgressBar;
use rand::distr::{Alphanumeric, SampleString};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

pub async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("cannot connect to the database")?;
    tokio::spawn(connection);
    let ready: bool = client
        .query_one(
            "select to_regclass('cosound.imported_votes') is not null",
            &[],
        )
        .await?
        .get(0);
    if !ready {
        bail!("the database has no cosound.imported_* tables: apply the migrations first");
    }
    Ok(client)
}

/// Check-in codes that another player in the database already has.
pub async fn codes_taken(db: &Client, codes: &[Code]) -> Result<Vec<String>> {
    let (code, original): (Vec<&str>, Vec<&str>) = codes
        .iter()
        .map(|c| (c.code.as_str(), c.player.as_str()))
        .unzip();
    let rows = db
        .query(
            "select c.code
               from unnest($1::text[], $2::text[]) as g(code, original_id)
               join cosound.checkin_codes c on c.code = g.code
               left join cosound.imported_players m on m.original_id = g.original_id
              where m.player_id is distinct from c.player_id
              order by c.code",
            &[&code, &original],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The players and their check-in codes, in one transaction (there are few).
pub async fn players(db: &mut Client, players: &[Player], codes: &[Code]) -> Result<u64> {
    let (ids, names): (Vec<&str>, Vec<&str>) = players
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .unzip();
    let (code, original): (Vec<&str>, Vec<&str>) = codes
        .iter()
        .map(|c| (c.code.as_str(), c.player.as_str()))
        .unzip();
    let tx = db.transaction().await?;
    let added = tx
        .execute(
            "with given as materialized (
               select g.original_id, g.name,
                      nextval(pg_get_serial_sequence('cosound.players', 'id')) as player_id
                 from unnest($1::text[], $2::text[]) as g(original_id, name)
                where not exists (select from cosound.imported_players m
                                   where m.original_id = g.original_id)
             ), added as (
               insert into cosound.players (id, name) overriding system value
               select player_id, name from given
             )
             insert into cosound.imported_players (original_id, player_id)
             select original_id, player_id from given",
            &[&ids, &names],
        )
        .await?;
    tx.execute(
        "insert into cosound.checkin_codes (code, player_id)
         select g.code, m.player_id
           from unnest($1::text[], $2::text[]) as g(code, original_id)
           join cosound.imported_players m using (original_id)
         on conflict (code) do nothing",
        &[&code, &original],
    )
    .await?;
    tx.commit().await?;
    Ok(added)
}

/// What the users' phase wrote.
#[derive(Default)]
pub struct UsersWritten {
    pub accounts: u64,
    /// Addresses that already had an account here, now linked to their original.
    pub linked: u64,
    pub preferences: u64,
}

/// The users, `batch` per transaction: an account each (or the one their address already
/// has), their display name and their taste as given. A linked account keeps the name and
/// taste it has.
pub async fn users(
    db: &mut Client,
    users: &[User],
    batch: usize,
    bar: &ProgressBar,
) -> Result<UsersWritten> {
    let mut written = UsersWritten::default();
    for chunk in users.chunks(batch) {
        let column = |f: fn(&User) -> Option<&str>| chunk.iter().map(f).collect::<Vec<_>>();
        let ids = column(|u| Some(&u.id));
        let emails = column(|u| Some(&u.email));
        let names = column(|u| u.display_name.as_deref());
        let hashes = column(|u| u.password_hash.as_deref());
        let tastes = column(|u| u.preference.as_deref());
        let tx = db.transaction().await?;
        let mapped = tx
            .query(
                "with given as materialized (
                   select g.original_id, g.email, g.password_hash,
                          coalesce(u.id, gen_random_uuid()) as user_id, u.id is null as new
                     from unnest($1::text[], $2::text[], $3::text[]) as g(original_id, email, password_hash)
                     left join auth.users u on lower(u.email) = lower(g.email)
                    where not exists (select from cosound.imported_users m
                                       where m.original_id = g.original_id)
                 ), accounts as (
                   insert into auth.users (id, email, encrypted_password)
                   select user_id, email, password_hash from given where new
                 ), mapped as (
                   insert into cosound.imported_users (original_id, user_id)
                   select original_id, user_id from given
                 )
                 select original_id, new from given",
                &[&ids, &emails, &hashes],
            )
            .await?;
        let fresh: Vec<&str> = mapped.iter().map(|row| row.get(0)).collect();
        written.accounts += mapped.iter().filter(|row| row.get::<_, bool>(1)).count() as u64;
        written.linked += mapped.iter().filter(|row| !row.get::<_, bool>(1)).count() as u64;
        // The profiles exist now: the accounts' trigger made them.
        written.preferences += tx
            .execute(
                "update cosound.profiles p
                    set display_name = coalesce(p.display_name, g.display_name),
                        preference = coalesce(p.preference, g.preference::extensions.vector),
                        preference_updated_at = case when p.preference is null then now()
                                                     else p.preference_updated_at end
                   from unnest($1::text[], $2::text[], $3::text[]) as g(original_id, display_name, preference)
                   join cosound.imported_users m using (original_id)
                  where p.id = m.user_id and g.original_id = any($4)
                    and (g.preference is not null or g.display_name is not null)",
                &[&ids, &names, &tastes, &fresh],
            )
            .await?;
        tx.commit().await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(written)
}

/// The songs, one upload each through the gateway (S3, loudness, the model's embedding). A
/// file already in the catalogue is mapped to the song that has it. Returns how many were
/// added, and the songs that could not be uploaded, with why.
pub async fn songs(
    db: &Client,
    gateway: &Gateway,
    songs: &[Song],
    bar: &ProgressBar,
) -> Result<(u64, Vec<String>)> {
    let ids: Vec<&str> = songs.iter().map(|s| s.id.as_str()).collect();
    let mapped: HashSet<String> = db
        .query(
            "select original_id from cosound.imported_songs where original_id = any($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let (mut added, mut failed) = (0, Vec::new());
    for song in songs {
        if mapped.contains(&song.id) {
            bar.inc(std::fs::metadata(&song.path).map_or(0, |m| m.len()));
            continue;
        }
        bar.set_message(song.title.clone());
        let id = match upload::upload(gateway, &song.path, &song.kind, &song.title, bar).await {
            Ok(Outcome::Added(id)) => {
                added += 1;
                id
            }
            Ok(Outcome::AlreadyThere(id)) => id,
            Err(error) => {
                failed.push(format!("{} ({}): {error:#}", song.id, song.path.display()));
                continue;
            }
        };
        db.execute(
            "insert into cosound.imported_songs (original_id, song_id) values ($1, $2)
             on conflict (original_id) do nothing",
            &[&song.id, &id],
        )
        .await?;
    }
    Ok((added, failed))
}

/// The votes, `batch` per transaction, copied in (binary COPY) and then inserted by mapping
/// their originals. They are marked imported, so the learning trigger leaves the imported
/// tastes as they are.
pub async fn votes(
    db: &mut Client,
    votes: &[Vote],
    batch: usize,
    bar: &ProgressBar,
) -> Result<u64> {
    let mut added = 0;
    for chunk in votes.chunks(batch) {
        let tx = db.transaction().await?;
        tx.batch_execute(
            "create temp table staged_votes (
               original_id text, user_id text, song_id text, player_id text,
               rating smallint, created_at timestamptz
             ) on commit drop",
        )
        .await?;
        let sink = tx
            .copy_in("copy staged_votes from stdin (format binary)")
            .await?;
        let writer = BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT2,
                Type::TIMESTAMPTZ,
            ],
        );
        pin_mut!(writer);
        for vote in chunk {
            writer
                .as_mut()
                .write(&[
                    &vote.id,
                    &vote.user,
                    &vote.song,
                    &vote.player,
                    &vote.rating,
                    &vote.at,
                ])
                .await?;
        }
        writer.finish().await?;
        added += tx
            .execute(
                "with fresh as materialized (
                   select s.original_id, nextval(pg_get_serial_sequence('cosound.votes', 'id')) as vote_id,
                          u.user_id, so.song_id, p.player_id, s.rating, s.created_at
                     from staged_votes s
                     join cosound.imported_users u on u.original_id = s.user_id
                     join cosound.imported_songs so on so.original_id = s.song_id
                     left join cosound.imported_players p on p.original_id = s.player_id
                    where not exists (select from cosound.imported_votes m
                                       where m.original_id = s.original_id)
                 ), added as (
                   insert into cosound.votes (id, listener_id, song_id, player_id, rating, created_at, imported)
                   overriding system value
                   select vote_id, user_id, song_id, player_id, rating, created_at, true from fresh
                 )
                 insert into cosound.imported_votes (original_id, vote_id)
                 select original_id, vote_id from fresh",
                &[],
            )
            .await?;
        tx.commit().await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(added)
}

/// A first password for each imported account that has none, appended to `file` (only its
/// owner may read it) as `email,password` before it is set, so none is set unwritten. A run
/// stopped between the two writes a second line for that address on the next run: the last
/// line for an address is the one that holds.
pub async fn first_passwords(
    db: &Client,
    users: &[User],
    file: &Path,
    bar: &ProgressBar,
) -> Result<u64> {
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let accounts = db
        .query(
            "select u.id, u.email
               from cosound.imported_users m join auth.users u on u.id = m.user_id
              where m.original_id = any($1) and u.encrypted_password is null
              order by u.email",
            &[&ids],
        )
        .await?;
    if accounts.is_empty() {
        return Ok(0);
    }
    bar.set_length(accounts.len() as u64);
    let mut out = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(file)
            .with_context(|| format!("cannot write {}", file.display()))?
    };
    let mut set = 0;
    for account in &accounts {
        let (id, email): (uuid::Uuid, String) = (account.get(0), account.get(1));
        // Four groups of five, which the sign-in's rule (two kinds of character) always takes.
        let groups: Vec<String> = (0..4)
            .map(|_| Alphanumeric.sample_string(&mut rand::rng(), 5))
            .collect();
        let password = groups.join("-");
        writeln!(out, "{email},{password}")?;
        out.sync_data()?;
        set += db
            .execute(
                "update auth.users set encrypted_password = extensions.hash_password($2)
                  where id = $1 and encrypted_password is null",
                &[&id, &password],
            )
            .await?;
        bar.inc(1);
    }
    Ok(set)
}
