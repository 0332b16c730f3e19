//! The transport against a real local HTTP receiver: the exact request goes out; private
//! destinations are refused unless local development allows them; redirects are not followed.

mod common;

use common::FixedAnswer;

use scaliyo_store::{TransportError, WebhookRequest, WebhookTransport};
use scaliyo_webhooks::HttpWebhookTransport;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request(url: String) -> WebhookRequest {
    WebhookRequest {
        url,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("scaliyo-signature".into(), "t=1,v1=ab".into()),
        ],
        body: br#"{"id":"evt_1"}"#.to_vec(),
    }
}

#[tokio::test]
async fn a_private_receiver_is_refused_in_production_and_reached_in_local_development() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/scaliyo"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"id":"evt_1"}"#))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&receiver)
        .await;
    let url = format!("{}/hooks/scaliyo", receiver.uri());
    let refused = HttpWebhookTransport::new()
        .post(&request(url.clone()))
        .await
        .unwrap_err();
    assert!(matches!(refused, TransportError::Refused(_)), "{refused:?}");
    let https_to_loopback = HttpWebhookTransport::new()
        .post(&request(url.replace("http://", "https://")))
        .await
        .unwrap_err();
    assert!(
        matches!(&https_to_loopback, TransportError::Refused(reason) if reason.contains("127.0.0.1")),
        "{https_to_loopback:?}"
    );
    let local = HttpWebhookTransport::new().allowing_private();
    let response = local.post(&request(url)).await.unwrap();
    assert_eq!(response.status, 204);
    let sent = receiver.received_requests().await.unwrap_or_default();
    assert_eq!(sent[0].headers["scaliyo-signature"], "t=1,v1=ab");
}

#[tokio::test]
async fn a_redirect_is_the_receivers_answer_not_followed() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://169.254.169.254/latest"),
        )
        .mount(&receiver)
        .await;
    let response = HttpWebhookTransport::new()
        .allowing_private()
        .post(&request(format!("{}/in", receiver.uri())))
        .await
        .unwrap();
    assert_eq!(response.status, 307);
}

#[tokio::test]
async fn a_name_that_resolves_inside_is_refused() {
    // `localhost.` style names are refused before DNS; a public-looking name that resolves to
    // loopback is refused after it.
    let error = HttpWebhookTransport::new()
        .post(&request("https://localhost:1/in".into()))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Refused(_)));
}

#[tokio::test]
async fn a_public_name_that_resolves_inside_is_refused_after_resolution_without_naming_the_address()
{
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let port = receiver.address().port();
    for inside in ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1"] {
        let transport = HttpWebhookTransport::new()
            .with_resolver(std::sync::Arc::new(FixedAnswer(inside.parse().unwrap())));
        let error = transport
            .post(&request(format!(
                "https://hooks.customer.example:{port}/in"
            )))
            .await
            .unwrap_err();
        let TransportError::Refused(message) = &error else {
            panic!("{inside}: {error:?}");
        };
        assert!(!message.contains(inside), "{message}");
        assert!(message.contains("hooks.customer.example"), "{message}");
    }
    assert!(
        receiver
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
