//! A progress bar on standard error, for people watching a long list being checked.

use std::io::{self, IsTerminal};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar when standard error is a terminal that the reports do not also go to (they would
    /// tear the bar apart); nothing otherwise. `total` is the number of inputs when known.
    pub fn new(total: Option<u64>, reports_on_terminal: bool) -> Progress {
        if !Progress::shown(reports_on_terminal) {
            return Progress(None);
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} addresses, {elapsed} so far, about {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {pos} addresses, {elapsed} so far")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    /// Whether [`Progress::new`] shows a bar: only then is it worth counting the inputs first.
    pub fn shown(reports_on_terminal: bool) -> bool {
        !reports_on_terminal && io::stderr().is_terminal()
    }

    pub fn inc(&self) {
        self.inc_by(1);
    }

    pub fn inc_by(&self, count: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(count);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
