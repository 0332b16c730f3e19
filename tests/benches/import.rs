//! Lead imports on the embedded store: rows/s and peak RSS for generated CSVs of 10k, 100k
//! and 1M rows with 20% duplicates. Each import runs in a child process of this binary so
//! that its peak RSS (VmHWM) is its own.
//!
//! `cargo bench -p scaliyo-tests --bench import`; figures in docs/BENCHMARKS.md.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use scaliyo_app::access::Actor;
use scaliyo_app::import::{Progress, StartRequest, source_key};
use scaliyo_local::{IMPORTS_BUCKET, LocalConfig, LocalSystem};
use scaliyo_store::{Blobs, SystemClock};
use serde_json::json;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const RUNS: usize = 3;

fn generate(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
    writeln!(out, "First Name,Last Name,Title,Company,Email,Person Linkedin Url,Mobile Phone,City,Country,Industry,# Employees").expect("write");
    let mut people = 0usize;
    for i in 0..rows {
        // Every fifth row repeats an earlier person (20% duplicates).
        let person = if i % 5 == 4 {
            (i * 7919) % people.max(1)
        } else {
            people += 1;
            people - 1
        };
        writeln!(
            out,
            "First{person},Last{person},\"Head of Sales, EMEA\",Company {c},person{person}@company{c}.example,https://www.linkedin.com/in/person-{person},+44 20 7946 {p:04},London,United Kingdom,Software,51-200",
            c = person % 997,
            p = person % 10_000
        )
        .expect("write");
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The child: one import of `file` into a fresh data directory.
async fn child(file: &Path) {
    let data = tempfile::tempdir().expect("data dir");
    let system = LocalSystem::open(
        LocalConfig::new(
            "127.0.0.1:0".parse().expect("addr"),
            data.path().to_path_buf(),
        ),
        Arc::new(SystemClock),
    )
    .expect("local system");
    let owner = scaliyo_domain::ids::OwnerId::new_random();
    let actor = Actor::acting_for(owner);
    let rows = system.access.rows();
    rows.create(
        &scaliyo_domain::schema::PROFILES,
        None,
        json!({ "id": owner, "email": "bench@example.com" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .await
    .expect("profile");
    rows.create(
        &scaliyo_domain::schema::SUBSCRIPTIONS,
        None,
        json!({ "user_id": owner, "plan": "Scale", "status": "active" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .await
    .expect("subscription");
    let started = system
        .importer
        .start(
            &actor,
            StartRequest {
                file_name: "bench.csv".into(),
                file_type: Some("apollo".into()),
                column_mapping: Default::default(),
                options: Default::default(),
                // The bench streams the object in itself; the declared size only signs the
                // presigned URL, which it does not use.
                content_length: 1,
            },
        )
        .await
        .expect("start");
    let batch_id = started.batch["id"].as_str().unwrap_or_default().to_owned();
    let key = source_key(owner, &batch_id);
    // Place the file in the blob store (a copy, as S3 would hold it), outside the timing.
    // Streamed in, so that the setup itself does not hold the file in memory.
    let reader = tokio::fs::File::open(file).await.expect("open");
    let chunks = futures::stream::unfold(reader, |mut reader| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; 256 * 1024];
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), reader))
            }
        }
    });
    system
        .blobs
        .put_stream(IMPORTS_BUCKET, &key, Box::pin(chunks), Some("text/csv"))
        .await
        .expect("put");
    let rss_before = peak_rss_kib();
    let started_at = Instant::now();
    let progress = system
        .importer
        .process_object(
            &scaliyo_store::ObjectCreated {
                bucket: IMPORTS_BUCKET.to_owned(),
                key: key.clone(),
            },
            None,
        )
        .await
        .expect("import");
    let elapsed = started_at.elapsed().as_secs_f64();
    assert!(
        matches!(progress, Progress::Completed { .. }),
        "{progress:?}"
    );
    let batch = system
        .access
        .get(&actor, "import_batches", &batch_id)
        .await
        .expect("batch");
    println!(
        "{}",
        json!({
            "rows": batch["total_rows"], "imported": batch["imported_count"], "skipped": batch["skipped_count"],
            "seconds": elapsed, "peak_rss_kib": peak_rss_kib(), "rss_before_kib": rss_before,
        })
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The allocator of `scaliyo serve` (functions/local/src/main.rs, ADR 0031).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // The process set-up of `scaliyo serve` (functions/local/src/main.rs).
    scaliyo_local::allocator::tune_allocator();
    let runtime = scaliyo_local::runtime().expect("a runtime");
    runtime.block_on(parent_or_child());
}

async fn parent_or_child() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[position + 1])).await;
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let me = std::env::current_exe().expect("this binary");
    let sizes: Vec<usize> = match std::env::var("IMPORT_BENCH_ROWS") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let runs: usize = std::env::var("IMPORT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RUNS);
    for rows in sizes {
        let file = dir.path().join(format!("leads-{rows}.csv"));
        generate(&file, rows);
        let size_mib = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
        let mut rates = Vec::new();
        let mut rss = Vec::new();
        for run in 0..runs {
            let output = std::process::Command::new(&me)
                .arg("--child")
                .arg(&file)
                .output()
                .expect("child");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = String::from_utf8_lossy(&output.stdout);
            let result: serde_json::Value =
                serde_json::from_str(line.lines().last().unwrap_or("{}")).expect("a result");
            let rate =
                result["rows"].as_f64().unwrap_or(0.0) / result["seconds"].as_f64().unwrap_or(1.0);
            let peak = result["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0;
            println!(
                "{rows} rows ({size_mib:.1} MiB), run {run}: {:.2} s, {rate:.0} rows/s, imported {}, skipped {}, peak RSS {peak:.1} MiB",
                result["seconds"].as_f64().unwrap_or(0.0),
                result["imported"],
                result["skipped"]
            );
            rates.push(rate);
            rss.push(peak);
        }
        println!(
            "{rows} rows: median {:.0} rows/s, median peak RSS {:.1} MiB (max {:.1})",
            median(&mut rates),
            median(&mut rss.clone()),
            rss.iter().cloned().fold(0.0, f64::max)
        );
    }
}
