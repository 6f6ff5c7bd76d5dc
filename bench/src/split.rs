//! `cargo run --release -p bench --bin bench-split -- <MiB>... [--mbps N] [--format cpt|chat] [--cpus L]`: runs
//! the real validate-split handler (one ValidateSplit task, as the state machine calls it) on a
//! generated dataset of each size held by the local S3, through a proxy that limits the S3 traffic
//! to `--mbps` MB/s in each direction (default 75: what a Lambda function gets, see the README's
//! "Large datasets"). The handler runs in its own process (pinned to the CPUs `L` with taskset, e.g.
//! `0` for one core, the share a Lambda gets at 1,769 MB); the wall time and that process's peak RSS
//! are printed, with the throughput.
//!
//! Internals, run by the command above: `serve <root> <mbps>` (the local S3 and the proxy; prints
//! the proxy's URL) and `run <url> <key> <model> <type>` (the handler, once).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod measure;
use measure::measure;

const BUCKET: &str = "bench-bucket";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(Path::new(&args[1]), args[2].parse().expect("MB/s")),
        Some("run") => run(&args[1], &args[2], &args[3], &args[4]),
        _ => orchestrate(&args),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn orchestrate(args: &[String]) {
    let mbps: f64 = flag(args, "--mbps").map_or(75.0, |v| v.parse().expect("--mbps"));
    let format = flag(args, "--format").unwrap_or("cpt");
    let sizes: Vec<u64> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.parse().expect("a size in MiB"))
        .collect();
    let sizes = if sizes.is_empty() { vec![300] } else { sizes };
    let (model, kind) = match format {
        // Titan takes continued pre-training files up to 1 GB; Claude 3 Haiku fine-tuning files up to 10 GB.
        "cpt" => ("amazon.titan-text-express-v1:0:8k", "CONTINUED_PRE_TRAINING"),
        _ => ("anthropic.claude-3-haiku-20240307-v1:0:200k", "FINE_TUNING"),
    };
    let exe = std::env::current_exe().expect("own path");
    let work = tempfile::tempdir().expect("temp dir");
    let mut server = Command::new(&exe)
        .args(["serve", work.path().join("s3").to_str().expect("utf-8"), &mbps.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the local S3");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let direct = lines.next().expect("direct url").expect("read");
    let throttled = lines.next().expect("proxy url").expect("read");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("S3 traffic limited to {mbps} MB/s each way; {format} ({model})");
    println!("| dataset | records | wall | throughput | peak RSS of the handler |");
    println!("|---|---|---|---|---|");
    for mib in sizes {
        let key = format!("incoming/bench-{mib}.jsonl");
        let file = work.path().join(format!("bench-{mib}.jsonl"));
        let records = generate(&file, mib << 20, format);
        runtime.block_on(upload(&direct, &key, &file));
        std::fs::remove_file(&file).expect("remove the generated file");
        let sample = match flag(args, "--cpus") {
            // taskset execs the handler in place: the wait and the RSS are the handler's own.
            Some(cpus) => measure(
                Command::new("taskset").args(["-c", cpus]).arg(&exe).args(["run", &throttled, &key, model, kind]),
            ),
            None => measure(Command::new(&exe).args(["run", &throttled, &key, model, kind])),
        };
        let mb = (mib << 20) as f64 / 1e6;
        println!(
            "| {mib} MiB | {records} | {:.1} s | {:.1} MB/s | {:.1} MiB |",
            sample.wall.as_secs_f64(),
            mb / sample.wall.as_secs_f64(),
            sample.max_rss_kib as f64 / 1024.0
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// A dataset of about `bytes`: varied records (so the hash split has something to split).
fn generate(path: &Path, bytes: u64, format: &str) -> u64 {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"];
    let (mut written, mut n) = (0u64, 0u64);
    let mut text = String::new();
    while written < bytes {
        text.clear();
        let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        // ~2 KB of text per record; ~30 KB for Claude 3 Haiku, which takes at most 10,000 records.
        let target = if format == "cpt" { 2000 } else { 30_000 };
        while text.len() < target {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(words[(x % words.len() as u64) as usize]);
            text.push(' ');
        }
        let line = match format {
            "cpt" => format!("{{\"input\": \"record {n}: {text}\"}}\n"),
            _ => format!(
                "{{\"system\": \"You summarise tickets.\", \"messages\": [{{\"role\": \"user\", \"content\": \"ticket {n}: {text}\"}}, \
                 {{\"role\": \"assistant\", \"content\": \"summary {n}\"}}]}}\n"
            ),
        };
        out.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        n += 1;
    }
    out.flush().expect("flush");
    n
}

async fn upload(url: &str, key: &str, file: &Path) {
    let s3 = client(url).await;
    let body = aws_sdk_s3::primitives::ByteStream::from_path(file).await.expect("read the dataset");
    s3.put_object().bucket(BUCKET).key(key).body(body).send().await.expect("upload the dataset");
}

async fn client(url: &str) -> aws_sdk_s3::Client {
    let mut endpoints = local_cloud::Endpoints::new("us-east-1");
    endpoints.s3 = Some(url.to_string());
    let sdk = local_cloud::sdk_config(&endpoints).await;
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
}

/// The local S3 on a free port and a throttling proxy in front of it; prints both URLs.
fn serve(root: &Path, mbps: f64) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let (addr, s3) = local_cloud::LocalS3::start(PathBuf::from(root), "us-east-1").await.expect("local S3");
        s3.create_bucket(BUCKET).expect("bucket");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("http://{addr}");
        println!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(Limiter::new(mbps * 1e6));
        let down = Arc::new(Limiter::new(mbps * 1e6));
        loop {
            let (client, _) = listener.accept().await.expect("accept");
            let (up, down) = (up.clone(), down.clone());
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(addr).await else { return };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let a = tokio::spawn(pipe(cr, sw, up));
                let b = tokio::spawn(pipe(sr, cw, down));
                let _ = tokio::join!(a, b);
            });
        }
    });
}

/// One direction's bandwidth, shared by every connection: a byte may pass only at its slot in time.
struct Limiter {
    bytes_per_second: f64,
    next_free: Mutex<Instant>,
}

impl Limiter {
    fn new(bytes_per_second: f64) -> Limiter {
        Limiter { bytes_per_second, next_free: Mutex::new(Instant::now()) }
    }

    fn reserve(&self, n: usize) -> Instant {
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*next).max(Instant::now());
        *next = start + Duration::from_secs_f64(n as f64 / self.bytes_per_second);
        *next
    }
}

async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, limit: Arc<Limiter>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tokio::time::sleep_until(limit.reserve(n).into()).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// One ValidateSplit task against `url`, as the Lambda runs it (its environment: the template's
/// defaults for `model`, caps wide enough for the bench).
fn run(url: &str, key: &str, model: &str, kind: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let mut endpoints = local_cloud::Endpoints::new("us-east-1");
        endpoints.s3 = Some(url.to_string());
        let sdk = local_cloud::sdk_config(&endpoints).await;
        let env = functions_common::Env::from_vars([
            ("BASE_MODEL", model),
            ("CUSTOMIZATION_TYPE", kind),
            ("ALLOWED_BASE_MODELS", model),
            ("DEPLOYMENT_MODE", "none"),
            ("ALLOWED_DEPLOYMENT_MODES", "none"),
            ("MAX_TRAINING_COST_USD", "1000000000"),
            ("UNPRICED_MODELS_ALLOWED", "true"),
            ("ROLE_ARN", "arn:aws:iam::123456789012:role/bench"),
            ("FINETUNE_S3_PATH_STYLE", "true"),
        ]);
        let deps = validate_split::Deps::from_env(&sdk, &env);
        let request = shared::pipeline::ValidateRequest {
            input: serde_json::json!({"dataset": format!("s3://{BUCKET}/{key}")}),
            execution_name: "bench".to_string(),
        };
        let started = Instant::now();
        match validate_split::on_request(&deps, request).await {
            Ok(run) => eprintln!(
                "valid: {} train {} validation {} in {:.1} s",
                run.data.valid,
                run.data.train_records,
                run.data.validation_records,
                started.elapsed().as_secs_f64()
            ),
            // An invalid dataset streams and uploads the same way before its uploads are aborted.
            Err(e) => eprintln!("{}: {e} ({:.1} s)", e.error_type(), started.elapsed().as_secs_f64()),
        }
    });
}
