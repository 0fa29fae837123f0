//! `/rest/v1/…`: PostgREST at the gateway's address, as a Supabase project serves it, so the
//! web app and Supabase's clients reach the whole API at one origin. The proxy is a kept
//! crate's; PostgREST still checks every token itself.

use crate::state::AppState;
use axum::Router;
use axum_reverse_proxy::ReverseProxy;

pub fn routes(postgrest_url: &str) -> Router<AppState> {
    ReverseProxy::new("/rest/v1", postgrest_url).into()
}
