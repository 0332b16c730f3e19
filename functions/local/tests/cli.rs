//! The `scaliyo` binary as a newcomer uses it: `token` prints a bearer token; `serve` answers
//! `/health`, stops cleanly on SIGTERM, and finds its data again after a restart.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, free_port, serve, wait_healthy};

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn token_prints_a_jwt_for_a_user_and_role() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "token",
            "--user",
            "7f0c6c52-5b7e-4c1e-9d55-3f6a1c2b9e10",
            "--role",
            "ADMIN",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3, "{token}");

    let bad = Command::new(BIN)
        .args(["token", "--user", "not-a-uuid", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--user must be a UUID"));
}

#[tokio::test]
async fn serve_answers_health_stops_on_sigterm_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = serve(dir.path(), port);
    let response = wait_healthy(port).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let status = terminate(server);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(dir.path().join("store.redb").exists());

    // The same data directory opens again.
    let port = free_port();
    let server = serve(dir.path(), port);
    assert_eq!(wait_healthy(port).await.status(), 200);
    assert!(terminate(server).success());
}

/// `scaliyo import` with a running server (it holds the store: the import goes through the
/// server's API) and without one (in this process), printing the batch summary.
#[tokio::test]
async fn import_runs_through_the_server_or_in_process_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leads.csv");
    std::fs::write(
        &csv,
        "First Name,Last Name,Email\nGrace,Hopper,grace@navy.mil\nAda,Lovelace,ada@\n",
    )
    .unwrap();
    let port = free_port();
    let server = serve(dir.path(), port);
    wait_healthy(port).await;
    let user = uuid::Uuid::new_v4().to_string();
    let token = Command::new(BIN)
        .args(["token", "--user", &user, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let signed_up = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/profiles"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "id": user, "email": "ada@example.com", "name": "Ada" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);

    let import = |extra: &[&str]| {
        let mut command = Command::new(BIN);
        command
            .args(["import"])
            .arg(&csv)
            .args([
                "--user",
                &user,
                "--server",
                &format!("http://127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .args(extra);
        command.output().unwrap()
    };
    // The server is another process: waiting for the command here is fine.
    let through_server = import(&[]);
    let out = String::from_utf8_lossy(&through_server.stdout);
    assert!(
        through_server.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&through_server.stderr)
    );
    assert!(out.contains("completed"), "{out}");
    assert!(
        out.contains("rows: 2  imported: 1  updated: 0  skipped: 1"),
        "{out}"
    );
    assert!(out.contains("row 3: invalid_email"), "{out}");
    assert!(terminate(server).success());

    // No server now: the same file again, in process; everything is a duplicate.
    let in_process = import(&[]);
    let out = String::from_utf8_lossy(&in_process.stdout);
    assert!(
        in_process.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&in_process.stderr)
    );
    assert!(
        out.contains("rows: 2  imported: 0  updated: 0  skipped: 2"),
        "{out}"
    );
    assert!(out.contains("row 2: duplicate_existing"), "{out}");

    let stranger = Command::new(BIN)
        .args(["import"])
        .arg(&csv)
        .args(["--user", &uuid::Uuid::new_v4().to_string(), "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!stranger.status.success());
    assert!(
        String::from_utf8_lossy(&stranger.stderr).contains("sign up first"),
        "{}",
        String::from_utf8_lossy(&stranger.stderr)
    );
}
