//! Starts the local system in-process on a free loopback port, as `scaliyo serve` would.

use std::sync::Arc;

use scaliyo_local::{LocalConfig, LocalSystem};
use scaliyo_store::{Clock, SystemClock};

pub struct RunningLocal {
    pub base_url: String,
    pub system: LocalSystem,
    pub data_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl RunningLocal {
    pub async fn start() -> RunningLocal {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> RunningLocal {
        Self::start_configured(clock, |_| {}).await
    }

    /// With the data directory in memory (`/dev/shm`) where the machine has one, so that a
    /// fsync costs nothing: for long tests about behaviour (the hostile-tenant model test
    /// makes thousands of writes), never for benchmarks, whose figures must include it.
    pub async fn start_on_tmpfs() -> RunningLocal {
        let data_dir = match tempfile::tempdir_in("/dev/shm") {
            Ok(dir) => dir,
            Err(_) => tempfile::tempdir().expect("a temporary data directory"),
        };
        Self::start_in(data_dir, Arc::new(SystemClock), |_| {}).await
    }

    /// With a configuration changed before the system opens (e.g. the social networks'
    /// base URLs pointed at local fakes).
    pub async fn start_configured(
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut LocalConfig),
    ) -> RunningLocal {
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        Self::start_in(data_dir, clock, configure).await
    }

    async fn start_in(
        data_dir: tempfile::TempDir,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut LocalConfig),
    ) -> RunningLocal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let mut config = LocalConfig::new(addr, data_dir.path().to_path_buf());
        configure(&mut config);
        let system = LocalSystem::open(config, clock).expect("open the local system");
        system.seed().await.expect("seed the local system");
        let router = system.router();
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        RunningLocal {
            base_url: format!("http://{addr}"),
            system,
            data_dir,
            server,
        }
    }

    /// Applies the hits the pixel and the redirect journalled (the local applier does it
    /// within a second when `scaliyo serve` runs; tests do it when they need the rows).
    pub async fn apply_hits(&self) -> scaliyo_app::tracking::ApplyReport {
        self.system
            .hit_applier()
            .drain()
            .await
            .expect("the journalled hits are applied")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for RunningLocal {
    fn drop(&mut self) {
        self.server.abort();
    }
}
