//! `POST /songs?title=…&type=soundscape|instrumental`, the audio file as the request body:
//! an admin adds a sound to the catalogue.
//!
//! The steps, each refusing with its own status: the admin role (in the database), the
//! parameters, the size (413), then the body ([`receive`]), never held whole in memory, which
//! goes to the bucket in parts as it arrives ([`store`]) while the audio is decoded, measured
//! and embedded from it ([`audio`]) — then the duplicate check (409), the audio's verdict
//! (415/422), the last parts' (503), and the song row. A multipart upload is completed only once the audio passed, a
//! small file's single PUT is deleted when refused, and the object goes again when its row
//! cannot be written: no failure leaves a row or an object.

pub mod audio;
pub mod receive;
pub mod store;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use cosound_ml::model::Model;
use cosound_rules::recommend::SongType;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;

#[derive(Deserialize)]
pub struct SongParams {
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<SongParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_admin(&state, caller).await?;
    let title = params.title.as_deref().map(str::trim).unwrap_or_default();
    if !(1..=200).contains(&title.chars().count()) {
        return Err(ApiError::bad_request(
            "invalid_title",
            "give the song a title of 1 to 200 characters: POST /songs?title=…&type=…",
        ));
    }
    let kind = params.kind.as_deref().unwrap_or_default();
    if SongType::parse(kind).is_none() {
        return Err(ApiError::bad_request(
            "invalid_type",
            "type must be soundscape (a looped layer) or instrumental",
        ));
    }
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > state.max_upload_bytes) {
        return Err(receive::too_large(state.max_upload_bytes));
    }

    // The body goes to the bucket and through the analysis (CPU, on blocking threads) while
    // it arrives, so both are done soon after its last byte. Every refusal below discards
    // what the transfer put.
    let (parts, received) = tokio::sync::mpsc::channel(1);
    let mut transfer = store::Transfer::start(&state.s3, &state.bucket, received, |head| {
        let container = audio::container(head);
        store::Object {
            key: format!("songs/{}.{}", uuid::Uuid::new_v4(), container.extension),
            content_type: container.content_type,
        }
    });
    let (chunks, body_chunks) = receive::chunks();
    let max_seconds = state.max_upload_minutes * 60;
    let analysis = tokio::task::spawn_blocking(move || audio::analyse(body_chunks, max_seconds));
    let received = match receive::receive(body, state.max_upload_bytes, parts, chunks).await {
        Ok(received) => received,
        Err(refusal) => {
            transfer.discard().await;
            return Err(refusal);
        }
    };
    match song_with_content(&state, &received.sha256).await {
        Ok(None) => {}
        Ok(Some(id)) => {
            transfer.discard().await;
            return Err(duplicate(id));
        }
        Err(error) => {
            transfer.discard().await;
            return Err(error);
        }
    }
    let (analysis, stored) = tokio::join!(analysis, transfer.uploaded());
    let analysis = analysis.unwrap_or_else(|error| {
        tracing::error!(%error, "the audio analysis panicked");
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "analysis_failed",
            "the audio analysis failed",
        ))
    });
    let (analysis, object) = match (analysis, stored) {
        (Ok(analysis), Ok(object)) => (analysis, object),
        // A file that is not audio is the client's to fix, whatever the bucket said.
        (Err(refusal), _) | (Ok(_), Err(refusal)) => {
            transfer.discard().await;
            return Err(refusal);
        }
    };
    match song_with_audio(&state, &analysis.audio_sha256).await {
        Ok(None) => {}
        Ok(Some(id)) => {
            transfer.discard().await;
            return Err(same_sound(id));
        }
        Err(error) => {
            transfer.discard().await;
            return Err(error);
        }
    }
    transfer.keep().await?;

    let byte_size = received.size as i64;
    let song = NewSong {
        title,
        kind,
        object_key: &object.key,
        analysis: &analysis,
        content_type: object.content_type,
        byte_size,
        sha256: &received.sha256,
    };
    let inserted = insert_song(&state, &song).await;
    let id = match inserted {
        Ok(id) => id,
        Err(error) => {
            store::delete(&state.s3, &state.bucket, &object.key).await;
            return Err(error);
        }
    };
    let object_key = &object.key;
    tracing::info!(id, title, kind, object_key, byte_size, "song uploaded");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "title": title,
            "type": kind,
            "object_key": object_key,
            "duration_ms": analysis.duration_ms,
            "loudness_gain_db": analysis.loudness_gain_db,
            "embedding": analysis.embedding,
            "fits_no_class": cosound_ml::fits_no_class(&analysis.embedding),
            "embedding_model": Model::default_id(),
            "byte_size": byte_size,
            "content_sha256": received.sha256,
            "content_type": object.content_type,
        })),
    ))
}

pub async fn require_admin(state: &AppState, caller: Caller) -> ApiResult<()> {
    let uid = caller.user("upload songs")?;
    let client = state.db.get().await?;
    let row = client
        .query_one("select cosound.has_role('admin', $1)", &[&uid])
        .await?;
    if row.get::<_, Option<bool>>(0) == Some(true) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin may upload songs"))
    }
}

fn duplicate(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "already_uploaded",
        format!("this file is already song {id}"),
    )
    .with_song(id)
}

fn same_sound(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "already_uploaded",
        format!("this sound is already song {id}, in another file"),
    )
    .with_song(id)
}

async fn song_with_content(state: &AppState, sha256: &str) -> ApiResult<Option<i64>> {
    song_where(state, "content_sha256", sha256).await
}

async fn song_with_audio(state: &AppState, audio_sha256: &str) -> ApiResult<Option<i64>> {
    song_where(state, "audio_sha256", audio_sha256).await
}

/// The song whose `column` (one of the two fingerprints) is `sha256`.
async fn song_where(state: &AppState, column: &str, sha256: &str) -> ApiResult<Option<i64>> {
    let client = state.db.get().await?;
    Ok(client
        .query_opt(
            &format!("select id from cosound.songs where {column} = $1"),
            &[&sha256],
        )
        .await?
        .map(|row| row.get(0)))
}

struct NewSong<'a> {
    title: &'a str,
    kind: &'a str,
    object_key: &'a str,
    analysis: &'a audio::Analysis,
    content_type: &'a str,
    byte_size: i64,
    sha256: &'a str,
}

async fn insert_song(state: &AppState, song: &NewSong<'_>) -> ApiResult<i64> {
    let embedding = format!(
        "[{}]",
        song.analysis
            .embedding
            .iter()
            .map(f32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let client = state.db.get().await?;
    let inserted = client
        .query_one(
            "insert into cosound.songs (title, type, object_key, duration_ms, loudness_gain_db,
                                        embedding, byte_size, content_sha256, content_type,
                                        audio_sha256, embedding_model, fits_no_class)
             values ($1, $2::text::cosound.song_type, $3, $4, $5,
                     $6::text::extensions.vector, $7, $8, $9, $10, $11, $12)
             returning id",
            &[
                &song.title,
                &song.kind,
                &song.object_key,
                &song.analysis.duration_ms,
                &song.analysis.loudness_gain_db,
                &embedding,
                &song.byte_size,
                &song.sha256,
                &song.content_type,
                &song.analysis.audio_sha256,
                &Model::default_id(),
                &cosound_ml::fits_no_class(&song.analysis.embedding),
            ],
        )
        .await;
    let error = match inserted {
        Ok(row) => return Ok(row.get(0)),
        Err(error) => error,
    };
    let Some(db_error) = error.as_db_error() else {
        return Err(error.into());
    };
    if *db_error.code() == SqlState::UNIQUE_VIOLATION {
        // The same file or sound, uploaded at the same moment by someone else.
        if let Some(id) = song_with_content(state, song.sha256).await? {
            return Err(duplicate(id));
        }
        if let Some(id) = song_with_audio(state, &song.analysis.audio_sha256).await? {
            return Err(same_sound(id));
        }
    }
    // Data exceptions (22…) and integrity violations (23…): the song breaks a rule of the
    // table, whose message says which.
    if matches!(&db_error.code().code()[..2], "22" | "23") {
        return Err(ApiError::bad_request("invalid_song", db_error.message()));
    }
    Err(error.into())
}
