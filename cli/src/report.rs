//! `finetune report RUN`: where a local run's `report.html` is (printed), or the page opened in the
//! desktop's browser (`--open`). With `--stack NAME` or `--local [DIR]` the page is the one the
//! run's teardown wrote beside `report.json` in the stack's bucket (`runs/<id>/report.html`): it is
//! fetched into a file (`--out`, default `<run-id>-report.html` here), then printed or opened.

use crate::ops::target::TargetArgs;
use crate::output::{CliError, Exit, Stdout, note};
use crate::validate::absolute;
use clap::Args;
use shared::pipeline::layout;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ReportArgs {
    /// The run id `finetune run` printed (a unique prefix of it is enough).
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// The local cloud's data folder the run used.
    #[arg(long, value_name = "DIR", default_value = ".local-cloud")]
    pub data_dir: PathBuf,
    /// Open the page in the default browser (xdg-open, or open on macOS) instead of printing its path.
    #[arg(long)]
    pub open: bool,
    /// With --stack or --local: where to save the fetched page (default: RUN_ID-report.html here).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The run is in a deployed stack (--stack) or a served local cloud (--local): fetch its page.
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn report(args: ReportArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    if args.target.stack.is_some() || args.target.local.is_some() {
        return remote(args, out);
    }
    let runs =
        local_stack::bookkeeping_dir(&args.data_dir).join("s3").join(local_stack::BUCKET).join(layout::RUNS_PREFIX);
    let runs = [args.data_dir.join(local_stack::BUCKET).join(layout::RUNS_PREFIX), runs]
        .into_iter()
        .find(|p| p.is_dir())
        .ok_or_else(|| {
            CliError::usage(format!("{} holds no runs", args.data_dir.display()))
                .with_hint("`finetune run FILE --data-dir DIR` makes one; give the same --data-dir here")
        })?;
    let run_id = find_run(&runs, &args.run)?;
    let page = runs.join(&run_id).join("report.html");
    if !page.is_file() {
        return Err(CliError::failure(format!(
            "run {run_id} has no report.html (it was made before reports existed, or its writing failed)"
        )));
    }
    show(&page, args.open, out)
}

/// The page from the stack's bucket, saved to a file.
fn remote(args: ReportArgs, out: &mut Stdout) -> Result<Exit, CliError> {
    let path = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}-report.html", args.run)));
    crate::ops::runtime()?.block_on(async {
        let cloud = crate::ops::target::resolve(&args.target).await?;
        let key = layout::html_report_key(&args.run);
        let Some(page) = crate::ops::history::read_object(&cloud, &key).await? else {
            return Err(CliError::failure(format!(
                "no s3://{}/{key} in {}: the run is still going, never started, or ended before reports existed",
                cloud.outputs.bucket, cloud.label
            ))
            .with_hint(format!(
                "`finetune status {}{}` says where the run is; teardown writes the page when it ends",
                args.run,
                crate::ops::target_flags(&args.target)
            )));
        };
        std::fs::write(&path, &page).map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
        Ok::<(), CliError>(())
    })?;
    show(&path, args.open, out)
}

/// Opens the page in the browser (saying so on stderr), or prints its path on stdout.
fn show(page: &Path, open_it: bool, out: &mut Stdout) -> Result<Exit, CliError> {
    if open_it {
        open(page)?;
        note(&format!("opened {}", absolute(page)));
    } else {
        out.text(&format!("{}\n", absolute(page)))?;
    }
    Ok(Exit::Success)
}

/// The run whose id is `wanted`, or the only one that starts with it.
fn find_run(runs: &Path, wanted: &str) -> Result<String, CliError> {
    let ids: Vec<String> = std::fs::read_dir(runs)
        .map_err(|e| CliError::unreadable(runs, &e))?
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    if ids.iter().any(|id| id == wanted) {
        return Ok(wanted.to_string());
    }
    let matching: Vec<&String> = ids.iter().filter(|id| id.starts_with(wanted)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError::usage(format!("no run `{wanted}` in {}", runs.display()))
            .with_hint(format!("runs there: {}", if ids.is_empty() { "none".to_string() } else { ids.join(", ") }))),
        many => Err(CliError::usage(format!(
            "`{wanted}` matches {} runs: {}; give more of the id",
            many.len(),
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn open(page: &Path) -> Result<(), CliError> {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let status = std::process::Command::new(opener).arg(page).status().map_err(|e| {
        CliError::failure(format!("cannot run {opener}: {e}")).with_hint("open the printed path yourself")
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::failure(format!("{opener} {} failed ({status})", page.display())))
    }
}
