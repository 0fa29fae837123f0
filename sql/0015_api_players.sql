-- The device's API, with a player JWT from the gateway (role `player`, claim `player_id`):
-- its queue, its heartbeat, and reports of what it plays, which feed that player's recency
-- penalty. A device reports only songs it was given: in its queue or its library, or (for
-- `end`) a song it has reported started.

create view api.player_queue with (security_invoker = true) as
  select q.player_id, q.slot, q.song_id, q.role, q.gain, s.title, s.duration_ms, s.byte_size,
         s.content_sha256, s.content_type, st.version, st.volume_cap
    from cosound.player_queue q
    join cosound.songs s on s.id = q.song_id
    join cosound.queue_state st on st.player_id = q.player_id;
comment on view api.player_queue is
  'What a player plays: its soundscape layers (looped) and next instrumental, each at a linear gain that includes the song''s loudness gain; version changes with every change; volume_cap (0 to 1) is the most of full volume the device may play now, from the schedule.';
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
    perform cosound.refuse(404, format('no song with id %s', report_play.song_id));
  end if;
  if event in ('start', 'failed')
     and not exists (select from cosound.player_queue q
                      where q.player_id = device and q.song_id = report_play.song_id)
     and not exists (select from cosound.player_library l
                      where l.player_id = device and l.song_id = report_play.song_id) then
    perform cosound.refuse(409,
      format('song %s is neither in this player''s queue nor in its library', report_play.song_id));
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
        perform cosound.refuse(409, format('song %s was not reported as started', report_play.song_id));
      end if;
    when 'failed' then
      insert into cosound.play_failures (player_id, song_id, detail)
      values (device, report_play.song_id, left(coalesce(detail, ''), 1000));
    else
      raise sqlstate '22023'
        using message = format('event is start, end or failed, not %s', cosound.quoted(event));
  end case;
  return json_build_object('player_id', device, 'song_id', report_play.song_id, 'event', event, 'play_id', play);
end
$$;
comment on function api.report_play is
  'A player device reports a song of its queue or library it started, ended or could not play (detail says why); starts feed that player''s recency penalty.';

revoke execute on function api.heartbeat, api.report_play from public;
grant execute on function api.heartbeat, api.report_play to player, authenticated;
