-- No read returns more than 1000 rows: GET /play_history returned every play ever. PostgREST
-- reads the bound from the database (as on Supabase, whose dashboard sets the same setting),
-- so no configuration file has to carry it; a client pages with limit and offset, or Range.
alter role authenticator set pgrst.db_max_rows = '1000';
notify pgrst, 'reload config';
