-- A little of everything an installation at release 0.1 holds, written against that release's
-- schema. The suite's upgrade check (`xtask/src/migrations.rs`) loads it into a database made
-- by 0.1's migrations before applying the newer ones, so a migration that cannot run over
-- real rows (a column without a default, a constraint the rows break) fails there.
insert into auth.users (id, email) values
  ('00000000-0000-4000-8000-000000000001', 'listener@upgrade.test'),
  ('00000000-0000-4000-8000-000000000002', 'manager@upgrade.test');
update cosound.profiles set preference = '[0.6,0.8,0,0,0]', display_name = 'Upgraded'
 where id = '00000000-0000-4000-8000-000000000001';
insert into cosound.staff (user_id, role)
  values ('00000000-0000-4000-8000-000000000002', 'manager');
insert into cosound.songs (type, title, duration_ms, object_key, embedding, content_sha256)
  values ('soundscape', 'Rain', 60000, 'songs/rain.wav', '[0.9,0.1,0.2,0,0]', repeat('a', 64)),
         ('instrumental', 'Piano', 90000, 'songs/piano.wav', '[0.1,0.2,0.1,0.1,0.3]', repeat('b', 64));
insert into cosound.players (name, owner_id, check_in_by_choice)
  values ('Reading room', '00000000-0000-4000-8000-000000000002', true);
insert into cosound.checkin_codes (code, player_id)
  select 'UPGRADE-ROOM', id from cosound.players;
insert into cosound.player_library (player_id, song_id)
  select p.id, s.id from cosound.players p, cosound.songs s;
insert into cosound.schedule_blocks (player_id, days, starts, ends, volume_cap)
  select id, '{1,2,3,4,5}', '22:00', '24:00', 0.3 from cosound.players;
insert into cosound.sessions (listener_id, player_id)
  select '00000000-0000-4000-8000-000000000001', id from cosound.players;
insert into cosound.votes (listener_id, song_id, player_id, rating)
  select '00000000-0000-4000-8000-000000000001', s.id, p.id, 5
    from cosound.songs s, cosound.players p where s.title = 'Rain';
insert into cosound.plays (player_id, song_id)
  select p.id, s.id from cosound.players p, cosound.songs s;
select extensions.refresh_all_queues();
