-- The device's API, with a player JWT from the gateway (role `player`, claim `player_id`):
-- its queue, its heartbeat, and reports of what it plays, which feed the recency penalty.

-- When each play ended (null while it plays, or when the device never said).
alter table cosound.plays
  add column ended_at timestamptz,
  add constraint ends_after_it_starts check (ended_at >= played_at);

-- Media a device could not play (corrupt or missing), for its managers to look into.
create table cosound.play_failures (
  id bigint generated always as identity primary key,
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  detail text not null default ''
    constraint detail_is_at_most_1000_characters check (char_length(detail) <= 1000),
  failed_at timestamptz not null default now()
);
create index play_failures_by_player on cosound.play_failures (player_id, failed_at desc);
alter table cosound.play_failures enable row level security;
grant select on cosound.play_failures to authenticated;
create policy failures_of_managed_players on cosound.play_failures
  for select to authenticated using (cosound.manages_player(player_id));

-- The device making the request, refusing anyone else.
create function cosound.require_player() returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  device bigint := cosound.request_player_id();
begin
  if device is null then
    raise sqlstate '42501' using message = 'only a player device may do this (a player token from the gateway)';
  end if;
  if not exists (select from cosound.players where id = device) then
    raise sqlstate 'PT404' using message = format('player %s no longer exists', device);
  end if;
  return device;
end
$$;
revoke execute on function cosound.require_player from public;

create view api.player_queue with (security_invoker = true) as
  select q.player_id, q.slot, q.song_id, q.role, q.gain, s.title, s.duration_ms, s.byte_size,
         s.content_sha256, s.content_type, st.version
    from cosound.player_queue q
    join cosound.songs s on s.id = q.song_id
    join cosound.queue_state st on st.player_id = q.player_id;
comment on view api.player_queue is
  'What a player plays: its soundscape layers (looped) and next instrumental, each at a linear gain that includes the song''s loudness gain; version changes with every change.';
grant select on api.player_queue to player, authenticated;

create function api.heartbeat() returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  device bigint := cosound.require_player();
  seen timestamptz := now();
begin
  update cosound.players set last_seen_at = seen where id = device;
  return json_build_object(
    'player_id', device, 'seen_at', seen,
    'version', (select version from cosound.queue_state where player_id = device));
end
$$;
comment on function api.heartbeat is 'A player device says it is alive; returns its queue version.';

create function api.report_play(song_id bigint, event text, detail text default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  device bigint := cosound.require_player();
  play bigint;
begin
  if not exists (select from cosound.songs s where s.id = report_play.song_id) then
    raise sqlstate 'PT404' using message = format('no song with id %s', report_play.song_id);
  end if;
  case event
    when 'start' then
      insert into cosound.plays (player_id, song_id) values (device, report_play.song_id)
      returning id into play;
    when 'end' then
      update cosound.plays p set ended_at = now()
       where p.id = (select p2.id from cosound.plays p2
                      where p2.player_id = device and p2.song_id = report_play.song_id
                        and p2.ended_at is null
                      order by p2.played_at desc limit 1)
      returning p.id into play;
      if play is null then
        raise sqlstate 'PT409' using message = format('song %s was not reported as started', report_play.song_id);
      end if;
    when 'failed' then
      insert into cosound.play_failures (player_id, song_id, detail)
      values (device, report_play.song_id, left(coalesce(detail, ''), 1000));
    else
      raise sqlstate '22023'
        using message = format('event is start, end or failed, not %s', coalesce(event, 'null'));
  end case;
  return json_build_object('player_id', device, 'song_id', report_play.song_id, 'event', event, 'play_id', play);
end
$$;
comment on function api.report_play is
  'A player device reports a song it started, ended or could not play (detail says why); starts feed the recency penalty.';

revoke execute on function api.heartbeat, api.report_play from public;
grant execute on function api.heartbeat, api.report_play to player, authenticated;
