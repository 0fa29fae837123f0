-- What PostgREST calls besides the API itself: the checks before every request (this file's
-- refusal of writes to views, and the token policy of the next), and the API's OpenAPI
-- document. PostgREST finds them through its in-database settings on `authenticator` (as on
-- Supabase), so no configuration file has to name them.

create schema postgrest_hooks;
grant usage on schema postgrest_hooks to anon, authenticated, player, service_role;
alter default privileges in schema postgrest_hooks revoke execute on functions from public;

-- Every write in Cosound's API is a function; its views are read-only. A write to a view
-- that joins tables would reach PostgreSQL's "cannot update view" (55000), which PostgREST
-- answers with 500. So a write to a relation the caller may not write is refused here
-- first: 405, the methods that do work in `Allow`, and where such a change goes.
create function postgrest_hooks.refuse_writes_to_views() returns void
language plpgsql stable set search_path = ''
as $$
declare
  method text := current_setting('request.method', true);
  name text := substring(current_setting('request.path', true) from '^/([^/]+)$');
  relation regclass;
  -- What each method needs: the privileges, and pg_relation_is_updatable's bit for it.
  needed text[] := case method
    when 'POST' then array['INSERT']
    when 'PUT' then array['INSERT', 'UPDATE']
    when 'PATCH' then array['UPDATE']
    when 'DELETE' then array['DELETE']
  end;
  allowed text[];
begin
  if needed is null or name is null or name = 'rpc' then
    return;
  end if;
  relation := to_regclass(format('api.%I', name));
  if relation is null then
    return; -- PostgREST answers 404 itself
  end if;
  select coalesce(array_agg(verb order by position), '{}') into allowed
    from (values (1, 'GET', 'SELECT', 0), (2, 'HEAD', 'SELECT', 0), (3, 'POST', 'INSERT', 8),
                 (4, 'PATCH', 'UPDATE', 4), (5, 'DELETE', 'DELETE', 16))
           as methods (position, verb, privilege, updatable_bit)
   where has_table_privilege(relation, privilege)
     and pg_relation_is_updatable(relation, true) & updatable_bit = updatable_bit;
  if method = any (allowed) or (method = 'PUT' and allowed @> array['POST', 'PATCH']) then
    return;
  end if;
  raise sqlstate 'PGRST' using
    message = json_build_object(
      'code', 'PT405',
      'message', format('%s is read-only here: %s is not allowed; changes go through the API''s functions (POST /rpc/…)', name, method),
      'hint', 'GET / lists the functions you may call'
    )::text,
    detail = json_build_object(
      'status', 405,
      'headers', json_build_object('Allow', array_to_string(allowed, ', '))
    )::text;
end
$$;
grant execute on function postgrest_hooks.refuse_writes_to_views to anon, authenticated, player, service_role;

-- The JSON schema (OpenAPI 2.0's subset) of values of a type, as PostgREST sends them.
create function postgrest_hooks.json_schema(type_id oid) returns json
language plpgsql stable set search_path = ''
as $$
declare
  t pg_catalog.pg_type;
begin
  select * into t from pg_catalog.pg_type where oid = type_id;
  return case
    when t.oid is null then '{}'::json
    when t.typcategory = 'A' and t.typelem <> 0 then
      json_build_object('type', 'array', 'items', postgrest_hooks.json_schema(t.typelem))
    when t.typtype = 'd' then postgrest_hooks.json_schema(t.typbasetype)
    when t.typtype = 'c' then json_build_object(
      'type', 'object',
      'properties', (select json_object_agg(a.attname, postgrest_hooks.json_schema(a.atttypid) order by a.attnum)
                       from pg_catalog.pg_attribute a
                      where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped))
    when t.oid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) then
      json_build_object('type', 'integer', 'format', format_type(t.oid, null))
    when t.oid in ('numeric'::regtype, 'float4'::regtype, 'float8'::regtype) then
      json_build_object('type', 'number', 'format', format_type(t.oid, null))
    when t.oid = 'bool'::regtype then json_build_object('type', 'boolean')
    -- A JSON result is whatever the function builds: its comment says what.
    when t.oid in ('json'::regtype, 'jsonb'::regtype) then json_build_object('description', 'a JSON value')
    -- Everything else (text, uuid, timestamps, pgvector's vectors) is sent as its text.
    else json_build_object('type', 'string', 'format', format_type(t.oid, null))
  end;
end
$$;

-- A function's arguments (`mode` i) or result columns (`mode` t or o), in order.
create function postgrest_hooks.routine_args(routine oid, modes text[])
returns table (name text, type_id oid, required boolean)
language sql stable set search_path = ''
as $$
  select a.name, a.type_id,
         -- The last pronargdefaults inputs have defaults.
         row_number() over (order by a.position) <= p.pronargs - p.pronargdefaults
    from pg_catalog.pg_proc p,
         unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])))
           with ordinality as a (type_id, name, mode, position)
   where p.oid = routine and a.mode::text = any (modes)
   order by a.position
$$;

-- What a function answers: a list of rows for `setof`, one row for a record of OUT columns,
-- else the schema of its type.
create function postgrest_hooks.routine_result(routine oid) returns json
language sql stable set search_path = ''
as $$
  select case
    when p.prorettype = 'record'::regtype then
      (with columns as (
         select json_build_object(
                  'type', 'object',
                  'properties', json_object_agg(a.name, postgrest_hooks.json_schema(a.type_id))) as row_schema
           from postgrest_hooks.routine_args(p.oid, array['o', 't']) a)
       select case when p.proretset
                then json_build_object('type', 'array', 'items', row_schema)
                else row_schema end
         from columns)
    when p.proretset then
      json_build_object('type', 'array', 'items', postgrest_hooks.json_schema(p.prorettype))
    else postgrest_hooks.json_schema(p.prorettype)
  end
  from pg_catalog.pg_proc p where p.oid = routine
$$;

grant execute on function postgrest_hooks.json_schema, postgrest_hooks.routine_args,
  postgrest_hooks.routine_result to anon, authenticated, player, service_role;

-- The API's OpenAPI 2.0 document, served at `/` in place of PostgREST's own (db-root-spec),
-- which offers POST, PATCH and DELETE on every simple view whatever the caller may do, and
-- describes no function's result. This one shows the caller only what the caller may do:
-- the views it may read (and write, were any writable), the functions it may call (GET only
-- for those that change nothing), and what each function answers.
create function api.openapi() returns json
language sql stable set search_path = ''
as $$
  with relations as (
    select c.oid, c.relname as name, obj_description(c.oid, 'pg_class') as comment,
           has_table_privilege(c.oid, 'INSERT') and pg_relation_is_updatable(c.oid, true) & 8 = 8 as insertable,
           has_table_privilege(c.oid, 'UPDATE') and pg_relation_is_updatable(c.oid, true) & 4 = 4 as updatable,
           has_table_privilege(c.oid, 'DELETE') and pg_relation_is_updatable(c.oid, true) & 16 = 16 as deletable
      from pg_catalog.pg_class c
     where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'v', 'm', 'f', 'p')
       and has_table_privilege(c.oid, 'SELECT')
  ),
  columns as (
    select r.name as relation, a.attnum, a.attname as name,
           postgrest_hooks.json_schema(a.atttypid) as schema,
           col_description(r.oid, a.attnum) as comment
      from relations r join pg_catalog.pg_attribute a on a.attrelid = r.oid
     where a.attnum > 0 and not a.attisdropped
  ),
  routines as (
    select p.oid, p.proname as name, obj_description(p.oid, 'pg_proc') as comment,
           p.provolatile <> 'v' as reads_only
      from pg_catalog.pg_proc p
     where p.pronamespace = 'api'::regnamespace and p.prokind = 'f' and p.proname <> 'openapi'
       and has_function_privilege(p.oid, 'EXECUTE')
  ),
  relation_paths as (
    select '/' || r.name as path,
           json_strip_nulls(json_build_object(
             'get', json_build_object(
               'tags', json_build_array(r.name),
               'summary', r.comment,
               'parameters', (
                 select json_agg(parameter)
                   from (select json_build_object('name', c.name, 'in', 'query', 'required', false,
                                                  'type', 'string', 'description', 'a filter: eq.VALUE, lt.VALUE, in.(A,B), is.null, …') as parameter
                           from columns c where c.relation = r.name
                         union all
                         select json_build_object('name', p.name, 'in', 'query', 'required', false,
                                                  'type', p.type, 'description', p.description)
                           from (values ('select', 'string', 'the columns to return'),
                                        ('order', 'string', 'sort by: column.asc or column.desc'),
                                        ('limit', 'integer', 'at most this many rows'),
                                        ('offset', 'integer', 'skip this many rows'))
                                  as p (name, type, description)) as parameters),
               'responses', json_build_object(
                 '200', json_build_object(
                   'description', 'OK',
                   'schema', json_build_object('type', 'array',
                                               'items', json_build_object('$ref', '#/definitions/' || r.name))),
                 '206', json_build_object('description', 'Partial Content'))),
             'post', case when r.insertable then json_build_object(
               'tags', json_build_array(r.name), 'parameters', row_body,
               'responses', json_build_object('201', json_build_object('description', 'Created'))) end,
             'patch', case when r.updatable then json_build_object(
               'tags', json_build_array(r.name), 'parameters', row_body,
               'responses', json_build_object('204', json_build_object('description', 'No Content'))) end,
             'delete', case when r.deletable then json_build_object(
               'tags', json_build_array(r.name),
               'responses', json_build_object('204', json_build_object('description', 'No Content'))) end
           )) as item
      from relations r,
           lateral (select json_build_array(json_build_object(
                             'name', 'body', 'in', 'body', 'required', true,
                             'schema', json_build_object('$ref', '#/definitions/' || r.name)))
                      as row_body) as writes
  ),
  routine_paths as (
    select '/rpc/' || f.name as path,
           json_strip_nulls(json_build_object(
             'get', case when f.reads_only then json_build_object(
               'tags', json_build_array('(rpc) ' || f.name),
               'summary', f.comment,
               'parameters', coalesce((
                 select json_agg(json_build_object(
                          'name', a.name, 'in', 'query', 'required', a.required,
                          'type', coalesce(postgrest_hooks.json_schema(a.type_id) ->> 'type', 'string'),
                          'format', format_type(a.type_id, null)))
                   from postgrest_hooks.routine_args(f.oid, array['i', 'b', 'v']) a), '[]'),
               'responses', json_build_object('200', json_build_object(
                 'description', 'OK', 'schema', postgrest_hooks.routine_result(f.oid)))) end,
             'post', json_build_object(
               'tags', json_build_array('(rpc) ' || f.name),
               'summary', f.comment,
               'parameters', json_build_array(json_build_object(
                 'name', 'args', 'in', 'body', 'required', true,
                 'schema', json_build_object(
                   'type', 'object',
                   'required', coalesce((
                     select json_agg(a.name)
                       from postgrest_hooks.routine_args(f.oid, array['i', 'b', 'v']) a
                      where a.required), '[]'),
                   'properties', coalesce((
                     select json_object_agg(a.name, postgrest_hooks.json_schema(a.type_id))
                       from postgrest_hooks.routine_args(f.oid, array['i', 'b', 'v']) a), '{}')))),
               'responses', json_build_object('200', json_build_object(
                 'description', 'OK', 'schema', postgrest_hooks.routine_result(f.oid))))
           )) as item
      from routines f
  )
  select json_build_object(
    'swagger', '2.0',
    'info', json_build_object(
      'title', 'Cosound API',
      'description', obj_description('api'::regnamespace, 'pg_namespace'),
      'version', '1'),
    'consumes', json_build_array('application/json', 'application/vnd.pgrst.object+json', 'text/csv'),
    'produces', json_build_array('application/json', 'application/vnd.pgrst.object+json', 'text/csv'),
    'paths', (select json_object_agg(path, item order by path)
                from (select * from relation_paths union all select * from routine_paths) as paths),
    'definitions', coalesce((
      select json_object_agg(r.name, json_build_object(
               'type', 'object',
               'description', r.comment,
               'properties', (select json_object_agg(c.name,
                                       case when c.comment is null then c.schema
                                            else (c.schema::jsonb || jsonb_build_object('description', c.comment))::json end
                                       order by c.attnum)
                                from columns c where c.relation = r.name))
             order by r.name)
        from relations r), '{}')
  )
$$;
comment on function api.openapi is 'This API''s OpenAPI 2.0 document, as the caller may use it (also at GET /).';
grant execute on function api.openapi to anon, authenticated, player, service_role;

alter role authenticator set pgrst.db_root_spec = 'openapi';
-- No read returns more than 1000 rows; a client pages with limit and offset, or Range. The
-- bound is read from the database (as on Supabase, whose dashboard sets the same setting).
alter role authenticator set pgrst.db_max_rows = '1000';
notify pgrst, 'reload config';
notify pgrst, 'reload schema';
