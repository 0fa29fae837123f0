-- Looking a time zone up in pg_timezone_names reads PostgreSQL's whole time-zone database, about
-- 9 ms a row: creating 100,000 players took a quarter of an hour. Every player starts in UTC, the
-- default, which is known without a lookup; any other zone is still checked.
create or replace function cosound.refuse_unknown_time_zone() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.time_zone <> 'UTC'
     and not exists (select from pg_catalog.pg_timezone_names where name = new.time_zone) then
    perform cosound.refuse(400, 'a time zone is a name from the IANA database, such as Europe/Paris',
                           'time_zone: ' || cosound.quoted(new.time_zone));
  end if;
  return new;
end
$$;
