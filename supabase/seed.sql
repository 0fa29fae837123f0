-- Demo data for a local stack: `cargo xtask up` loads it after the migrations, every time,
-- so each statement leaves existing rows alone.

-- A demo listener who can sign in at once (POST /rpc/sign_in).
insert into auth.users (email, encrypted_password)
values ('listener@demo.cosound.local', extensions.hash_password('listen-to-rain-1'))
on conflict (email) do nothing;
