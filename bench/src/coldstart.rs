//! `bench-coldstart BOOTSTRAP [--runs N] [--event JSON] [--sdk-response JSON] [--env NAME=VALUE]...`: a Lambda bootstrap's
//! cold start, measured locally. A fake Lambda Runtime API on loopback (the three calls a runtime
//! makes: `GET .../invocation/next`, `POST .../invocation/{id}/response` or `.../error`) hands the
//! bootstrap one event; the figures are from spawning the process to its first `GET next` (init: the
//! Tokio runtime, tracing, the SDK configuration and clients) and to its answer to that event (the
//! first handled event). `AWS_ENDPOINT_URL` points the SDK at the same server: every request that is
//! not the Runtime API (the handler's SDK call) gets `--sdk-response` with a 200, or a 500 without it.
//! The median and the slowest of N runs are printed; the process is killed after each run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

enum Seen {
    Next,
    Answer { path: String, body: String },
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut bootstrap = None;
    let mut runs = 20usize;
    let mut event = "{}".to_string();
    let mut sdk_response = None;
    let mut env: Vec<(String, String)> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--event" => event = args.next().expect("--event JSON"),
            "--sdk-response" => sdk_response = Some(args.next().expect("--sdk-response JSON")),
            "--env" => {
                let pair = args.next().expect("--env NAME=VALUE");
                let (k, v) = pair.split_once('=').expect("--env NAME=VALUE");
                env.push((k.to_string(), v.to_string()));
            }
            _ if bootstrap.is_none() => bootstrap = Some(arg),
            other => panic!(
                "unexpected argument {other}; usage: bench-coldstart BOOTSTRAP [--runs N] [--event JSON] [--env NAME=VALUE]..."
            ),
        }
    }
    let bootstrap =
        bootstrap.expect("usage: bench-coldstart BOOTSTRAP [--runs N] [--event JSON] [--env NAME=VALUE]...");
    let (mut to_init, mut to_answer) = (Vec::new(), Vec::new());
    let mut last_answer = String::new();
    for _ in 0..runs {
        let (init, answer, what) = one_run(&bootstrap, &event, sdk_response.as_deref(), &env);
        to_init.push(init);
        to_answer.push(answer);
        last_answer = what;
    }
    println!("{bootstrap}: {runs} cold starts");
    println!("  spawn -> first GET next (init):        {}", summary(&mut to_init));
    println!("  spawn -> answer to the first event:    {}", summary(&mut to_answer));
    println!("  the answer: {last_answer}");
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("median {:.1} ms, slowest {:.1} ms", ms(samples[samples.len() / 2]), ms(samples[samples.len() - 1]))
}

fn one_run(
    bootstrap: &str,
    event: &str,
    sdk_response: Option<&str>,
    env: &[(String, String)],
) -> (Duration, Duration, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let (seen_tx, seen) = mpsc::channel();
    let (event, sdk_response) = (event.to_string(), sdk_response.map(str::to_string));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (seen_tx, event, sdk_response) = (seen_tx.clone(), event.clone(), sdk_response.clone());
            thread::spawn(move || serve(stream, &event, sdk_response.as_deref(), &seen_tx));
        }
    });
    let mut cmd = Command::new(bootstrap);
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_ENDPOINT_URL", format!("http://{addr}"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn the bootstrap");
    let mut init = None;
    let answer = loop {
        match seen.recv_timeout(Duration::from_secs(20)) {
            Ok(Seen::Next) => {
                init.get_or_insert(start.elapsed());
            }
            Ok(Seen::Answer { path, body }) => break (start.elapsed(), format!("POST {path} {body}")),
            Err(_) => {
                let _ = child.kill();
                panic!("no answer from {bootstrap} within 20 s (exit status: {:?})", child.try_wait());
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    (init.expect("an answer comes after a GET next"), answer.0, answer.1)
}

/// One keep-alive connection: answers requests until the client closes it.
fn serve(stream: TcpStream, event: &str, sdk_response: Option<&str>, seen: &mpsc::Sender<Seen>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut out = stream;
    let mut handed_out = false;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").to_string());
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            if handed_out {
                // One event per process: the next poll waits until the process is killed.
                let _ = seen.send(Seen::Next);
                thread::sleep(Duration::from_secs(3600));
                return;
            }
            handed_out = true;
            let _ = seen.send(Seen::Next);
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() + 60_000;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:coldstart\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            )
        } else if method == "POST" && path.contains("/runtime/") {
            let body = String::from_utf8_lossy(&body).chars().take(300).collect();
            let _ = seen.send(Seen::Answer { path, body });
            let ok = r#"{"status":"OK"}"#;
            format!(
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ok}",
                ok.len()
            )
        } else if let Some(json) = sdk_response {
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}", json.len())
        } else {
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                .to_string()
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
