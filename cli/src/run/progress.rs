//! Progress while a run goes: each state as it is entered.

use std::io::{IsTerminal, Write};
use std::time::Duration;

/// States as they are entered: on a terminal, the poll loops update one line; otherwise plain lines.
pub struct Progress {
    enabled: bool,
    tty: bool,
    last: std::sync::Mutex<Option<String>>,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress { enabled, tty: std::io::stdout().is_terminal(), last: std::sync::Mutex::new(None) }
    }

    pub fn line(&self, text: &str) {
        if self.enabled {
            self.finish();
            println!("{text}");
        }
    }

    pub fn state(&self, name: &str, at: Duration) {
        if !self.enabled {
            return;
        }
        let minutes = at.as_secs() / 60;
        let line = format!("  [t+{:>2}h{:02}m] {name}", minutes / 60, minutes % 60);
        let polling = name.starts_with("Wait") || name.starts_with("Check") || name.ends_with("Status");
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if self.tty && polling {
            print!("\r\x1b[2K{line}");
            let _ = std::io::stdout().flush();
            *last = Some(line);
        } else {
            if last.take().is_some() {
                println!();
            }
            println!("{line}");
        }
    }

    pub fn finish(&self) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.take().is_some() {
            println!();
        }
    }
}
