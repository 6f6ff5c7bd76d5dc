//! The one place `finetune` writes to the terminal. Every command uses it, so every command follows
//! the same conventions (README.md, "Command-line conventions", says them for users):
//!
//! - **Streams.** stdout carries the result only (the text summary, or one JSON document with
//!   `--json`); progress, notes and errors go to stderr. `finetune run F --json > out.json` leaves a
//!   clean document whatever else happens.
//! - **Exit status** ([`Exit`]): 0 success (valid, SUCCEEDED), 1 a negative verdict (invalid dataset,
//!   a run that FAILED, TIMED_OUT or was ABORTED), 2 a usage error (bad flags, a missing file, an
//!   invalid config or fault spec: fix the command and run it again), 3 the command could not finish
//!   (output cannot be written, e.g. a full disk; the local cloud failed), 141 stdout was closed by the
//!   reader (`| head`): quietly, as a process killed by SIGPIPE would report.
//! - **Errors** ([`CliError`]): `finetune: <what is wrong>` on stderr, then each problem on its own
//!   line (never cut), then what to do.
//! - **JSON** ([`json`]): one document per command on one line, every key always present (`null`
//!   when not applicable), numbers with 6 significant digits but never fewer than 6 decimals and
//!   never an exponent, units in key names, absolute paths.
//! - **Progress** ([`progress`]): on a terminal, a poll loop is one live line; on a pipe, one line per
//!   state change, with a count for a loop.
//!
//! `println!` and friends panic when stdout is closed or full; clippy's `disallowed-macros`
//! (cli/clippy.toml) keeps them out of this crate.

pub mod json;
pub mod progress;
pub mod table;

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// The exit status of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The dataset is valid; the run SUCCEEDED.
    Success,
    /// The dataset is invalid; the run FAILED, TIMED_OUT or was ABORTED.
    Negative,
    /// Bad flags or input: a missing file, an unknown model, an invalid config.
    Usage,
    /// The command could not finish: output could not be written, the local cloud failed.
    Failure,
    /// The reader closed stdout (`finetune ... | head -3`).
    ClosedOutput,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Negative => 1,
            Exit::Usage => 2,
            Exit::Failure => 3,
            // 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe.
            Exit::ClosedOutput => 141,
        }
    }

    /// 0 when `ok`, 1 otherwise.
    pub fn verdict(ok: bool) -> Exit {
        if ok { Exit::Success } else { Exit::Negative }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Why a command stopped before its verdict: what is wrong, each problem, what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    /// One line each, printed whole.
    pub problems: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// Bad flags or input (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { exit: Exit::Usage, message: message.into(), problems: Vec::new(), hint: None }
    }

    /// The command could not finish (exit 3).
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError { exit: Exit::Failure, message: message.into(), problems: Vec::new(), hint: None }
    }

    /// stdout was closed by its reader: not worth a message.
    pub fn closed_output() -> CliError {
        CliError { exit: Exit::ClosedOutput, message: String::new(), problems: Vec::new(), hint: None }
    }

    pub fn with_problems(mut self, problems: impl IntoIterator<Item = impl Into<String>>) -> CliError {
        self.problems.extend(problems.into_iter().map(Into::into));
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// A file that could not be read, named, with the reason in words: a missing file says it does
    /// not exist, a folder says it is a folder.
    pub fn unreadable(path: &std::path::Path, error: &io::Error) -> CliError {
        let shown = path.display();
        let message = match error.kind() {
            io::ErrorKind::NotFound => format!("{shown} does not exist"),
            io::ErrorKind::PermissionDenied => format!("{shown} cannot be read: permission denied"),
            io::ErrorKind::IsADirectory => format!("{shown} is a folder, not a file"),
            _ if path.is_dir() => format!("{shown} is a folder, not a file"),
            _ => format!("cannot read {shown}: {error}"),
        };
        CliError::usage(message)
    }

    /// The text printed on stderr; empty for a closed output.
    pub fn render(&self) -> String {
        if self.exit == Exit::ClosedOutput {
            return String::new();
        }
        let mut text = format!("finetune: {}\n", self.message);
        for problem in &self.problems {
            text.push_str(&format!("  - {problem}\n"));
        }
        if let Some(hint) = &self.hint {
            text.push_str(&format!("  {hint}\n"));
        }
        text
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

/// Where results go. A write that fails is an error the command returns, never a panic: a reader
/// that closed the pipe gives [`Exit::ClosedOutput`], anything else (a full disk) [`Exit::Failure`].
pub struct Stdout {
    out: io::Stdout,
}

impl Stdout {
    pub fn new() -> Stdout {
        Stdout { out: io::stdout() }
    }

    pub fn text(&mut self, text: &str) -> Result<(), CliError> {
        self.out.lock().write_all(text.as_bytes()).map_err(output_error)
    }

    /// One JSON document on one line (see [`json::to_string`] for the number format).
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CliError> {
        let mut line =
            json::to_string(value).map_err(|e| CliError::failure(format!("cannot encode the output: {e}")))?;
        line.push('\n');
        self.text(&line)
    }

    /// Called once before exiting: buffered output that cannot be written is reported too.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.out.flush().map_err(output_error)
    }
}

impl Default for Stdout {
    fn default() -> Stdout {
        Stdout::new()
    }
}

fn output_error(error: io::Error) -> CliError {
    if error.kind() == io::ErrorKind::BrokenPipe {
        CliError::closed_output()
    } else {
        CliError::failure(format!("cannot write the output to stdout: {error}"))
    }
}

/// Diagnostics (notes, warnings, errors) on stderr. A stderr that cannot be written leaves nowhere
/// to say so: such writes are dropped.
pub fn diagnostic(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = err.write_all(b"\n");
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: no progress and no notes; errors are still shown.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

pub fn is_quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A note on stderr, `finetune: note: ...`, unless `--quiet`.
pub fn note(text: &str) {
    if !is_quiet() {
        diagnostic(&format!("finetune: note: {text}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_list_every_problem_whole_and_end_with_what_to_do() {
        let long = "x".repeat(500);
        let e = CliError::usage("the config is invalid (2 problems)")
            .with_problems([format!("a: {long}"), "b: too big".to_string()])
            .with_hint("fix pipeline.json and run again");
        assert_eq!(
            e.render(),
            format!(
                "finetune: the config is invalid (2 problems)\n  - a: {long}\n  - b: too big\n  fix pipeline.json and run again\n"
            )
        );
        assert_eq!(e.exit.code(), 2);
        assert_eq!(CliError::closed_output().render(), "");
    }

    #[test]
    fn unreadable_files_say_why_in_words() {
        let missing = std::path::Path::new("/nonexistent/data.jsonl");
        let e = CliError::unreadable(missing, &io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(e.message, "/nonexistent/data.jsonl does not exist");
        let dir = tempfile::tempdir().unwrap();
        let e = CliError::unreadable(dir.path(), &io::Error::other("Is a directory (os error 21)"));
        assert!(e.message.ends_with("is a folder, not a file"), "{}", e.message);
    }

    #[test]
    fn a_closed_pipe_is_quiet_and_other_write_errors_are_failures() {
        assert_eq!(output_error(io::Error::from(io::ErrorKind::BrokenPipe)).exit, Exit::ClosedOutput);
        let full = output_error(io::Error::from_raw_os_error(28));
        assert_eq!(full.exit, Exit::Failure);
        assert!(full.message.contains("stdout"), "{}", full.message);
        assert_eq!([Exit::Success, Exit::Negative, Exit::Usage, Exit::Failure].map(Exit::code), [0, 1, 2, 3]);
    }
}
