//! X-Ray subsegments of SDK calls (issue 24, ADR 20). An invocation runs through the Lambda
//! functions' `Traced` wrapper under their log subscriber and makes DynamoDB calls against
//! DynamoDB Local; a UDP socket listens where Lambda's X-Ray daemon would and must receive one
//! subsegment per call, under the invocation's trace, annotated with the function, the request
//! id and (once the handler knows the caller) the owner id — the same fields as its log lines.

use std::convert::Infallible;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use scaliyo_aws::xray::{Daemon, SdkSubsegments};
use scaliyo_lambda::telemetry::{Traced, lambda_subscriber};
use scaliyo_tests::emulators;
use serde_json::{Value, json};
use tower::{Service, ServiceExt, service_fn};
use tracing_subscriber::fmt::MakeWriter;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";
const OWNER: &str = "4f7c1d2e-9a3b-4c5d-8e6f-0a1b2c3d4e5f";

/// The function's log lines, kept in memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        let bytes = self.0.lock().map(|l| l.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Every datagram the "daemon" has received, each checked for the protocol's header line.
fn subsegments(daemon: &UdpSocket) -> Vec<Value> {
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 65_536];
    while let Ok(length) = daemon.recv(&mut buffer) {
        let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
        let (header, document) = text.split_once('\n').expect("a header line and a document");
        assert_eq!(header, r#"{"format": "json", "version": 1}"#);
        received.push(serde_json::from_str(document).expect("a JSON document"));
    }
    received
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn invocation(trace: &str) -> http::Request<()> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-1".into();
    context.xray_trace_id = Some(trace.into());
    let mut request = http::Request::new(());
    request.extensions_mut().insert(context);
    request
}

async fn table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = emulators::unique_name("traces");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .send()
        .await
        .expect("a table");
    name
}

/// A UDP socket where the X-Ray daemon would listen, and a DynamoDB Local client whose
/// subsegments go to it; `None` when DynamoDB Local is not running.
async fn traced_client() -> Option<(UdpSocket, aws_sdk_dynamodb::Client)> {
    let config = emulators::dynamodb().await?;
    let daemon = UdpSocket::bind("127.0.0.1:0").expect("a socket");
    daemon
        .set_read_timeout(Some(Duration::from_millis(400)))
        .expect("a timeout");
    let address = daemon.local_addr().expect("an address").to_string();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(SdkSubsegments::new(Arc::new(
                Daemon::at(&address).expect("the daemon's address"),
            )))
            .build(),
    );
    Some((daemon, client))
}

#[tokio::test]
async fn each_sdk_call_is_a_subsegment_of_the_invocation_annotated_like_its_log_lines() {
    let Some((daemon, client)) = traced_client().await else {
        return;
    };
    let lines = Lines::default();
    let _subscriber = tracing::subscriber::set_default(lambda_subscriber(lines.clone()));

    // Outside any invocation there is no trace: nothing is sent.
    let table = table(&client).await;
    assert_eq!(subsegments(&daemon), Vec::<Value>::new());

    let handler = {
        let client = client.clone();
        let table = table.clone();
        service_fn(move |_request: http::Request<()>| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                let put = client
                    .put_item()
                    .table_name(&table)
                    .item("id", AttributeValue::S("lead-1".into()))
                    .send()
                    .await;
                assert!(put.is_ok(), "{put:?}");
                // What the HTTP edge does once the caller's token is checked.
                tracing::Span::current().record("owner_id", OWNER);
                tracing::info!("the caller is known");
                let get = client
                    .get_item()
                    .table_name(&table)
                    .key("id", AttributeValue::S("lead-1".into()))
                    .send()
                    .await;
                assert!(get.is_ok(), "{get:?}");
                let missing = client
                    .describe_table()
                    .table_name(emulators::unique_name("missing"))
                    .send()
                    .await;
                assert!(missing.is_err());
                Ok::<_, Infallible>(())
            }
        })
    };
    let mut function = Traced::new("api", handler);
    let started = now();
    function
        .ready()
        .await
        .expect("ready")
        .call(invocation(&format!(
            "Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:0"
        )))
        .await
        .expect("the invocation");
    let ended = now();

    let received = subsegments(&daemon);
    assert_eq!(received.len(), 3, "{received:#?}");
    let expected = [
        ("PutItem", false, false),
        ("GetItem", true, false),
        ("DescribeTable", true, true),
    ];
    let mut ids = std::collections::HashSet::new();
    for (subsegment, (operation, knows_owner, failed)) in received.iter().zip(expected) {
        assert_eq!(subsegment["name"], "DynamoDB");
        assert_eq!(subsegment["type"], "subsegment");
        assert_eq!(subsegment["namespace"], "aws");
        assert_eq!(subsegment["trace_id"], ROOT);
        assert_eq!(subsegment["parent_id"], PARENT);
        assert_eq!(subsegment["aws"]["operation"], operation);
        assert_eq!(subsegment["aws"]["region"], "us-east-1");
        assert_eq!(subsegment["aws"]["retries"], 0);
        assert!(
            subsegment["aws"]["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "the service's request id: {subsegment}"
        );
        let id = subsegment["id"].as_str().unwrap_or_default();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(ids.insert(id.to_owned()), "ids are unique");
        let (start, end) = (
            subsegment["start_time"].as_f64().unwrap_or_default(),
            subsegment["end_time"].as_f64().unwrap_or_default(),
        );
        assert!(
            started <= start && start <= end && end <= ended,
            "{subsegment}"
        );
        let mut annotations = json!({ "function": "api", "request_id": "req-1" });
        if knows_owner {
            annotations["owner_id"] = json!(OWNER);
        }
        assert_eq!(subsegment["annotations"], annotations);
        let status = if failed { 400 } else { 200 };
        assert_eq!(subsegment["http"]["response"]["status"], status);
        assert_eq!(subsegment["error"], failed, "a client error");
        assert_eq!(subsegment["fault"], false);
        assert_eq!(subsegment["throttle"], false);
    }

    // The log line written inside the invocation carries the same fields.
    let logged = lines.json();
    let line = logged
        .iter()
        .find(|line| line["fields"]["message"] == "the caller is known")
        .expect("the handler's line");
    assert_eq!(line["span"]["function"], "api");
    assert_eq!(line["span"]["request_id"], "req-1");
    assert_eq!(line["span"]["owner_id"], OWNER);
    assert_eq!(
        line["span"]["xray_trace_id"],
        format!("Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:0")
    );

    // An unsampled trace costs nothing: the calls are made, no subsegment is sent.
    function
        .ready()
        .await
        .expect("ready")
        .call(invocation(&format!(
            "Root={ROOT};Parent={PARENT};Sampled=0"
        )))
        .await
        .expect("the invocation");
    assert_eq!(subsegments(&daemon), Vec::<Value>::new());
}

#[tokio::test]
async fn an_event_invocation_is_traced_the_same_way() {
    let Some((daemon, client)) = traced_client().await else {
        return;
    };
    let _subscriber = tracing::subscriber::set_default(lambda_subscriber(Lines::default()));
    let mut function = Traced::new(
        "import-leads",
        service_fn(move |_event: lambda_runtime::LambdaEvent<Value>| {
            let client = client.clone();
            async move {
                let listed = client.list_tables().limit(1).send().await;
                assert!(listed.is_ok(), "{listed:?}");
                Ok::<_, Infallible>(())
            }
        }),
    );
    let mut context = lambda_runtime::Context::default();
    context.request_id = "req-2".into();
    context.xray_trace_id = Some(format!("Root={ROOT};Parent={PARENT};Sampled=1"));
    function
        .ready()
        .await
        .expect("ready")
        .call(lambda_runtime::LambdaEvent::new(
            json!({ "Records": [] }),
            context,
        ))
        .await
        .expect("the invocation");
    let received = subsegments(&daemon);
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0]["aws"]["operation"], "ListTables");
    assert_eq!(
        received[0]["annotations"],
        json!({ "function": "import-leads", "request_id": "req-2" })
    );
}
