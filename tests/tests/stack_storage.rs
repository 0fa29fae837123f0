//! SeaweedFS's inner servers beside the S3 port (filer +1, master +2, volume server +3, and
//! gRPC on each of those plus 10000) refuse whoever comes without the stack's keys: the
//! bucket's objects are reached through S3 with its access keys, or not at all.

use aws_sdk_s3::primitives::ByteStream;
use cosound_e2e::gateway::{bucket, s3_port, unique_seed};
use reqwest::Method;
use std::io::{Read, Write};
use std::time::Duration;

/// An unauthenticated request's status and body, or `None` when nothing answers.
async fn anonymous(method: Method, port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let response = reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{port}{path}"))
        .header("Accept", "application/json")
        // Both servers take a raw body of this type as a file's content.
        .header("Content-Type", "application/octet-stream")
        .body(body.to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

fn assert_refused(what: &str, answer: &Option<(u16, String)>) {
    if let Some((status, body)) = answer {
        assert!(*status >= 400, "{what} answered {status}: {body}");
    }
}

/// The object's body through S3, or `None` when it is not there.
async fn through_s3(key: &str) -> Option<Vec<u8>> {
    let (s3, bucket) = bucket();
    let object = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(object.body.collect().await.unwrap().into_bytes().to_vec())
}

#[tokio::test]
async fn the_filer_refuses_to_list_serve_write_or_delete() {
    let (s3, bucket) = bucket();
    let seed = unique_seed();
    let key = format!("storage-test/{seed}.txt");
    let content = format!("kept {seed}");
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(ByteStream::from(content.clone().into_bytes()))
        .send()
        .await
        .expect("S3 takes the object with the stack's keys");
    let filer = s3_port() + 1;
    let folder = format!("/buckets/{bucket}/storage-test/");

    let listed = anonymous(Method::GET, filer, &folder, "").await;
    assert_refused("listing the bucket's folder", &listed);
    let served = anonymous(Method::GET, filer, &format!("/buckets/{bucket}/{key}"), "").await;
    assert_refused("getting the object", &served);
    let planted = format!("storage-test/{seed}-planted.txt");
    let written = anonymous(
        Method::PUT,
        filer,
        &format!("/buckets/{bucket}/{planted}"),
        "planted",
    )
    .await;
    assert_refused("writing a file", &written);
    let deleted = anonymous(
        Method::DELETE,
        filer,
        &format!("/buckets/{bucket}/{key}"),
        "",
    )
    .await;
    assert_refused("deleting the object", &deleted);

    assert_eq!(through_s3(&key).await, Some(content.into_bytes()));
    assert_eq!(through_s3(&planted).await, None);
}

#[tokio::test]
async fn the_master_assigns_nothing() {
    let master = s3_port() + 2;
    let assigned = anonymous(Method::GET, master, "/dir/assign", "").await;
    assert_refused("assigning a file id", &assigned);
}

#[tokio::test]
async fn the_volume_server_takes_and_serves_nothing() {
    // A volume that holds the bucket's objects, from the server's status (which names no
    // object), so the write below fails only for want of a key.
    let (s3, bucket) = bucket();
    s3.put_object()
        .bucket(&bucket)
        .key(format!("storage-test/{}.txt", unique_seed()))
        .body(ByteStream::from_static(b"a volume for it"))
        .send()
        .await
        .unwrap();
    let volume = s3_port() + 3;
    let status = anonymous(Method::GET, volume, "/status", "").await;
    let id = status
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|status| status["Volumes"][0]["Id"].as_u64())
        .unwrap_or(1);
    // A needle key far beyond the server's own, and any cookie.
    let fid = format!("/{id},{:x}{:08x}", unique_seed(), 0x5eed_u32);
    let written = anonymous(Method::PUT, volume, &fid, "planted").await;
    assert_refused("writing to the volume server", &written);
    let read = anonymous(Method::GET, volume, &fid, "").await;
    assert_refused("reading from the volume server", &read);
}

/// gRPC without TLS: an HTTP/2 preface and empty SETTINGS frame, then the first bytes back.
fn cleartext_grpc(port: u16) -> Vec<u8> {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    if stream.write_all(&hello).is_err() {
        return Vec::new();
    }
    let mut reply = vec![0; 64];
    let read = stream.read(&mut reply).unwrap_or(0);
    reply.truncate(read);
    reply
}

#[test]
fn no_grpc_port_speaks_to_a_client_without_the_stacks_certificate() {
    for offset in 0..5 {
        let port = s3_port() + offset + 10000;
        let reply = cleartext_grpc(port);
        // An HTTP/2 server's first frame is its SETTINGS (type 4, the frame header's 4th byte).
        assert!(
            reply.len() < 9 || reply[3] != 4,
            "gRPC on {port} talks to anyone: {reply:?}"
        );
    }
}
