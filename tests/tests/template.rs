//! `infra/template.yaml` checked as a whole against the code it deploys:
//!
//! - every table with public rows is readable without a token (a route without the
//!   authorizer), and every other route needs one, but for the recipient- and provider-facing
//!   ones that carry their own secrets (tracking tokens, per-sender webhook URLs);
//! - every route reaches a handler of the merged local server (a real-shaped request per route
//!   gets an answer from a handler, not the router's bare 404); each function's own tests send
//!   the API Gateway event of each of its routes to its own router
//!   (`scaliyo_tests::template::every_route_reaches_a_handler`);
//! - every environment variable a function's `main` reads is set for it (or is an optional
//!   knob named below), and every queue and bucket its variables name exists in the template
//!   with a permission for that function.

use std::collections::BTreeSet;

use scaliyo_domain::schema::{self, Who};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use scaliyo_tests::template::{functions, load as template, root, routes, text};
use serde_norway::Value;

/// Tables the seed lets anyone read some rows of.
fn public_tables() -> Vec<&'static str> {
    schema::TABLES
        .iter()
        .filter(|t| t.policy.iter().any(|r| matches!(r.who, Who::Public(_))))
        .map(|t| t.name)
        .collect()
}

#[test]
fn public_reads_are_open_and_everything_else_needs_a_token() {
    let template = template();
    let routes = routes(&template);
    let api = functions(&template)
        .into_iter()
        .find(|f| f.binary == "api")
        .expect("the api function");
    for table in public_tables() {
        for path in [format!("/v1/{table}"), format!("/v1/{table}/{{id}}")] {
            let route = routes
                .iter()
                .find(|r| r.method == "GET" && r.path == path)
                .unwrap_or_else(|| panic!("no route for GET {path}"));
            assert!(
                route.open,
                "GET {path} needs a token but {table} has public rows"
            );
            assert_eq!(route.function, api.logical_id, "GET {path}");
        }
    }
    // Routes that carry their own secret in the path (tracking tokens, per-sender webhook
    // URLs, short-link slugs, the sealed single-use state of an OAuth callback) or are about
    // the service itself.
    let own_secret = ["/t/", "/u/", "/webhooks/", "/l/", "/oauth/"];
    for route in routes.iter().filter(|r| r.open) {
        let public_read = route.method == "GET"
            && public_tables().iter().any(|t| {
                route.path == format!("/v1/{t}") || route.path == format!("/v1/{t}/{{id}}")
            });
        // The public site's read of a published post by its slug (`blog_posts` is public).
        let public_post = route.method == "GET" && route.path == "/v1/blog/{slug}";
        let service = ["/health", "/v1/openapi.json"].contains(&route.path.as_str());
        let secret = own_secret.iter().any(|p| route.path.starts_with(p));
        // The PostgREST and Storage dialects: signed-out supabase-js clients send the anon key (no JWT),
        // so the function verifies user tokens itself and serves that key as the anonymous
        // role, under the same row policies (docs/supabase-compat.md).
        let dialect = matches!(
            route.path.as_str(),
            "/rest/v1/{proxy+}" | "/storage/v1/{proxy+}"
        );
        assert!(
            public_read || public_post || service || secret || dialect,
            "{} {} is open to anyone but is none of the public routes",
            route.method,
            route.path
        );
    }
    for route in routes
        .iter()
        .filter(|r| r.path.starts_with("/v1/") && !r.open)
    {
        assert!(
            !public_tables()
                .iter()
                .any(|t| route.path == format!("/v1/{t}") && route.method == "GET"),
            "{route:?}"
        );
    }
}

#[tokio::test]
async fn every_route_reaches_a_handler_and_public_reads_answer_anonymous_callers() {
    let template = template();
    let local = RunningLocal::start().await;
    let anonymous = Client::anonymous(&local);
    let http = scaliyo_tests::http_client::without_redirects();
    let mut checked = 0;
    for route in routes(&template) {
        let path = route.concrete_path();
        for method in route.methods() {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            let response = http
                .request(method.clone(), local.url(&path))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let mut body = response.text().await.unwrap_or_default();
            if method == reqwest::Method::HEAD && status == 404 {
                // A HEAD answer has no body: the handler's GET or POST twin shows whose 404
                // it is (the router's own 404 would answer every method alike, bodiless).
                for twin in [reqwest::Method::GET, reqwest::Method::POST] {
                    let answer = http.request(twin, local.url(&path)).body("{}").send().await;
                    let text = match answer {
                        Ok(answer) => answer.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    if !text.is_empty() {
                        body = text;
                        break;
                    }
                }
            }
            assert!(
                scaliyo_tests::template::reached_a_handler(status, body.as_bytes()),
                "{method} {path} ({} in the template) reached no handler: {status}",
                route.function
            );
            assert!(
                status < 500 || scaliyo_tests::template::not_configured(status, body.as_bytes()),
                "{method} {path}: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} routes");
    for table in public_tables() {
        let read = anonymous.get(&format!("/v1/{table}")).await;
        assert_eq!(read.status, 200, "anonymous GET /v1/{table}: {}", read.body);
    }
}

/// Variables a function may read that are optional knobs, with the default that applies.
const OPTIONAL: &[(&str, &str)] = &[
    (
        "PUBLIC_ASSETS_BASE_URL",
        "public URLs are the buckets' own S3 URLs",
    ),
    ("JWKS_URL", "<JWT_ISSUER>/.well-known/jwks.json"),
    (
        "WEBHOOKS_ALLOW_PRIVATE",
        "off: webhooks reach public addresses only",
    ),
    ("SCALIYO_CORS_ORIGINS", "local server only"),
    (
        "TRUSTED_PROXIES",
        "none: API Gateway's sourceIp is the client",
    ),
    ("SMTP_ALLOW_PRIVATE", "off"),
];

/// The names a `main.rs` reads from the environment.
fn variables_read(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for opener in ["var(\"", "required(\"", "queue_from_env(\"", "env_or(\""] {
        for (at, _) in source.match_indices(opener) {
            let rest = &source[at + opener.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with('"') {
                names.insert(name);
            }
        }
    }
    names
}

/// The sources a binary runs: its own file (a `[[bin]]` of a package under `functions/`) and
/// its package's library, where the package has one.
fn binary_sources(binary: &str) -> Option<Vec<String>> {
    for package in std::fs::read_dir(root().join("functions")).ok()?.flatten() {
        let dir = package.path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        // Each `[[bin]]` section's `name = "…"` and `path = "…"` lines.
        let path = manifest.split("[[bin]]").skip(1).find_map(|section| {
            let section = section.split("\n[").next().unwrap_or_default();
            let value = |key: &str| {
                section.lines().find_map(|line| {
                    let (k, v) = line.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
                })
            };
            (value("name")? == binary).then(|| value("path").unwrap_or("src/main.rs".into()))
        });
        let Some(path) = path else { continue };
        let mut sources = vec![std::fs::read_to_string(dir.join(path)).ok()?];
        sources.extend(std::fs::read_to_string(dir.join("src/lib.rs")).ok());
        return Some(sources);
    }
    None
}

#[test]
fn every_variable_a_function_reads_is_set_and_what_it_names_is_permitted() {
    let template = template();
    let resources = template["Resources"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let type_of = |id: &str| {
        resources
            .get(Value::String(id.to_owned()))
            .map(|r| text(&r["Type"]))
            .unwrap_or_default()
    };
    let mut seen = 0;
    for function in functions(&template) {
        let sources = binary_sources(&function.binary).unwrap_or_else(|| {
            panic!(
                "{} names binary {}, which no package under functions/ builds",
                function.logical_id, function.binary
            )
        });
        // The tests set up their own environment; only the running code counts.
        let running: String = sources
            .iter()
            .map(|source| source.split("#[cfg(test)]").next().unwrap_or_default())
            .collect();
        for name in variables_read(&running) {
            let optional = OPTIONAL.iter().any(|(n, _)| *n == name);
            assert!(
                function.variables.contains_key(&name) || optional,
                "{} reads {name}, which the template does not set",
                function.logical_id
            );
        }
        for (name, value) in &function.variables {
            // `!Ref X` and `!GetAtt X.Y` name resources that must exist.
            let target = text(value);
            let id = target.split('.').next().unwrap_or_default();
            let tagged = matches!(value, Value::Tagged(t) if t.tag == "Ref" || t.tag == "GetAtt");
            if !tagged || resources.get(Value::String(id.to_owned())).is_none() {
                continue;
            }
            let permitted = function.policies.contains(id)
                || (name == "TABLE_NAME" && function.policies.contains("dynamodb:"));
            match type_of(id).as_str() {
                "AWS::SQS::Queue"
                | "AWS::S3::Bucket"
                | "AWS::DynamoDB::Table"
                | "AWS::KMS::Key" => {
                    assert!(
                        permitted,
                        "{} is given {name} = {id} but no permission on it",
                        function.logical_id
                    );
                    seen += 1;
                }
                _ => {}
            }
        }
    }
    assert!(seen > 10, "{seen} resource variables checked");
}

/// The template's resources of one type, by logical id.
fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (text(id), r))
        .collect()
}

/// The alarms on one metric, as (the resource its dimensions name, the alarm).
fn alarms_on<'a>(template: &'a Value, namespace: &str, metric: &str) -> Vec<(String, &'a Value)> {
    resources_of(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| {
            text(&a["Properties"]["Namespace"]) == namespace
                && text(&a["Properties"]["MetricName"]) == metric
        })
        .filter_map(|(_, a)| {
            let dimension = a["Properties"]["Dimensions"].as_sequence()?.first()?;
            // `!Ref X` names X; `!GetAtt X.QueueName` names X too.
            let named = text(&dimension["Value"]);
            let named = named.split('.').next().unwrap_or_default().to_owned();
            Some((named, a))
        })
        .collect()
}

#[test]
fn every_queue_function_and_dependency_is_watched_and_every_alarm_notifies_the_topic() {
    let template = template();
    let queues = resources_of(&template, "AWS::SQS::Queue");
    let dead_letter_queues: BTreeSet<String> = queues
        .iter()
        .filter_map(|(_, q)| {
            let target = &q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"];
            (!target.is_null()).then(|| {
                text(target)
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .collect();
    let work_queues: Vec<&String> = queues
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !dead_letter_queues.contains(*id))
        .collect();
    assert!(!dead_letter_queues.is_empty() && !work_queues.is_empty());
    // Every work queue has a dead-letter queue, and every dead-letter queue two alarms.
    for (id, queue) in &queues {
        if !dead_letter_queues.contains(id) {
            assert!(
                !queue["Properties"]["RedrivePolicy"].is_null(),
                "{id} has no dead-letter queue"
            );
        }
    }
    let visible = alarms_on(&template, "AWS/SQS", "ApproximateNumberOfMessagesVisible");
    let age = alarms_on(&template, "AWS/SQS", "ApproximateAgeOfOldestMessage");
    for queue in &dead_letter_queues {
        assert!(
            visible.iter().any(|(q, _)| q == queue),
            "no alarm counts {queue}'s dead letters"
        );
        assert!(
            age.iter().any(|(q, _)| q == queue),
            "no alarm watches the age of {queue}'s dead letters"
        );
    }
    for queue in work_queues {
        assert!(
            age.iter().any(|(q, _)| q == queue),
            "no alarm watches {queue}'s backlog"
        );
    }

    // Every function: errors and throttles alarmed, its own log group with the retention.
    let errors = alarms_on(&template, "AWS/Lambda", "Errors");
    let throttles = alarms_on(&template, "AWS/Lambda", "Throttles");
    let log_groups = resources_of(&template, "AWS::Logs::LogGroup");
    for function in functions(&template) {
        let id = &function.logical_id;
        assert!(
            errors.iter().any(|(f, _)| f == id),
            "no error alarm on {id}"
        );
        assert!(
            throttles.iter().any(|(f, _)| f == id),
            "no throttle alarm on {id}"
        );
        let group =
            text(&template["Resources"][id.as_str()]["Properties"]["LoggingConfig"]["LogGroup"]);
        let (_, group) = log_groups
            .iter()
            .find(|(g, _)| *g == group)
            .unwrap_or_else(|| panic!("{id} logs to no log group of the template"));
        assert_eq!(
            text(&group["Properties"]["RetentionInDays"]),
            "LogRetentionDays"
        );
    }
    assert_eq!(
        template["Parameters"]["LogRetentionDays"]["Default"].as_u64(),
        Some(30)
    );
    assert_eq!(text(&template["Globals"]["Function"]["Tracing"]), "Active");

    // The HTTP API's errors and the table's throttles and failures.
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    let math_on = |metric: &str| {
        alarms.iter().any(|(_, a)| {
            a["Properties"]["Metrics"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|m| text(&m["MetricStat"]["Metric"]["MetricName"]) == metric)
        })
    };
    for metric in [
        "5xx",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SystemErrors",
    ] {
        assert!(math_on(metric), "no alarm on {metric}");
    }
    // Each scheduled function alarms when it stops ticking: the e-mail tick by its own
    // count (its invocations include the queue consumer's), the social tick by invocations.
    let ticks = alarms_on(&template, "Scaliyo", "SchedulerTicks");
    let invocations = alarms_on(&template, "AWS/Lambda", "Invocations");
    for (alarms, scheduled) in [
        (&ticks, "process-scheduled-emails"),
        (&invocations, "SocialRunSchedulerFunction"),
    ] {
        let (_, alarm) = alarms
            .iter()
            .find(|(f, _)| f == scheduled)
            .unwrap_or_else(|| panic!("no alarm when {scheduled} stops ticking"));
        assert_eq!(text(&alarm["Properties"]["TreatMissingData"]), "breaching");
    }
    // Every alarm goes to the topic, which an e-mail address may subscribe to.
    for (id, alarm) in &alarms {
        let actions = &alarm["Properties"]["AlarmActions"];
        assert!(
            actions
                .as_sequence()
                .is_some_and(|a| a.iter().any(|t| text(t) == "AlarmTopic")),
            "{id} notifies nobody"
        );
    }
    let subscription = &template["Resources"]["AlarmEmailSubscription"]["Properties"];
    assert_eq!(text(&subscription["Endpoint"]), "AlarmEmail");
}
