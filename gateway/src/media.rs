//! `GET /media/{song_id}`: the audio of a song, streamed from the bucket through the gateway
//! (so the bucket stays private and a player needs one address), with `Range` passed to S3
//! so a player can resume a download. A player gets only the songs of its queue or its
//! library; an admin gets any.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::PathParams;
use crate::state::AppState;
use crate::upload::store::unavailable;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use tokio_util::io::ReaderStream;

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(song_id): PathParams<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let client = state.db.get().await?;
    let song = client
        .query_opt(
            "select object_key, content_type from cosound.songs where id = $1",
            &[&song_id],
        )
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no song with id {song_id}")))?;
    let allowed: Option<bool> = match caller {
        Caller::Player(player_id) => client
            .query_one(
                "select exists (select from cosound.player_queue
                                 where player_id = $1 and song_id = $2)
                     or exists (select from cosound.player_library
                                 where player_id = $1 and song_id = $2)",
                &[&player_id, &song_id],
            )
            .await?
            .get(0),
        Caller::User(uid) => client
            .query_one("select cosound.has_role('admin', $1)", &[&uid])
            .await?
            .get(0),
    };
    drop(client);
    if allowed != Some(true) {
        return Err(ApiError::forbidden(format!(
            "song {song_id} is neither in this player's queue nor in its library"
        )));
    }
    let object_key: String = song.get(0);
    let content_type: Option<String> = song.get(1);

    let mut request = state.s3.get_object().bucket(&state.bucket).key(&object_key);
    if let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        request = request.range(range);
    }
    let object = match request.send().await {
        Ok(object) => object,
        Err(SdkError::ServiceError(error)) if error.raw().status().as_u16() == 416 => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the requested range is outside song {song_id}'s file"),
            ));
        }
        Err(error) => return Err(unavailable("S3 get", DisplayErrorContext(error))),
    };

    let status = if object.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_TYPE,
            content_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        );
    let optional = [
        (
            header::CONTENT_LENGTH,
            object.content_length().map(|n| n.to_string()),
        ),
        (
            header::CONTENT_RANGE,
            object.content_range().map(str::to_string),
        ),
        (header::ETAG, object.e_tag().map(str::to_string)),
    ];
    for (name, value) in optional {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response = response.header(name, value);
        }
    }
    let body = Body::from_stream(ReaderStream::new(object.body.into_async_read()));
    Ok(response.body(body).expect("valid response headers"))
}
