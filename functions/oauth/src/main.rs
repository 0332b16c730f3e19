//! Lambda `oauth`: wiring only. The table, the KMS key that seals the states and tokens,
//! and the providers' OAuth clients (ids from the template's parameters, secrets resolved
//! from Secrets Manager at deploy) are built once per cold start.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::oauth::OAuthConnections;
use scaliyo_app::send::SenderAccounts;
use scaliyo_aws::{DynamoTable, KmsSealer};
use scaliyo_http::Authenticator;
use scaliyo_store::{Mailers, OAuthProviders, Sealer, SystemClock};

fn router(
    table: DynamoTable,
    sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    providers: OAuthProviders,
    app_url: String,
) -> Router {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    // A Gmail mailbox is connected as a sender account: the sender accounts alone, no
    // send pipeline.
    let senders = SenderAccounts::new(access.clone(), sealer.clone(), mailers);
    let connections = Arc::new(OAuthConnections::new(
        access.clone(),
        sealer,
        providers,
        senders,
        clock,
    ));
    scaliyo_http::oauth_api::router(access, connections, app_url)
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

/// The providers with a client id and secret in the environment; callbacks under
/// `OAUTH_REDIRECT_BASE` (the API's public URL, registered with each provider).
fn providers(api_base: &str) -> OAuthProviders {
    let social = scaliyo_social::SocialConfig::from_env();
    let mut providers = scaliyo_social::oauth_from_env(&social, api_base);
    providers.google = scaliyo_mail::google_connect_from_env(api_base);
    providers
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("oauth");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let api_base = scaliyo_lambda::env::required("OAUTH_REDIRECT_BASE")?;
    let app_url = std::env::var("APP_URL").unwrap_or_default();
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let sealer = Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id));
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "oauth",
        scaliyo_http::edge::catching_panics(router(
            table,
            sealer,
            scaliyo_mail::mailers_from_env(),
            providers(&api_base),
            app_url,
        )),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route `infra/template.yaml` gives this function, as API Gateway delivers it,
    /// reaches one of this router's handlers.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let (Some(config), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "oauth-routes").await;
        let kms = scaliyo_aws::kms_client(&moto);
        let app = router(
            table,
            Arc::new(KmsSealer::new(kms, "alias/never-used")),
            scaliyo_mail::mailers_from_env(),
            OAuthProviders::default(),
            "https://app.example".into(),
        );
        scaliyo_tests::template::every_route_reaches_a_handler("oauth", app).await;
    }
}
