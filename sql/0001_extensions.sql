-- pgvector, for the 5-dimensional embeddings and taste vectors, and the cosound extension,
-- which holds the rules that learn tastes and pick the mix (in Rust). Both live in the
-- `extensions` schema, as on Supabase, apart from the tables and the API.
create schema if not exists extensions;
create extension if not exists vector with schema extensions;
create extension if not exists cosound with schema extensions;
