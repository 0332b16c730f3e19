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
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let system =
            LocalSystem::open(LocalConfig::new(addr, data_dir.path().to_path_buf()), clock)
                .expect("open the local system");
        let router = system.router();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        RunningLocal {
            base_url: format!("http://{addr}"),
            system,
            data_dir,
            server,
        }
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
