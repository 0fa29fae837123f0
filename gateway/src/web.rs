//! The web app: the listener's pages and the staff console, plain HTML, CSS and JavaScript
//! modules read from a folder (a site can restyle them without a rebuild; nothing to build),
//! and `/config.json`, which tells them where the API is (by default the gateway's own
//! `/rest/v1`). Each of these answers carries a content security policy: the pages run only
//! their own scripts and send only to their own API (and to Supabase Auth when configured).

use crate::config::Config;
use crate::state::AppState;
use anyhow::{Context, Result};
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Url;
use serde_json::{json, Value};
use std::path::PathBuf;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// What the pages need to know, fixed at start.
pub struct Site {
    dir: PathBuf,
    settings: Value,
    policy: HeaderValue,
}

impl Site {
    pub fn new(config: &Config) -> Result<Self> {
        let mut connect = vec!["'self'".to_string()];
        for url in std::iter::once(&config.public_api_url).chain(&config.public_auth_url) {
            if let Some(origin) = origin(url)? {
                connect.push(origin);
            }
        }
        let policy = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src {}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            connect.join(" ")
        );
        Ok(Site {
            dir: config.web_dir.clone(),
            settings: json!({
                "api_url": config.public_api_url.trim_end_matches('/'),
                "auth_url": config.public_auth_url.as_deref().map(|url| url.trim_end_matches('/')),
                "anon_key": config.public_anon_key,
            }),
            policy: HeaderValue::from_str(&policy)
                .context("the pages' URLs are not header-safe")?,
        })
    }
}

/// `scheme://host:port` of a URL the pages may send to; none for a path on this origin.
fn origin(url: &str) -> Result<Option<String>> {
    if url.starts_with('/') {
        return Ok(None);
    }
    let parsed = Url::parse(url).with_context(|| format!("{url} is neither a URL nor a path"))?;
    Ok(Some(parsed.origin().ascii_serialization()))
}

/// `/` (the app; `/?code=…` is a check-in link), `/app/*` (its files) and `/config.json`.
pub fn routes(site: &Site) -> Router<AppState> {
    let settings = site.settings.clone();
    Router::new()
        .route_service("/", ServeFile::new(site.dir.join("index.html")))
        .nest_service("/app", ServeDir::new(site.dir.join("app")))
        .route("/config.json", get(move || async move { Json(settings) }))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            site.policy.clone(),
        ))
        // Revalidated on each load (ServeDir answers 304 when unchanged), so an edit shows.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}
