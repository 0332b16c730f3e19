//! The `Blobs` conformance suite: `LocalBlobs` (served by the local server's blob route) and
//! `S3Blobs` (on moto) behave alike, presigned URLs included.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use scaliyo_store::{BlobError, Blobs};

/// A private bucket whose objects are not checked against their type (the schema's four are:
/// `upload_check`), so the suite can store any bytes.
pub const BUCKET: &str = "imports";

pub async fn objects_are_put_read_listed_and_deleted(blobs: Arc<dyn Blobs>) {
    blobs
        .put(
            BUCKET,
            "u1/a.txt",
            Bytes::from_static(b"alpha"),
            Some("text/plain"),
        )
        .await
        .unwrap();
    blobs
        .put(BUCKET, "u1/sub/b.txt", Bytes::from_static(b"beta"), None)
        .await
        .unwrap();
    blobs
        .put(BUCKET, "u2/c.txt", Bytes::from_static(b"gamma"), None)
        .await
        .unwrap();
    assert_eq!(
        blobs.get(BUCKET, "u1/a.txt").await.unwrap(),
        Some(Bytes::from_static(b"alpha"))
    );
    let head = blobs.head(BUCKET, "u1/a.txt").await.unwrap().unwrap();
    assert_eq!(head.size, 5);
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    let listed: Vec<String> = blobs
        .list(BUCKET, "u1/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        listed,
        vec!["u1/a.txt".to_owned(), "u1/sub/b.txt".to_owned()]
    );
    blobs.delete(BUCKET, "u1/a.txt").await.unwrap();
    blobs.delete(BUCKET, "u1/a.txt").await.unwrap();
    assert_eq!(blobs.get(BUCKET, "u1/a.txt").await.unwrap(), None);
    assert_eq!(blobs.head(BUCKET, "u1/a.txt").await.unwrap(), None);
}

pub async fn a_conditional_create_refuses_an_existing_key(blobs: Arc<dyn Blobs>) {
    blobs
        .create(BUCKET, "once/key", Bytes::from_static(b"first"), None)
        .await
        .unwrap();
    let again = blobs
        .create(BUCKET, "once/key", Bytes::from_static(b"second"), None)
        .await;
    assert!(matches!(again, Err(BlobError::AlreadyExists)), "{again:?}");
    assert_eq!(
        blobs.get(BUCKET, "once/key").await.unwrap(),
        Some(Bytes::from_static(b"first"))
    );
}

pub async fn a_large_object_streams_back_intact(blobs: Arc<dyn Blobs>) {
    use tokio::io::AsyncReadExt;
    let body: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    blobs
        .put(BUCKET, "big/file.bin", Bytes::from(body.clone()), None)
        .await
        .unwrap();
    let mut reader = blobs.open(BUCKET, "big/file.bin").await.unwrap().unwrap();
    let mut read = Vec::new();
    reader.read_to_end(&mut read).await.unwrap();
    assert_eq!(read, body);
    assert!(
        blobs
            .open(BUCKET, "big/missing.bin")
            .await
            .unwrap()
            .is_none()
    );
}

/// 20 MiB in 1 MiB chunks: several multipart parts on S3; a failing stream leaves nothing.
pub async fn a_streamed_put_writes_the_whole_object_or_nothing(blobs: Arc<dyn Blobs>) {
    use futures::StreamExt;
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 253) as u8).collect();
    let chunks: Vec<Result<Bytes, BlobError>> =
        (0..20).map(|_| Ok(Bytes::from(chunk.clone()))).collect();
    blobs
        .put_stream(
            BUCKET,
            "streamed/report.csv",
            Box::pin(futures::stream::iter(chunks)),
            Some("text/csv"),
        )
        .await
        .unwrap();
    let meta = blobs
        .head(BUCKET, "streamed/report.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.size, 20 * 1024 * 1024);
    assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
    let read = blobs
        .get(BUCKET, "streamed/report.csv")
        .await
        .unwrap()
        .unwrap();
    assert!(read.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
    // A small body is one request.
    blobs
        .put_stream(
            BUCKET,
            "streamed/small.csv",
            Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(
                b"a,b\n",
            ))])),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        blobs.get(BUCKET, "streamed/small.csv").await.unwrap(),
        Some(Bytes::from_static(b"a,b\n"))
    );
    // The producer fails after 9 MiB (past one S3 part): no object appears.
    let failing = futures::stream::iter(0..10).map(move |i| {
        if i < 9 {
            Ok(Bytes::from(vec![b'x'; 1024 * 1024]))
        } else {
            Err(BlobError::Unavailable("the producer stopped".into()))
        }
    });
    let result = blobs
        .put_stream(BUCKET, "streamed/broken.csv", Box::pin(failing), None)
        .await;
    assert!(
        matches!(result, Err(BlobError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        blobs
            .head(BUCKET, "streamed/broken.csv")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn unsafe_keys_and_unknown_buckets_are_refused(blobs: Arc<dyn Blobs>) {
    for key in ["../escape", "/abs", "a//b", "a/./b", ""] {
        assert!(
            matches!(blobs.get(BUCKET, key).await, Err(BlobError::Invalid(_))),
            "{key:?}"
        );
    }
    assert!(matches!(
        blobs.get("no-such-bucket", "k").await,
        Err(BlobError::NoSuchBucket(_))
    ));
}

pub async fn presigned_urls_upload_and_download(blobs: Arc<dyn Blobs>) {
    let http = reqwest::Client::new();
    let put = blobs
        .presign_put(
            BUCKET,
            "u9/upload.csv",
            "text/csv",
            Some(22),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    assert_eq!(put.method, "PUT");
    let uploaded = http
        .put(&put.url)
        .header("content-type", "text/csv")
        .body("email\nada@example.com\n")
        .send()
        .await
        .unwrap();
    assert!(
        uploaded.status().is_success(),
        "upload: {}",
        uploaded.status()
    );
    assert_eq!(
        blobs.get(BUCKET, "u9/upload.csv").await.unwrap(),
        Some(Bytes::from_static(b"email\nada@example.com\n"))
    );

    let get = blobs
        .presign_get(BUCKET, "u9/upload.csv", Duration::from_secs(300))
        .await
        .unwrap();
    let downloaded = http.get(&get.url).send().await.unwrap();
    assert!(downloaded.status().is_success());
    assert_eq!(downloaded.text().await.unwrap(), "email\nada@example.com\n");
}

/// A URL signed for one key does not open another — an object that exists, so that only the
/// signature check can refuse it (a missing object would be a 404 anyway). Run against the
/// local store (which checks its own signatures) and real S3; moto does not check presigned
/// signatures at all, so against it the test would prove nothing.
pub async fn a_tampered_presigned_url_is_refused(blobs: Arc<dyn Blobs>) {
    let http = reqwest::Client::new();
    for (key, body) in [("u9/mine.csv", "mine"), ("u9/other.csv", "secret")] {
        blobs
            .put(BUCKET, key, Bytes::from_static(body.as_bytes()), None)
            .await
            .unwrap();
    }
    let get = blobs
        .presign_get(BUCKET, "u9/mine.csv", Duration::from_secs(300))
        .await
        .unwrap();
    let tampered = get.url.replace("mine.csv", "other.csv");
    assert_ne!(tampered, get.url);
    let refused = http.get(&tampered).send().await.unwrap();
    assert!(
        [401, 403].contains(&refused.status().as_u16()),
        "a tampered URL: {}",
        refused.status()
    );
    assert_ne!(refused.text().await.unwrap_or_default(), "secret");
}

#[macro_export]
macro_rules! blob_conformance_tests {
    ($backend:ident) => {
        $crate::blob_conformance_tests!(@each $backend,
            objects_are_put_read_listed_and_deleted,
            a_conditional_create_refuses_an_existing_key,
            a_large_object_streams_back_intact,
            a_streamed_put_writes_the_whole_object_or_nothing,
            unsafe_keys_and_unknown_buckets_are_refused,
            presigned_urls_upload_and_download
        );
    };
    (@each $backend:ident, $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(blobs) = $backend().await {
                    $crate::blob_conformance::$name(blobs).await;
                }
            }
        )+
    };
}
