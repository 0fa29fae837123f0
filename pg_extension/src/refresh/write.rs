//! What a refresh writes: the time each listener was served by the mix that played, the new
//! queues and their versions, and why each changed.

use super::*;

/// Counts, for each listener at a due player, the time since last counted (or since they
/// checked in) as served by the mix that played meanwhile, at its fit to their taste; and
/// updates their seats with the result, so the fair strategy weighs it in this refresh.
///
/// The times are the transaction's (`now()`); a session that another transaction began or
/// counted after this one started lies in its future, so its interval is clamped at zero and
/// `served_until` never moves back: no time is counted twice nor negatively.
pub(super) fn count_served(client: &mut SpiClient<'_>, due: &mut [Due]) -> spi::Result<()> {
    let players = library_keys(due.iter().filter(|player| !player.seats.is_empty()));
    if players.is_empty() {
        return Ok(());
    }
    let playing = current_queues(client, &players)?;
    let songs = songs(
        client,
        playing
            .values()
            .flatten()
            .map(|queued| queued.pick.song_id)
            .collect(),
    )?;
    let (mut sessions, mut fits) = (Vec::new(), Vec::new());
    for player in due.iter() {
        let layers = layer_weights(
            playing
                .get(&player.player_id)
                .into_iter()
                .flatten()
                .map(|queued| &queued.pick),
            &songs,
        );
        for seat in &player.seats {
            sessions.push(seat.session_id);
            fits.push(group::fit(&seat.present.taste, layers.iter().copied()));
        }
    }
    let served: HashMap<i64, Option<f64>> = client
        .update(
            "update cosound.sessions s
                set served_seconds = s.served_seconds + case when t.fit is null then 0 else t.seconds end,
                    served_fit_seconds = s.served_fit_seconds + coalesce(t.fit * t.seconds, 0),
                    served_until = greatest(coalesce(s.served_until, s.started_at), now())
               from (select u.id, u.fit,
                            greatest(0, extract(epoch from
                                now() - greatest(x.served_until, x.started_at)))::float8 as seconds
                       from unnest($1::bigint[], $2::float8[]) as u (id, fit)
                       join cosound.sessions x on x.id = u.id) t
              where s.id = t.id
          returning s.id, s.served_fit_seconds / nullif(s.served_seconds, 0)",
            None,
            &[sessions.into(), fits.into()],
        )?
        .map(|row| Ok((row.get::<i64>(1)?.expect("sessions.id is not null"), row.get(2)?)))
        .collect::<spi::Result<_>>()?;
    for seat in due.iter_mut().flat_map(|player| player.seats.iter_mut()) {
        if let Some(now) = served.get(&seat.session_id) {
            seat.present.served = *now;
        }
    }
    Ok(())
}

/// Replaces the queues of the players in `changed` with their new picks; a song that stays
/// in its role keeps the time it joined.
pub(super) fn replace_queues(
    client: &mut SpiClient<'_>,
    changed: &[(i64, Vec<Pick>, Change)],
) -> spi::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let players: Vec<i64> = changed.iter().map(|(player, _, _)| *player).collect();
    // Read before the delete: one statement deleting and inserting the same keys could insert a
    // row before its old one is gone.
    let since: HashMap<(i64, i64, String), TimestampWithTimeZone> = client
        .select(
            "select player_id, song_id, role::text, since from cosound.player_queue
              where player_id = any ($1)",
            None,
            &[players.clone().into()],
        )?
        .map(|row| {
            Ok((
                (
                    row.get::<i64>(1)?
                        .expect("player_queue.player_id is not null"),
                    row.get::<i64>(2)?
                        .expect("player_queue.song_id is not null"),
                    row.get::<String>(3)?
                        .expect("player_queue.role is not null"),
                ),
                row.get::<TimestampWithTimeZone>(4)?
                    .expect("player_queue.since is not null"),
            ))
        })
        .collect::<spi::Result<_>>()?;
    client.update(
        "delete from cosound.player_queue where player_id = any ($1)",
        None,
        &[players.into()],
    )?;
    let rows = || {
        changed.iter().flat_map(|(player, picks, _)| {
            picks
                .iter()
                .enumerate()
                .map(move |(slot, pick)| (*player, slot as i16, pick))
        })
    };
    client.update(
        "insert into cosound.player_queue (player_id, slot, song_id, role, gain, since)
         select t.player_id, t.slot, t.song_id, t.role::cosound.queue_role, t.gain,
                coalesce(t.since, now())
           from unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::text[], $5::real[],
                       $6::timestamptz[])
                as t (player_id, slot, song_id, role, gain, since)",
        None,
        &[
            rows()
                .map(|(player, _, _)| player)
                .collect::<Vec<_>>()
                .into(),
            rows().map(|(_, slot, _)| slot).collect::<Vec<_>>().into(),
            rows()
                .map(|(_, _, pick)| pick.song_id)
                .collect::<Vec<_>>()
                .into(),
            rows()
                .map(|(_, _, pick)| pick.role.as_str().to_string())
                .collect::<Vec<_>>()
                .into(),
            rows()
                .map(|(_, _, pick)| pick.gain)
                .collect::<Vec<_>>()
                .into(),
            rows()
                .map(|(player, _, pick)| {
                    since
                        .get(&(player, pick.song_id, pick.role.as_str().to_string()))
                        .copied()
                })
                .collect::<Vec<_>>()
                .into(),
        ],
    )?;
    Ok(())
}

/// Stores what each due player's queue was computed from; for those whose queue changed,
/// bumps its version and notifies; the new versions, by player.
pub(super) fn record(
    client: &mut SpiClient<'_>,
    due: &[Due],
    changed: &HashSet<i64>,
) -> spi::Result<HashMap<i64, i64>> {
    // The direction the mix was ranked towards: its one point, or the mean of several.
    let targets: Vec<f32> = due
        .iter()
        .flat_map(|player| {
            let target = match &player.points[..] {
                [point] => point.clone(),
                points => group::mean_direction(points.iter().map(Vec::as_slice))
                    .unwrap_or_else(|| points[0].clone()),
            };
            assert_eq!(target.len(), DIMENSIONS, "a target in the taste space");
            target
        })
        .collect();
    let mut tastes: Vec<f32> = Vec::new();
    let mut starts: Vec<i32> = Vec::new();
    for player in due {
        starts.push(tastes.len() as i32 + 1);
        tastes.extend_from_slice(&player.inputs.tastes);
    }
    let ends: Vec<i32> = starts
        .iter()
        .skip(1)
        .map(|next| next - 1)
        .chain([tastes.len() as i32])
        .collect();
    let last_plays: Vec<Option<TimestampWithTimeZone>> =
        due.iter()
            .map(|player| {
                player.inputs.last_play_at.map(|at| {
                    TimestampWithTimeZone::try_from(at).expect("a stored time converts back")
                })
            })
            .collect();
    client
        .update(
            "with due as (
           select * from unnest($1::bigint[], $2::boolean[], $4::bigint[], $5::timestamptz[],
                                $7::int[], $8::int[], $9::text[], $10::int[], $11::bigint[],
                                $12::real[])
                         with ordinality
                         as t (player_id, changed, generation, last_play_at, first, last, strategy,
                               listeners, block_id, volume_cap, n)
         ), state as (
           insert into cosound.queue_state as q
                  (player_id, version, target, catalogue_generation, last_play_at, refreshed_at,
                   strategy, tastes, listeners, block_id, volume_cap)
           select player_id, changed::int, ($3::real[])[n * 5 - 4 : n * 5]::extensions.vector(5),
                  generation, last_play_at, now(), strategy::cosound.group_strategy,
                  ($6::real[])[first : last], listeners, block_id, volume_cap
             from due
           on conflict (player_id) do update
              set version = q.version + excluded.version, target = excluded.target,
                  catalogue_generation = excluded.catalogue_generation,
                  last_play_at = excluded.last_play_at, refreshed_at = excluded.refreshed_at,
                  strategy = excluded.strategy, tastes = excluded.tastes,
                  listeners = excluded.listeners, block_id = excluded.block_id,
                  volume_cap = excluded.volume_cap
           returning player_id, version
         )
         select state.player_id, state.version
           from state join due using (player_id)
          where due.changed",
            None,
            &[
                due.iter()
                    .map(|player| player.player_id)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| changed.contains(&player.player_id))
                    .collect::<Vec<_>>()
                    .into(),
                targets.into(),
                due.iter()
                    .map(|player| player.inputs.catalogue_generation)
                    .collect::<Vec<_>>()
                    .into(),
                last_plays.into(),
                tastes.into(),
                starts.into(),
                ends.into(),
                due.iter()
                    .map(|player| player.inputs.strategy.as_str().to_string())
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| player.inputs.listeners)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| player.inputs.block)
                    .collect::<Vec<_>>()
                    .into(),
                due.iter()
                    .map(|player| schedule::volume_cap(player.block.as_ref()))
                    .collect::<Vec<_>>()
                    .into(),
            ],
        )?
        .map(|row| {
            Ok((
                row.get::<i64>(1)?.expect("a player"),
                row.get::<i64>(2)?.expect("a version"),
            ))
        })
        .collect()
}
