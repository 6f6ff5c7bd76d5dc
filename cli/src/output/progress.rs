//! Progress while something runs, on stderr: each state as it is entered. A poll loop (its states
//! are named `Wait*`, `Check*` and `*Status`) is one line with a count and how long it lasted,
//! `WaitForJob ×5, 25 min (with CheckJob, JobStatus)`: on a terminal that line is redrawn in place as
//! the loop goes; on a pipe it is written once, when the loop ends, so a log gets one line per state
//! change instead of one per poll.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

pub struct Progress {
    out: Option<Box<dyn Write + Send>>,
    live: bool,
    group: Option<Group>,
}

/// The poll loop being followed.
struct Group {
    first: String,
    others: Vec<String>,
    count: u32,
    started: Duration,
    last: Duration,
}

impl Progress {
    /// On stderr: live when stderr is a terminal, plain lines otherwise, nothing when `quiet`.
    pub fn stderr(quiet: bool) -> Progress {
        if quiet {
            return Progress { out: None, live: false, group: None };
        }
        let live = io::stderr().is_terminal();
        Progress { out: Some(Box::new(io::stderr())), live, group: None }
    }

    /// Into any writer (tests).
    #[cfg(test)]
    pub fn to_writer(out: Box<dyn Write + Send>, live: bool) -> Progress {
        Progress { out: Some(out), live, group: None }
    }

    /// A line of its own, after closing any loop line.
    pub fn line(&mut self, text: &str) {
        self.close_group(None);
        self.write(&format!("{text}\n"));
    }

    /// A state entered `at` after the start.
    pub fn state(&mut self, name: &str, at: Duration) {
        if is_polling(name) {
            match &mut self.group {
                Some(group) => {
                    if name == group.first {
                        group.count += 1;
                    } else if !group.others.iter().any(|o| o == name) {
                        group.others.push(name.to_string());
                    }
                    group.last = at;
                }
                None => {
                    self.group =
                        Some(Group { first: name.to_string(), others: Vec::new(), count: 1, started: at, last: at });
                }
            }
            if self.live {
                let line = self.group.as_ref().map(|g| g.render(g.last)).unwrap_or_default();
                self.write(&format!("\r\x1b[2K{line}"));
            }
        } else {
            self.close_group(Some(at));
            self.write(&format!("{}\n", state_line(at, name)));
        }
    }

    /// Ends the loop line, if one is open.
    pub fn finish(&mut self) {
        self.close_group(None);
    }

    fn close_group(&mut self, at: Option<Duration>) {
        let Some(group) = self.group.take() else { return };
        let line = group.render(at.unwrap_or(group.last));
        if self.live {
            self.write(&format!("\r\x1b[2K{line}\n"));
        } else {
            self.write(&format!("{line}\n"));
        }
    }

    fn write(&mut self, text: &str) {
        if let Some(out) = &mut self.out {
            // Progress that cannot be shown is not worth stopping the work for.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }
}

impl Group {
    fn render(&self, until: Duration) -> String {
        let mut line = format!(
            "{} ×{}, {}",
            state_line(self.started, &self.first),
            self.count,
            human_duration(until.saturating_sub(self.started))
        );
        if !self.others.is_empty() {
            line.push_str(&format!(" (with {})", self.others.join(", ")));
        }
        line
    }
}

fn is_polling(name: &str) -> bool {
    name.starts_with("Wait") || name.starts_with("Check") || name.ends_with("Status")
}

fn state_line(at: Duration, name: &str) -> String {
    let minutes = at.as_secs() / 60;
    format!("  [t+{:>2}h{:02}m] {name}", minutes / 60, minutes % 60)
}

/// `40 s`, `25 min`, `2 h 14 min`.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn follow(live: bool) -> String {
        let buffer = Shared::default();
        let mut progress = Progress::to_writer(Box::new(buffer.clone()), live);
        let min = |m: u64| Duration::from_secs(60 * m);
        progress.line("Uploaded");
        progress.state("StartJob", min(0));
        for (i, at) in [0, 5, 7, 11, 16].into_iter().enumerate() {
            progress.state("WaitForJob", min(at));
            progress.state("CheckJob", min(at + [5, 2, 4, 5, 9][i]));
            progress.state("JobStatus", min(at + [5, 2, 4, 5, 9][i]));
        }
        progress.state("Provision", min(25));
        progress.state("WaitForDeployment", min(25));
        progress.finish();
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn on_a_pipe_a_poll_loop_is_one_line_with_its_count_and_length() {
        assert_eq!(
            follow(false),
            "Uploaded\n  [t+ 0h00m] StartJob\n  [t+ 0h00m] WaitForJob ×5, 25 min (with CheckJob, JobStatus)\n  \
             [t+ 0h25m] Provision\n  [t+ 0h25m] WaitForDeployment ×1, 0 s\n"
        );
    }

    #[test]
    fn on_a_terminal_the_loop_line_is_redrawn_in_place_and_ends_the_same() {
        let text = follow(true);
        assert!(text.contains("\r\x1b[2K  [t+ 0h00m] WaitForJob ×3, 11 min (with CheckJob, JobStatus)"), "{text:?}");
        let finished: Vec<&str> = text.lines().map(|l| l.rsplit("\r\x1b[2K").next().unwrap()).collect();
        assert_eq!(finished[2], "  [t+ 0h00m] WaitForJob ×5, 25 min (with CheckJob, JobStatus)");
        assert_eq!(finished.len(), 5);
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(human_duration(Duration::from_secs(40)), "40 s");
        assert_eq!(human_duration(Duration::from_secs(25 * 60 + 59)), "25 min");
        assert_eq!(human_duration(Duration::from_secs(2 * 3600 + 14 * 60)), "2 h 14 min");
    }
}
