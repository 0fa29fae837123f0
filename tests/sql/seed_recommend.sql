-- The seed's recommendation formula, to check and time the extension against: each song's
-- latest play at the player by a lateral subquery over the whole history (plays count where
-- they happened; with no player, none counts), the recency penalty 0.05 * exp(-h / 6) (never
-- played: 24 h ago), lowest adjusted distance first, ties by id.
-- Created per connection (pg_temp) by the in-database tests and the benchmarks.
create function pg_temp.seed_recommend(
  target extensions.vector, k integer, player bigint default null, kind text default null
) returns table (song_id bigint, adjusted_distance float8)
language sql stable
as $$
  select s.id,
         (s.embedding operator(extensions.<=>) target)
           + 0.05 * exp(-(extract(epoch from now() - coalesce(lp.played_at,
                                                   now() - interval '24 hours'))::float8
                          / 3600.0) / 6.0) as adjusted
    from cosound.songs s
    left join lateral (select max(p.played_at) as played_at
                         from cosound.plays p
                        where p.song_id = s.id and p.player_id = player) lp on true
   where s.embedding is not null
     and (kind is null or s.type::text = kind)
     and (player is null
          or not exists (select from cosound.player_library l where l.player_id = player)
          or exists (select from cosound.player_library l
                      where l.player_id = player and l.song_id = s.id))
   order by adjusted, s.id
   limit k
$$;
