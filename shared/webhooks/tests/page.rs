//! The page fetcher against a real local web server: the page is read and decoded, redirects
//! are followed with every hop checked again, and private addresses, other content types,
//! error answers, slow and huge pages are bounded or refused.

mod common;

use common::FixedAnswer;

use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::{PageError, PageFetcher};
use scaliyo_webhooks::HttpPageFetcher;
use wiremock::matchers::{headers, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn local() -> HttpPageFetcher {
    HttpPageFetcher::new().allowing_private()
}

#[tokio::test]
async fn a_page_is_read_in_its_charset_after_its_redirects() {
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/home"))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/home"))
        // wiremock reads a comma-separated header as its values.
        .and(headers(
            "accept",
            vec![
                "text/html",
                "application/xhtml+xml;q=0.9",
                "text/plain;q=0.8",
            ],
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=iso-8859-1")
                .set_body_bytes(b"<title>Caf\xe9 Acme</title>".to_vec()),
        )
        .expect(1)
        .mount(&site)
        .await;
    let page = local().fetch(&format!("{}/", site.uri())).await.unwrap();
    assert_eq!(page.url, format!("{}/home", site.uri()));
    assert_eq!(page.text, "<title>Café Acme</title>");
    assert!(!page.truncated);
}

#[tokio::test]
async fn private_addresses_are_refused_in_production_before_any_request() {
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("secret"))
        .expect(0)
        .mount(&site)
        .await;
    let production = HttpPageFetcher::new();
    for url in [
        site.uri(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://localhost/".to_owned(),
        "http://user:pw@acme.com/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let error = production.fetch(&url).await.unwrap_err();
        assert!(matches!(error, PageError::Refused(_)), "{url}: {error:?}");
    }
    // A public-looking name that resolves inside is refused after resolution.
    let inside = production.with_resolver(Arc::new(FixedAnswer("10.1.2.3".parse().unwrap())));
    let error = inside
        .fetch("https://www.acme-robotics.example/")
        .await
        .unwrap_err();
    assert!(matches!(error, PageError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn every_redirect_hop_is_checked_again() {
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/to-file"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "file:///etc/passwd"))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&site)
        .await;
    let error = local()
        .fetch(&format!("{}/to-file", site.uri()))
        .await
        .unwrap_err();
    assert!(matches!(error, PageError::Refused(_)), "{error:?}");
    let error = local()
        .fetch(&format!("{}/loop", site.uri()))
        .await
        .unwrap_err();
    assert!(matches!(error, PageError::Unreachable(_)), "{error:?}");
    let hops = site.received_requests().await.unwrap_or_default();
    assert_eq!(hops.len(), 1 + 1 + scaliyo_webhooks::MAX_REDIRECTS);
}

#[tokio::test]
async fn other_content_errors_slow_and_huge_pages_are_bounded() {
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/logo.png"))
        .respond_with(ResponseTemplate::new(200).insert_header("content-type", "image/png"))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("a".repeat(10_000)),
        )
        .mount(&site)
        .await;
    let fetch = |p: &str| {
        let url = format!("{}{p}", site.uri());
        async move {
            local()
                .with_limits(Duration::from_millis(500), 1_000)
                .fetch(&url)
                .await
        }
    };
    assert_eq!(
        fetch("/logo.png").await.unwrap_err(),
        PageError::NotAPage("image/png".into())
    );
    assert_eq!(fetch("/gone").await.unwrap_err(), PageError::Status(404));
    assert!(matches!(
        fetch("/slow").await.unwrap_err(),
        PageError::Unreachable(_)
    ));
    let huge = fetch("/huge").await.unwrap();
    assert!(huge.truncated);
    assert_eq!(huge.text.len(), 1_000);
}
