-- Demo data for a local stack: `cargo xtask up` loads it after the migrations, every time,
-- so each statement leaves existing rows alone. Sign in with POST /rpc/sign_in.
--   listener@demo.cosound.local / listen-to-rain-1     a listener
--   guest@demo.cosound.local    / waves-and-wind-2     another listener
--   manager@demo.cosound.local  / runs-the-lobby-3     manages the demo player
--   admin@demo.cosound.local    / admin-of-sound-4     an admin
-- The demo player "Reading room" has the check-in code READING-ROOM. The demo catalogue is
-- uploaded through the gateway by `cargo xtask up`, since each song needs its audio in S3.

insert into auth.users (email, encrypted_password)
select email, extensions.hash_password(password)
  from (values
    ('listener@demo.cosound.local', 'listen-to-rain-1'),
    ('guest@demo.cosound.local', 'waves-and-wind-2'),
    ('manager@demo.cosound.local', 'runs-the-lobby-3'),
    ('admin@demo.cosound.local', 'admin-of-sound-4')
  ) as demo (email, password)
 where not exists (select from auth.users u where u.email = demo.email);

insert into cosound.staff (user_id, role)
select u.id, demo.role::cosound.staff_role
  from (values ('manager@demo.cosound.local', 'manager'), ('admin@demo.cosound.local', 'admin'))
       as demo (email, role)
  join auth.users u on u.email = demo.email
on conflict do nothing;

update cosound.profiles p set display_name = demo.name
  from (values ('listener@demo.cosound.local', 'Demo listener'), ('guest@demo.cosound.local', 'Guest'))
       as demo (email, name)
  join auth.users u on u.email = demo.email
 where p.id = u.id and p.display_name is null;

-- The demo room lets listeners choose it from the list, as its manager may allow; rooms take
-- their code only by default. Its code is READING-ROOM.
insert into cosound.players (name, owner_id, check_in_by_choice)
select 'Reading room', u.id, true from auth.users u
 where u.email = 'manager@demo.cosound.local'
   and not exists (select from cosound.players where name = 'Reading room');

insert into cosound.checkin_codes (code, player_id)
select 'READING-ROOM', id from cosound.players where name = 'Reading room'
on conflict do nothing;
