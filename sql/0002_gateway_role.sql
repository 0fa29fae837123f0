-- The gateway's database role. Its login and password are set per install (never in a
-- migration); it gets only what its jobs need, granted next to each object it uses.
do $$
begin
  if not exists (select from pg_roles where rolname = 'cosound_gateway') then
    create role cosound_gateway nologin;
  end if;
end
$$;
