//! `infra/template.yaml` read as data: its functions, its HTTP routes, and a real-shaped API
//! Gateway (HTTP API, payload 2.0) event for each route, so that the template tests and each
//! function's own tests check the same wiring.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use serde_norway::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The parsed template; a test that cannot read it fails with the reason.
pub fn load() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).expect("the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

/// A value without its CloudFormation tag (`!Ref X` → `X`).
pub fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untagged(&tagged.value),
        other => other,
    }
}

/// A scalar as text (a tagged scalar without its tag).
pub fn text(value: &Value) -> String {
    match untagged(value) {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other).unwrap_or_default(),
    }
}

/// One `HttpApi` event of a function.
#[derive(Debug, Clone)]
pub struct Route {
    /// The function's logical id (`ApiFunction`).
    pub function: String,
    /// The function's binary (`api`), as `Metadata.BuildProperties.Binary` names it.
    pub binary: String,
    pub method: String,
    /// The route as written (`/v1/{proxy+}`).
    pub path: String,
    /// `Auth.Authorizer: NONE`: anyone may call it.
    pub open: bool,
}

impl Route {
    /// The route with its parameters filled in with plausible values no row has.
    pub fn concrete_path(&self) -> String {
        // A greedy path names a table, or an object for the Storage dialect.
        let proxy = if self.path.starts_with("/storage/v1/") {
            "object/avatars/someone/a.png"
        } else {
            "leads"
        };
        self.path
            .replace("{proxy+}", proxy)
            .replace("{id}", "0b8f5a3e-0000-4000-8000-000000000001")
            .replace("{token}", "unknown-token")
            .replace("{slug}", "unknownslug")
            .replace("{sequence_id}", "0b8f5a3e-0000-4000-8000-000000000002")
    }

    /// The methods a request may use (`ANY` tried as GET and POST).
    pub fn methods(&self) -> Vec<&str> {
        match self.method.as_str() {
            "ANY" => vec!["GET", "POST"],
            other => vec![other],
        }
    }

    /// The event API Gateway hands the function for `method` on this route, with `{}` as the
    /// body; behind the JWT authorizer it carries the claims of a signed-in user.
    pub fn api_gateway_event(&self, method: &str) -> serde_json::Value {
        let path = self.concrete_path();
        let route_key = format!("{} {}", self.method, self.path);
        let mut context = json!({
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "api.scaliyo.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0"
            },
            "requestId": "J3x9wgHCoAMEVrw=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "27/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1798758000000u64
        });
        let mut headers = json!({
            "accept": "application/json",
            "content-type": "application/json",
            "host": "api.scaliyo.example",
            "user-agent": "Mozilla/5.0",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-proto": "https"
        });
        if !self.open {
            headers["authorization"] = json!("Bearer verified-by-api-gateway");
            context["authorizer"] = json!({
                "jwt": {
                    "claims": {
                        "aud": "scaliyo-frontend",
                        "email": "ada@example.com",
                        "exp": "1798761600",
                        "iat": "1798758000",
                        "iss": "https://example.supabase.co/auth/v1",
                        "role": "CLIENT",
                        "sub": "7f0c6c52-5b7e-4c1e-9d55-3f6a1c2b9e10"
                    },
                    "scopes": null
                }
            });
        }
        json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": context,
            "body": "{}",
            "isBase64Encoded": false
        })
    }
}

/// A function resource with what the wiring checks need.
pub struct Function {
    pub logical_id: String,
    pub binary: String,
    /// Its environment, the globals included.
    pub variables: BTreeMap<String, Value>,
    /// Its `Policies`, as YAML text.
    pub policies: String,
}

/// Every `AWS::Serverless::Function` of the template.
pub fn functions(template: &Value) -> Vec<Function> {
    let globals: BTreeMap<String, Value> =
        template["Globals"]["Function"]["Environment"]["Variables"]
            .as_mapping()
            .map(|m| m.iter().map(|(k, v)| (text(k), v.clone())).collect())
            .unwrap_or_default();
    let mut out = Vec::new();
    for (id, resource) in template["Resources"].as_mapping().into_iter().flatten() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let mut variables = globals.clone();
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            variables.extend(own.iter().map(|(k, v)| (text(k), v.clone())));
        }
        out.push(Function {
            logical_id: text(id),
            binary: text(&resource["Metadata"]["BuildProperties"]["Binary"]),
            variables,
            policies: serde_norway::to_string(&resource["Properties"]["Policies"])
                .unwrap_or_default(),
        });
    }
    out
}

/// Every HTTP route of the template.
pub fn routes(template: &Value) -> Vec<Route> {
    let mut out = Vec::new();
    for (id, resource) in template["Resources"].as_mapping().into_iter().flatten() {
        let binary = text(&resource["Metadata"]["BuildProperties"]["Binary"]);
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            out.push(Route {
                function: text(id),
                binary: binary.clone(),
                method: text(&properties["Method"]),
                path: text(&properties["Path"]),
                open: text(&properties["Auth"]["Authorizer"]) == "NONE",
            });
        }
    }
    out
}

/// The routes the template sends to the function built from `binary`.
pub fn routes_of(binary: &str) -> Vec<Route> {
    routes(&load())
        .into_iter()
        .filter(|r| r.binary == binary)
        .collect()
}

/// Whether a response came from a handler rather than the router: the router's own 404 (no
/// route) has no body, a handler's has one; a 405 means the route exists without the method.
pub fn reached_a_handler(status: u16, body: &[u8]) -> bool {
    status != 405 && (status != 404 || !body.is_empty())
}

/// A feature this deployment has not configured (billing without Stripe): `501` with a
/// `…_not_configured` code is the handler's deliberate answer, not a failure.
pub fn not_configured(status: u16, body: &[u8]) -> bool {
    status == 501
        && serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|b| b["code"].as_str().map(|c| c.ends_with("_not_configured")))
            .unwrap_or(false)
}

/// Sends a real-shaped API Gateway event for every route the template gives the function built
/// from `binary` (through lambda_http's own conversion, as in Lambda) to that function's
/// router, and fails naming each route that reaches no handler or a 5xx.
pub async fn every_route_reaches_a_handler(binary: &str, router: axum::Router) {
    let routes = routes_of(binary);
    assert!(!routes.is_empty(), "the template gives {binary} no route");
    let mut unserved = Vec::new();
    for route in &routes {
        for method in route.methods() {
            let (status, mut body) = answer(&router, route, method).await;
            if method == "HEAD" && status == 404 {
                // A HEAD answer has no body: a GET or POST twin shows whose 404 it is.
                for twin in ["GET", "POST"] {
                    let (_, twin_body) = answer(&router, route, twin).await;
                    if !twin_body.is_empty() {
                        body = twin_body;
                        break;
                    }
                }
            }
            if !reached_a_handler(status, &body)
                || (status >= 500 && !not_configured(status, &body))
            {
                unserved.push(format!(
                    "{method} {} → {status} {}",
                    route.path,
                    String::from_utf8_lossy(&body)
                ));
            }
        }
    }
    assert!(
        unserved.is_empty(),
        "routes of {binary} in infra/template.yaml its router does not serve: {unserved:#?}"
    );
}

/// The status and body `router` gives the API Gateway event of `method` on `route`.
async fn answer(router: &axum::Router, route: &Route, method: &str) -> (u16, bytes::Bytes) {
    use tower::ServiceExt;
    let event = route.api_gateway_event(method).to_string();
    let request = lambda_http::request::from_str(&event).expect("a valid event");
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (status, body)
}
