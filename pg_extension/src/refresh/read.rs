//! What a refresh reads: the players it may refresh (locked), who is in each room, the
//! fallback tastes, the libraries, the queues as they stand and the songs they name.

use super::*;

/// Locks the players in `scope` and reads what their queues were last computed from.
pub(super) fn lock(scope: Scope) -> spi::Result<Vec<Locked>> {
    let (only, skip, args): (&str, &str, Vec<DatumWithOid>) = match scope {
        Scope::One(player_id) => ("where p.id = $1", "", vec![player_id.into()]),
        Scope::All => ("", " skip locked", vec![]),
    };
    Spi::connect_mut(|client| {
        let micros = |at: Option<TimestampWithTimeZone>| at.map(i64::from);
        client
            .update(
                &format!(
                    "select p.id, q.tastes, q.catalogue_generation, q.last_play_at,
                            q.refreshed_at, (select generation from cosound.catalogue),
                            (select max(pl.played_at) from cosound.plays pl
                              where pl.player_id = p.id),
                            p.strategy::text, q.strategy::text, q.listeners, q.block_id,
                            q.volume_cap, block.id, block.volume_cap, block.instrumentals,
                            block.own_library
                       from cosound.players p
                       left join cosound.queue_state q on q.player_id = p.id
                       -- The block in force, in the player's time zone.
                       left join lateral (
                         select b.id, b.volume_cap, b.instrumentals,
                                exists (select from cosound.schedule_block_library l
                                         where l.block_id = b.id) as own_library
                           from (select pg_catalog.timezone(p.time_zone, now()) as local) t
                           join cosound.schedule_blocks b
                             on b.player_id = p.id
                            and extract(isodow from t.local)::smallint = any (b.days)
                            and t.local::time >= b.starts and t.local::time < b.ends
                          limit 1) block on true
                      {only}
                      order by p.id
                        for no key update of p{skip}"
                ),
                None,
                &args,
            )?
            .map(|row| {
                let strategy = |column: usize| -> spi::Result<Option<GroupStrategy>> {
                    Ok(row
                        .get::<String>(column)?
                        .map(|name| GroupStrategy::parse(&name).expect("a known strategy")))
                };
                let last = match (row.get::<Vec<f32>>(2)?, strategy(9)?) {
                    (Some(tastes), Some(strategy)) => Some(Inputs {
                        strategy,
                        listeners: row.get::<i32>(10)?,
                        block: row.get::<i64>(11)?,
                        tastes,
                        catalogue_generation: row.get::<i64>(3)?.unwrap_or_default(),
                        last_play_at: micros(row.get(4)?),
                    }),
                    _ => None,
                };
                Ok(Locked {
                    player_id: row.get::<i64>(1)?.expect("players.id is not null"),
                    strategy: strategy(8)?.expect("players.strategy is not null"),
                    last,
                    refreshed_at: micros(row.get(5)?),
                    catalogue_generation: row.get::<i64>(6)?.unwrap_or_default(),
                    last_play_at: micros(row.get(7)?),
                    last_cap: row.get::<f32>(12)?,
                    block: match row.get::<i64>(13)? {
                        Some(id) => Some(Block {
                            id,
                            volume_cap: row.get::<f32>(14)?.expect("a block's cap"),
                            instrumentals: row.get::<bool>(15)?.expect("a block's instrumentals"),
                            own_library: row.get::<bool>(16)?.unwrap_or(false),
                        }),
                        None => None,
                    },
                })
            })
            .collect()
    })
}

/// Who is checked in at each of `players` with a taste in the taste space, in the order they
/// checked in; players with nobody there are left out.
pub(super) fn seats(players: &[i64]) -> HashMap<i64, Vec<Seat>> {
    let mut rooms: HashMap<i64, Vec<Seat>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select s.player_id, s.id, pr.preference::real[],
                    s.served_fit_seconds / nullif(s.served_seconds, 0)
               from unnest($1::bigint[]) as wanted (player_id)
               join cosound.sessions s on s.player_id = wanted.player_id
               join cosound.profiles pr on pr.id = s.listener_id
              where s.ended_at is null and s.expires_at > now()
                and pr.preference is not null
              order by s.id",
            None,
            &[players.to_vec().into()],
        )? {
            let taste = row.get::<Vec<f32>>(3)?.unwrap_or_default();
            if space::check(&taste).is_err() {
                continue;
            }
            rooms
                .entry(row.get::<i64>(1)?.expect("a session has a player"))
                .or_default()
                .push(Seat {
                    session_id: row.get::<i64>(2)?.expect("sessions.id is not null"),
                    present: Present {
                        taste,
                        served: row.get::<f64>(4)?,
                    },
                });
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the rooms read");
    rooms
}

/// What each of `players` plays for with nobody there: the mean taste of its listeners of
/// the last `group::RECENT_DAYS` days, else the calm default.
pub(super) fn fallback_targets(players: Vec<i64>) -> HashMap<i64, Vec<f32>> {
    if players.is_empty() {
        return HashMap::new();
    }
    let mut tastes: HashMap<i64, Vec<Vec<f32>>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select recent.player_id, pr.preference::real[]
               from (select distinct s.player_id, s.listener_id
                       from unnest($1::bigint[]) as wanted (player_id)
                       join cosound.sessions s on s.player_id = wanted.player_id
                      where s.started_at > now() - make_interval(days => $2)) recent
               join cosound.profiles pr on pr.id = recent.listener_id
              where pr.preference is not null",
            None,
            &[players.clone().into(), group::RECENT_DAYS.into()],
        )? {
            let player = row.get::<i64>(1)?.expect("a session has a player");
            let taste = row.get::<Vec<f32>>(2)?.unwrap_or_default();
            tastes.entry(player).or_default().push(taste);
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the recent tastes read");
    players
        .into_iter()
        .map(|player| {
            let recent = || {
                tastes
                    .remove(&player)
                    .and_then(|t| group::mean_direction(t.iter().map(Vec::as_slice)))
            };
            (player, group::target(None, recent))
        })
        .collect()
}

/// The libraries of the due players that have one: the block's in force, else their own.
pub(super) fn libraries(due: &[Due]) -> HashMap<i64, HashSet<i64>> {
    let (players, blocks): (Vec<i64>, Vec<Option<i64>>) = library_keys(due).into_iter().unzip();
    let mut libraries: HashMap<i64, HashSet<i64>> = HashMap::new();
    Spi::connect(|client| {
        for row in client.select(
            "select w.player_id, l.song_id
               from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
               join cosound.player_library l on l.player_id = w.player_id
              where w.block_id is null
             union all
             select w.player_id, l.song_id
               from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
               join cosound.schedule_block_library l on l.block_id = w.block_id",
            None,
            &[players.into(), blocks.into()],
        )? {
            let player = row.get::<i64>(1)?.expect("a library row has a player");
            let song = row.get::<i64>(2)?.expect("a library row has a song");
            libraries.entry(player).or_default().insert(song);
        }
        Ok::<_, spi::Error>(())
    })
    .expect("the libraries read");
    libraries
}

/// The players' queues as stored, by player, each player given with the block whose own
/// library it plays now, if any. A song may still play when the ranking could offer it: it has
/// an embedding and is in that library, else in the player's, if the player has one.
pub(super) fn current_queues(
    client: &SpiClient<'_>,
    players: &[(i64, Option<i64>)],
) -> spi::Result<HashMap<i64, Vec<Queued>>> {
    let (players, blocks): (Vec<i64>, Vec<Option<i64>>) = players.iter().copied().unzip();
    let mut queues: HashMap<i64, Vec<Queued>> = HashMap::new();
    for row in client.select(
        "select q.player_id, q.song_id, q.role::text, q.gain,
                greatest(0, extract(epoch from now() - q.since))::float8,
                s.embedding is not null
                and case when w.block_id is not null
                    then exists (select from cosound.schedule_block_library l
                                  where l.block_id = w.block_id and l.song_id = q.song_id)
                    else exists (select from cosound.player_library l
                                  where l.player_id = q.player_id and l.song_id = q.song_id)
                         or not exists (select from cosound.player_library l
                                         where l.player_id = q.player_id) end
           from unnest($1::bigint[], $2::bigint[]) as w (player_id, block_id)
           join cosound.player_queue q on q.player_id = w.player_id
           join cosound.songs s on s.id = q.song_id
          order by q.player_id, q.slot",
        None,
        &[players.into(), blocks.into()],
    )? {
        let role = row
            .get::<String>(3)?
            .expect("player_queue.role is not null");
        queues
            .entry(
                row.get::<i64>(1)?
                    .expect("player_queue.player_id is not null"),
            )
            .or_default()
            .push(Queued {
                pick: Pick {
                    song_id: row
                        .get::<i64>(2)?
                        .expect("player_queue.song_id is not null"),
                    role: Role::parse(&role).expect("a queue role this build knows"),
                    gain: row.get::<f32>(4)?.expect("player_queue.gain is not null"),
                },
                seconds: row.get::<f64>(5)?.unwrap_or_default(),
                offered: row.get::<bool>(6)?.unwrap_or(false),
            });
    }
    Ok(queues)
}

/// The loudness gain and embedding of each of `songs`.
pub(super) fn songs(client: &SpiClient<'_>, songs: Vec<i64>) -> spi::Result<HashMap<i64, Song>> {
    client
        .select(
            "select id, loudness_gain_db, embedding::real[] from cosound.songs where id = any ($1)",
            None,
            &[songs.into()],
        )?
        .map(|row| {
            Ok((
                row.get::<i64>(1)?.expect("songs.id is not null"),
                Song {
                    loudness_db: row
                        .get::<f32>(2)?
                        .expect("songs.loudness_gain_db is not null"),
                    embedding: row.get::<Vec<f32>>(3)?.unwrap_or_default(),
                },
            ))
        })
        .collect()
}
