//! A song row and its object come and go together: when the database is lost while the
//! row is written, or the analysis refuses a file the bucket already took (the two run at
//! the same time), the object is deleted. Alone in their test binary and one at a time, so
//! no other upload runs while they compare the bucket's contents.

use cosound_e2e::gateway::{config, object_keys, unique_seed, upload_to, wav, OwnGateway};
use cosound_e2e::{new_user, superuser};
use tokio::sync::Mutex;

static BUCKET: Mutex<()> = Mutex::const_new(());

#[tokio::test]
async fn a_refused_file_leaves_no_object() {
    let _alone = BUCKET.lock().await;
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let gateway = OwnGateway::start(&config(&[])).await;
    let objects_before = object_keys("songs/").await;
    let query = format!("title=Refused {}&type=soundscape", unique_seed());
    let text = b"hello, this is not audio at all".repeat(100_000);
    // Over one 8 MiB part: the bucket has taken parts of a multipart upload by the time the
    // analysis refuses it, and the upload must be aborted, not completed.
    let long_text = b"hello, this is not audio at all".repeat(300_000);
    let truncated = wav(30.0, 44_100, unique_seed())[..400_000].to_vec();
    for (body, status) in [(text, 415), (long_text, 415), (truncated, 415)] {
        let (got, answer) = upload_to(&gateway.url, Some(&admin), &query, body).await;
        assert_eq!(got, status, "{answer}");
    }
    assert_eq!(
        object_keys("songs/").await,
        objects_before,
        "no orphan object"
    );
}

#[tokio::test]
async fn a_database_lost_at_the_insert_leaves_no_object() {
    let _alone = BUCKET.lock().await;
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let gateway = OwnGateway::start(&config(&[])).await;
    let title = format!("Lost database {}", unique_seed());
    let objects_before = object_keys("songs/").await;

    // Hold the insert at a lock, then cut the gateway's connection while it waits.
    let locker = superuser().await;
    locker
        .batch_execute("begin; lock table cosound.songs in exclusive mode")
        .await
        .unwrap();
    let upload = tokio::spawn({
        let (url, query) = (
            gateway.url.clone(),
            format!("title={title}&type=soundscape"),
        );
        let audio = wav(1.0, 22_050, unique_seed());
        async move { upload_to(&url, Some(&admin), &query, audio).await }
    });
    let mut terminated = false;
    for _ in 0..300 {
        let rows = db
            .query(
                "select pg_terminate_backend(pid) from pg_stat_activity
                  where usename = 'cosound_gateway' and wait_event_type = 'Lock'
                    and query like 'insert into cosound.songs%'",
                &[],
            )
            .await
            .unwrap();
        if !rows.is_empty() {
            terminated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    locker.batch_execute("rollback").await.unwrap();
    assert!(terminated, "the insert never waited at the lock");
    let (status, body) = upload.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "database_unavailable");
    let rows: i64 = db
        .query_one(
            "select count(*) from cosound.songs where title = $1",
            &[&title],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert_eq!(
        object_keys("songs/").await,
        objects_before,
        "no orphan object"
    );
}
