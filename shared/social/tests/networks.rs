//! Each network adapter against a local HTTP fake that checks the exact request the real API
//! requires (path with version, headers, auth, body) and answers with the real API's
//! payloads, errors included.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use scaliyo_domain::social::{Channel, ErrorCode, MediaKind};
use scaliyo_social::{LinkedIn, MetaGraph, SocialConfig};
use scaliyo_store::{MediaFile, Publication, PublishError, SocialNetwork};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn config(server: &MockServer) -> SocialConfig {
    SocialConfig {
        meta_base_url: server.uri(),
        linkedin_base_url: server.uri(),
        meta_version: "v25.0".into(),
        linkedin_version: "202605".into(),
        container_wait: Duration::from_secs(5),
        container_poll: Duration::from_millis(20),
        timeout: Duration::from_millis(700),
    }
}

fn meta(server: &MockServer) -> MetaGraph {
    let config = config(server);
    MetaGraph::new(&config, config.http_client())
}

fn linkedin(server: &MockServer) -> LinkedIn {
    let config = config(server);
    LinkedIn::new(&config, config.http_client())
}

fn publication(channel: Channel, target: &str, media: Vec<MediaFile>) -> Publication {
    Publication {
        channel,
        target: target.into(),
        access_token: "EAAB-page-token".into(),
        text: "Spring launch (50% off) #sale".into(),
        link: None,
        media,
    }
}

fn image(url: String) -> MediaFile {
    MediaFile {
        url,
        content_type: "image/png".into(),
        kind: MediaKind::Image,
    }
}

/// A form body as (name, value) pairs, sorted.
fn form(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

async fn requests_to(server: &MockServer, path_suffix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().ends_with(path_suffix))
        .collect()
}

#[tokio::test]
async fn a_facebook_page_post_with_a_link_goes_to_the_versioned_feed_as_a_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1050/feed"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1050_987654321" })))
        .expect(1)
        .mount(&server)
        .await;
    let mut post = publication(Channel::FacebookPage, "1050", vec![]);
    post.link = Some("https://t.scaliyo.example/l/AbCdEfGhIjKlMnOp".into());
    let published = meta(&server).publish(&post).await.unwrap();
    assert_eq!(published.remote_post_id, "1050_987654321");
    let sent = requests_to(&server, "/feed").await;
    assert_eq!(
        form(&sent[0]),
        pairs(&[
            ("message", "Spring launch (50% off) #sale"),
            ("link", "https://t.scaliyo.example/l/AbCdEfGhIjKlMnOp"),
            ("access_token", "EAAB-page-token"),
        ])
    );
    assert!(sent[0].url.query().is_none(), "no token in the URL");
}

#[tokio::test]
async fn facebook_photos_one_or_several() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1050/photos"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "5551", "post_id": "1050_777" })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1050/feed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1050_888" })))
        .mount(&server)
        .await;
    let one = publication(
        Channel::FacebookPage,
        "1050",
        vec![image("https://media.example/a.png?sig=1".into())],
    );
    assert_eq!(
        meta(&server).publish(&one).await.unwrap().remote_post_id,
        "1050_777"
    );
    let photos = requests_to(&server, "/photos").await;
    assert_eq!(
        form(&photos[0]),
        pairs(&[
            ("url", "https://media.example/a.png?sig=1"),
            ("caption", "Spring launch (50% off) #sale"),
            ("access_token", "EAAB-page-token"),
        ])
    );

    let two = publication(
        Channel::FacebookPage,
        "1050",
        vec![
            image("https://media.example/a.png".into()),
            image("https://media.example/b.png".into()),
        ],
    );
    assert_eq!(
        meta(&server).publish(&two).await.unwrap().remote_post_id,
        "1050_888"
    );
    let photos = requests_to(&server, "/photos").await;
    assert_eq!(
        form(&photos[2]),
        pairs(&[
            ("url", "https://media.example/b.png"),
            ("published", "false"),
            ("access_token", "EAAB-page-token"),
        ])
    );
    let feed = requests_to(&server, "/feed").await;
    assert_eq!(
        form(&feed[0]),
        pairs(&[
            ("message", "Spring launch (50% off) #sale"),
            ("attached_media[0]", r#"{"media_fbid":"5551"}"#),
            ("attached_media[1]", r#"{"media_fbid":"5551"}"#),
            ("access_token", "EAAB-page-token"),
        ])
    );
}

#[tokio::test]
async fn instagram_makes_a_container_waits_for_it_and_publishes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/17841400000000001/media"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "17890000000000042" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Processing at first, then ready.
    Mock::given(method("GET"))
        .and(path("/v25.0/17890000000000042"))
        .and(query_param("fields", "status_code,status"))
        .and(query_param("access_token", "EAAB-page-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "status_code": "IN_PROGRESS", "status": "In Progress: Media is still being processed.", "id": "17890000000000042" }),
        ))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/17890000000000042"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "status_code": "FINISHED", "id": "17890000000000042" })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/17841400000000001/media_publish"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "17920238422030506" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let post = publication(
        Channel::Instagram,
        "17841400000000001",
        vec![image("https://media.example/a.png?sig=1".into())],
    );
    let published = meta(&server).publish(&post).await.unwrap();
    assert_eq!(published.remote_post_id, "17920238422030506");
    assert_eq!(
        form(&requests_to(&server, "/media").await[0]),
        pairs(&[
            ("image_url", "https://media.example/a.png?sig=1"),
            ("caption", "Spring launch (50% off) #sale"),
            ("access_token", "EAAB-page-token"),
        ])
    );
    assert_eq!(
        form(&requests_to(&server, "/media_publish").await[0]),
        pairs(&[
            ("creation_id", "17890000000000042"),
            ("access_token", "EAAB-page-token"),
        ])
    );
}

#[tokio::test]
async fn an_instagram_container_in_error_is_invalid_media_and_nothing_is_published() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1784/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1789" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/1789"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "status_code": "ERROR", "status": "Error: 2207026", "id": "1789" }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1784/media_publish"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "x" })))
        .expect(0)
        .mount(&server)
        .await;
    let post = publication(
        Channel::Instagram,
        "1784",
        vec![image("https://media.example/a.png".into())],
    );
    let error = meta(&server).publish(&post).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidMedia);
}

#[tokio::test]
async fn graph_errors_come_back_read_with_the_usage_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1/feed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": { "message": "Error validating access token: Session has expired on Thursday, 26-Nov-26 10:00:00 PST. The current time is Friday, 27-Nov-26 01:00:00 PST.", "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AbCdEf" }
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/2/feed"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-business-use-case-usage", r#"{"2":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":12}]}"#)
                .set_body_json(json!({
                    "error": { "message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32, "fbtrace_id": "AbCdEf" }
                })),
        )
        .mount(&server)
        .await;
    let expired = meta(&server)
        .publish(&publication(Channel::FacebookPage, "1", vec![]))
        .await
        .unwrap_err();
    assert_eq!(expired.code(), ErrorCode::TokenExpired);
    assert!(expired.to_string().contains("Session has expired"));
    let limited = meta(&server)
        .publish(&publication(Channel::FacebookPage, "2", vec![]))
        .await
        .unwrap_err();
    assert_eq!(limited.code(), ErrorCode::RateLimited);
    assert_eq!(limited.usage().map(|u| u.percent), Some(100));
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(12 * 60)));
}

#[tokio::test]
async fn a_publish_call_that_times_out_is_unconfirmed_and_a_container_call_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1/feed"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({ "id": "1_2" })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/9/media"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({ "id": "c" })),
        )
        .mount(&server)
        .await;
    let feed = meta(&server)
        .publish(&publication(Channel::FacebookPage, "1", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(feed, PublishError::Unconfirmed(_)), "{feed:?}");
    let container = meta(&server)
        .publish(&publication(
            Channel::Instagram,
            "9",
            vec![image("https://media.example/a.png".into())],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(container, PublishError::Network(_)),
        "{container:?}"
    );
    // A port nobody listens on: the request never left.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = config(&server);
    config.meta_base_url = format!("http://127.0.0.1:{closed}");
    let refused = MetaGraph::new(&config, config.http_client())
        .publish(&publication(Channel::FacebookPage, "1", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(refused, PublishError::Network(_)), "{refused:?}");
}

#[tokio::test]
async fn an_unconfirmed_facebook_post_is_found_among_the_recent_posts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/1050/published_posts"))
        .and(query_param("since", "1795770000"))
        .and(query_param("access_token", "EAAB-page-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                { "id": "1050_1", "message": "Something else", "created_time": "2026-11-27T08:00:00+0000" },
                { "id": "1050_2", "message": "Spring launch (50% off) #sale", "created_time": "2026-11-27T08:01:00+0000" }
            ],
            "paging": {}
        })))
        .mount(&server)
        .await;
    let since = Utc.timestamp_opt(1_795_770_000, 0).unwrap();
    let found = meta(&server)
        .find_recent(&publication(Channel::FacebookPage, "1050", vec![]), since)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("1050_2"));
}

#[tokio::test]
async fn a_linkedin_image_post_uploads_through_the_images_api_then_posts() {
    let server = MockServer::start().await;
    let author = "urn:li:organization:5515715";
    Mock::given(method("GET"))
        .and(path("/media/a.png"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\x89PNG-bytes".to_vec()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/images"))
        .and(query_param("action", "initializeUpload"))
        .and(header("authorization", "Bearer AQV-linkedin-token"))
        .and(header("linkedin-version", "202605"))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .and(body_json(
            json!({ "initializeUploadRequest": { "owner": author } }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": {
                "uploadUrlExpiresAt": 1_796_000_000_000_i64,
                "uploadUrl": format!("{}/dms-uploads/sp/v2/D4E10AQ/uploaded-image/0", server.uri()),
                "image": "urn:li:image:C4E10AQFoyyAjHPMQuQ"
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/dms-uploads/sp/v2/D4E10AQ/uploaded-image/0"))
        .and(header("authorization", "Bearer AQV-linkedin-token"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer AQV-linkedin-token"))
        .and(header("linkedin-version", "202605"))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .and(body_json(json!({
            "author": author,
            "commentary": "Spring launch \\(50% off\\) \\#sale",
            "visibility": "PUBLIC",
            "distribution": { "feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": [] },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
            "content": { "media": { "id": "urn:li:image:C4E10AQFoyyAjHPMQuQ" } }
        })))
        .respond_with(
            ResponseTemplate::new(201).insert_header("x-restli-id", "urn:li:share:6844785523593134080"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut post = publication(
        Channel::LinkedinOrg,
        author,
        vec![image(format!("{}/media/a.png", server.uri()))],
    );
    post.access_token = "AQV-linkedin-token".into();
    let published = linkedin(&server).publish(&post).await.unwrap();
    assert_eq!(published.remote_post_id, "urn:li:share:6844785523593134080");
    let upload = requests_to(&server, "/uploaded-image/0").await;
    assert_eq!(upload[0].body, b"\x89PNG-bytes");
}

#[tokio::test]
async fn linkedin_errors_are_read_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer throttled"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "90")
                .set_body_json(json!({ "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.", "status": 429 })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "The token used in the request has been revoked by the user", "status": 401
        })))
        .mount(&server)
        .await;
    let mut post = publication(Channel::LinkedinMember, "urn:li:person:8675309", vec![]);
    post.access_token = "throttled".into();
    let limited = linkedin(&server).publish(&post).await.unwrap_err();
    assert_eq!(limited.code(), ErrorCode::RateLimited);
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(90)));
    post.access_token = "revoked".into();
    let revoked = linkedin(&server).publish(&post).await.unwrap_err();
    assert_eq!(revoked.code(), ErrorCode::TokenExpired);
    assert!(revoked.code().needs_reconnect());
}

#[tokio::test]
async fn an_unconfirmed_linkedin_post_is_found_by_the_author_finder() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/posts"))
        .and(query_param("q", "author"))
        .and(query_param("author", "urn:li:person:8675309"))
        .and(header("x-restli-method", "FINDER"))
        .and(header("linkedin-version", "202605"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                { "id": "urn:li:share:1", "commentary": "Older", "createdAt": 1_795_000_000_000_i64 },
                { "id": "urn:li:share:2", "commentary": "Spring launch \\(50% off\\) \\#sale", "createdAt": 1_795_770_100_000_i64 }
            ],
            "paging": { "start": 0, "count": 20 }
        })))
        .mount(&server)
        .await;
    let post = publication(Channel::LinkedinMember, "urn:li:person:8675309", vec![]);
    let since = Utc.timestamp_opt(1_795_770_000, 0).unwrap();
    let found = linkedin(&server).find_recent(&post, since).await.unwrap();
    assert_eq!(found.as_deref(), Some("urn:li:share:2"));
    let value: Value = serde_json::to_value(found).unwrap();
    assert_eq!(value, json!("urn:li:share:2"));
}
