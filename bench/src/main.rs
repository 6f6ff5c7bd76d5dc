//! `cargo run --release -p bench -- [--check]`: times `finetune prepare` (release build, whole
//! process, wall clock, peak RSS) on the benchmark datasets and, when ../shared/bench is beside the repo
//! and Python has `jsonlines`, the Python baseline on the same file in the same run.
//!
//! Like with like: both sides are whole processes (start-up, imports or catalogue, reading, checking,
//! writing train and validation files, exit) timed by wall clock on the same input file; ours also
//! checks far more and writes a report, so the ratio understates the difference. `PYTHON` names the
//! interpreter that has `jsonlines` (default `python3`).
//!
//! Targets (issue 12): prompt/completion 10,000 records at least 20x faster than the baseline; a
//! ~290 MB continued-pre-training corpus at 500 MB/s or more (median of 9 runs) with peak RSS at most
//! 64 MiB. `--check` exits 1 when a target is missed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod measure;
use measure::{Sample, measure};

/// Median wall time and the largest RSS over `runs` runs, after one warm-up.
fn best_of(runs: usize, mut make: impl FnMut() -> Command) -> Sample {
    measure(&mut make());
    let mut samples: Vec<Sample> = (0..runs).map(|_| measure(&mut make())).collect();
    samples.sort_by_key(|s| s.wall);
    let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
    Sample { wall: samples[samples.len() / 2].wall, max_rss_kib: rss }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

fn generate(kind: &str, n: u64, out: &Path, generator: &Path) {
    if out.exists() {
        return;
    }
    let ok = Command::new("python3").arg(generator).args([kind, &n.to_string()]).arg(out).status().expect("python3");
    assert!(ok.success(), "gen_dataset.py failed");
}

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let root = repo_root();
    let reference = root.join("../shared/bench");
    let generator = reference.join("gen_dataset.py");
    if !generator.exists() {
        eprintln!("bench-prepare: {} is missing; the benchmark datasets come from it", generator.display());
        std::process::exit(2);
    }
    let finetune = root.join("target/release/finetune");
    let built =
        Command::new("cargo").args(["build", "--release", "-p", "cli"]).current_dir(&root).status().expect("cargo");
    assert!(built.success());
    let work = std::env::temp_dir().join("finetune-bench");
    std::fs::create_dir_all(&work).unwrap();
    let pc = work.join("pc10000.jsonl");
    let cpt = work.join("cpt90000.jsonl");
    generate("pc", 10_000, &pc, &generator);
    generate("cpt", 90_000, &cpt, &generator);
    let mut missed = Vec::new();

    let ours = best_of(15, || {
        let mut c = Command::new(&finetune);
        c.args(["prepare", pc.to_str().unwrap(), "--model", "amazon.titan-text-express-v1", "--out"])
            .arg(work.join("out-pc"));
        c
    });
    println!(
        "prompt/completion 10,000 records: finetune prepare {:.1} ms (peak RSS {} KiB)",
        ms(ours.wall),
        ours.max_rss_kib
    );
    let baseline = reference.join("python_baseline.py");
    let python_bin = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let has_jsonlines = Command::new(&python_bin).args(["-c", "import jsonlines"]).status().is_ok_and(|s| s.success());
    if has_jsonlines {
        let python = best_of(7, || {
            let mut c = Command::new(&python_bin);
            c.arg(&baseline).arg(&pc).arg(work.join("out-py"));
            c
        });
        let speedup = python.wall.as_secs_f64() / ours.wall.as_secs_f64();
        println!("  python_baseline.py {:.1} ms -> {speedup:.1}x faster (target >= 20x)", ms(python.wall));
        if speedup < 20.0 {
            missed.push(format!("speed-up {speedup:.1}x < 20x"));
        }
    } else {
        println!("  (python baseline skipped: `pip install jsonlines` to compare)");
    }

    let size = std::fs::metadata(&cpt).unwrap().len() as f64;
    let ours = best_of(9, || {
        let mut c = Command::new(&finetune);
        c.args([
            "prepare",
            cpt.to_str().unwrap(),
            "--model",
            "amazon.titan-text-express-v1",
            "--type",
            "CONTINUED_PRE_TRAINING",
            "--out",
        ])
        .arg(work.join("out-cpt"));
        c
    });
    let mbps = size / 1e6 / ours.wall.as_secs_f64();
    let rss_mib = ours.max_rss_kib as f64 / 1024.0;
    println!(
        "continued pre-training {:.0} MB: {:.0} ms -> {mbps:.0} MB/s (target >= 500), peak RSS {rss_mib:.1} MiB (target <= 64)",
        size / 1e6,
        ms(ours.wall)
    );
    if mbps < 500.0 {
        missed.push(format!("{mbps:.0} MB/s < 500 MB/s"));
    }
    if rss_mib > 64.0 {
        missed.push(format!("peak RSS {rss_mib:.1} MiB > 64 MiB"));
    }
    if check && !missed.is_empty() {
        eprintln!("missed: {}", missed.join("; "));
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
