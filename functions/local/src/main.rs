//! `scaliyo`: the local system's command line.
//!
//! - `scaliyo serve`: every function behind one HTTP server on 127.0.0.1:3000, the schedules
//!   on timers, data in ./.scaliyo.
//! - `scaliyo token --user <uuid> --role CLIENT`: a dev bearer token for that server.
//! - `scaliyo import leads.csv --user <uuid>`: import a CSV as that user's leads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use scaliyo_domain::ids::{OwnerId, Role};
use scaliyo_local::{DEFAULT_ADDR, DEFAULT_DATA_DIR, LocalConfig, LocalSystem};
use scaliyo_store::SystemClock;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "scaliyo",
    about = "Scaliyo Serverless, running locally on its embedded default"
)]
struct Cli {
    /// Where the store, blobs and local secrets live.
    #[arg(long, global = true, env = "SCALIYO_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system on one local HTTP server.
    Serve {
        #[arg(long, env = "SCALIYO_ADDR", default_value = DEFAULT_ADDR)]
        addr: SocketAddr,
        /// The URL clients reach this server at, if not http://<addr>.
        #[arg(long, env = "SCALIYO_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Import a CSV (or an Apollo export) as a user's leads, with a progress display.
    Import {
        file: PathBuf,
        #[arg(long)]
        user: String,
        /// skip (default), update or create
        #[arg(long, default_value = "skip")]
        on_duplicate: String,
        /// The running server to use when it holds the data directory.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        server: String,
    },
    /// Tracking hits made durable in the journal and not yet applied (after a crash, or a
    /// store outage, with the server stopped).
    Hits {
        #[command(subcommand)]
        action: HitsAction,
    },
    /// The row tallies `count=exact` reads: set them from the rows, for a data directory
    /// written before they were kept (with the server stopped).
    Tallies {
        #[command(subcommand)]
        action: TalliesAction,
    },
    /// Print a bearer token for the local server.
    Token {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "CLIENT")]
        role: String,
        #[arg(long)]
        email: Option<String>,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
}

#[derive(Subcommand)]
enum HitsAction {
    /// How much of the journal waits to be applied.
    Status,
    /// Applies every journalled hit now (classified, stored, counted once: hits already
    /// stored are recognised). A running server does this itself; stop it first.
    Replay,
}

#[derive(Subcommand)]
enum TalliesAction {
    /// Sets each user's tallies to what its rows hold; prints the rows counted per table.
    Recount {
        /// A user whose rows to recount (repeat for several).
        #[arg(long = "user", required = true)]
        users: Vec<String>,
    },
}

/// mimalloc rather than glibc's malloc: per-thread heaps without a shared lock, and freed
/// memory given back to the system (ADR 0031).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scaliyo_local::allocator::tune_allocator();
    let cli = Cli::parse();
    let runtime = match scaliyo_local::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { addr, public_url } => serve(cli.data_dir, addr, public_url).await,
            Command::Import {
                file,
                user,
                on_duplicate,
                server,
            } => import(cli.data_dir, file, user, on_duplicate, server).await,
            Command::Hits { action } => hits(cli.data_dir, action).await,
            Command::Tallies {
                action: TalliesAction::Recount { users },
            } => recount_tallies(cli.data_dir, users).await,
            Command::Token {
                user,
                role,
                email,
                hours,
            } => token(cli.data_dir, &user, &role, email.as_deref(), hours),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn import(
    data_dir: PathBuf,
    file: PathBuf,
    user: String,
    on_duplicate: String,
    server: String,
) -> Result<(), String> {
    let on_duplicate = serde_json::from_value(serde_json::Value::String(on_duplicate.clone()))
        .map_err(|_| {
            format!("--on-duplicate must be skip, update or create, got {on_duplicate:?}")
        })?;
    let user =
        OwnerId::from_str(&user).map_err(|_| format!("--user must be a UUID, got {user:?}"))?;
    let batch = scaliyo_local::import_cli::run(scaliyo_local::import_cli::ImportArgs {
        data_dir: &data_dir,
        file: &file,
        user,
        on_duplicate,
        server: &server,
    })
    .await?;
    print!("{}", scaliyo_local::import_cli::summary(&batch));
    if batch["status"] == "failed" {
        return Err("the import failed (see the first skipped row)".into());
    }
    Ok(())
}

async fn hits(data_dir: PathBuf, action: HitsAction) -> Result<(), String> {
    let config = LocalConfig::new(DEFAULT_ADDR.parse().map_err(|e| format!("{e}"))?, data_dir);
    let system = LocalSystem::open(config, Arc::new(SystemClock)).map_err(|e| {
        format!("cannot open the data directory (a running `scaliyo serve` holds it and applies its journal itself): {e}")
    })?;
    let pending = system.hit_journal.pending_bytes();
    match action {
        HitsAction::Status => println!("{pending} byte(s) of tracking hits wait in the journal"),
        HitsAction::Replay => {
            let report = system.hit_applier().drain().await?;
            println!(
                "applied the journal ({pending} byte(s)): {} hit(s) stored, {} already stored, {} for unknown links, {} unreadable",
                report.stored, report.duplicates, report.not_tracked, report.unreadable
            );
        }
    }
    Ok(())
}

async fn recount_tallies(data_dir: PathBuf, users: Vec<String>) -> Result<(), String> {
    let config = LocalConfig::new(DEFAULT_ADDR.parse().map_err(|e| format!("{e}"))?, data_dir);
    let system = LocalSystem::open(config, Arc::new(SystemClock)).map_err(|e| {
        format!("cannot open the data directory (stop the `scaliyo serve` that holds it): {e}")
    })?;
    let rows = scaliyo_app::rows::Rows::new(system.table.clone(), system.clock.clone());
    for user in users {
        let owner =
            OwnerId::from_str(&user).map_err(|_| format!("--user must be a UUID, got {user:?}"))?;
        let recounted = rows
            .recount_all_tallies(&owner.to_string())
            .await
            .map_err(|e| format!("recounting {owner}: {e}"))?;
        let counts: Vec<String> = recounted
            .iter()
            .map(|(table, count)| format!("{table} {count}"))
            .collect();
        println!("{owner}: {}", counts.join(", "));
    }
    Ok(())
}

fn token(
    data_dir: PathBuf,
    user: &str,
    role: &str,
    email: Option<&str>,
    hours: i64,
) -> Result<(), String> {
    let user =
        OwnerId::from_str(user).map_err(|_| format!("--user must be a UUID, got {user:?}"))?;
    let role = Role::from_str(role)?;
    // Only the signing key is needed: the store may be open in a running server.
    let token = scaliyo_local::local_jwt(&data_dir)
        .map_err(|e| e.to_string())?
        .issue(
            user,
            role,
            email,
            chrono::Utc::now(),
            chrono::Duration::hours(hours),
        )
        .map_err(|e| e.message)?;
    println!("{token}");
    Ok(())
}

async fn serve(
    data_dir: PathBuf,
    addr: SocketAddr,
    public_url: Option<String>,
) -> Result<(), String> {
    init_logging();
    let mut config = LocalConfig::new(addr, data_dir);
    if let Some(url) = public_url {
        config.public_base = url.trim_end_matches('/').to_owned();
    }
    config.trusted_proxies =
        scaliyo_http::tracking_api::TrustedProxies::from_env_or(config.trusted_proxies);
    if let Ok(origins) = std::env::var("SCALIYO_CORS_ORIGINS") {
        config.cors_origins = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Ok(megabytes) = std::env::var("SCALIYO_HIT_JOURNAL_MAX_MB") {
        config.hit_journal_max_bytes = megabytes
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|mb| *mb > 0)
            .and_then(|mb| mb.checked_mul(1 << 20))
            .ok_or_else(|| {
                format!(
                    "SCALIYO_HIT_JOURNAL_MAX_MB must be a positive number of MiB, not {megabytes:?}"
                )
            })?;
    }
    config.stripe = scaliyo_stripe::StripeConfig::from_env();
    config.stripe_webhook_secret = std::env::var("STRIPE_WEBHOOK_SECRET").ok();
    config.stripe_connect_webhook_secret = std::env::var("STRIPE_CONNECT_WEBHOOK_SECRET").ok();
    if let Ok(url) = std::env::var("APP_URL") {
        config.app_url = url;
    }
    // Local development may point webhooks at a receiver on this machine, when asked.
    config.webhooks_allow_private = matches!(
        std::env::var("WEBHOOKS_ALLOW_PRIVATE").as_deref(),
        Ok("1" | "true")
    );
    config.research_allow_private = matches!(
        std::env::var("RESEARCH_ALLOW_PRIVATE").as_deref(),
        Ok("1") | Ok("true")
    );
    config.ai_worker = scaliyo_app::ai::AiWorkerConfig::from_env();
    // A model when AI_PROVIDER names one (docs/ai.md); AI routes answer 501 otherwise.
    if let Some(model) = scaliyo_ai::ModelConfig::from_env().map_err(|e| e.to_string())? {
        config.ai_model = Some(scaliyo_app::ai::SharedModel(model.build().await));
    }
    let system =
        LocalSystem::open(config.clone(), Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    system.seed().await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let (stop, shutdown) = watch::channel(false);
    let schedules = system.schedules();
    tracing::info!(%addr, data_dir = %config.data_dir.display(), schedules = ?schedules.names(), "scaliyo is serving");
    let workers: Vec<_> = system
        .workers()
        .into_iter()
        .map(|worker| worker.start(shutdown.clone()))
        .chain([system.hit_applier().start(shutdown.clone())])
        .collect();
    let timers = schedules.start(shutdown);
    axum::serve(
        listener,
        system
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    })
    .await
    .map_err(|e| e.to_string())?;
    for handle in timers.into_iter().chain(workers) {
        let _ = handle.await;
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Readable log lines (`RUST_LOG` filters, `info` by default).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
