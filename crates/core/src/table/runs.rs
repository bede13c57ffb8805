//! Lists cleaned again on a schedule (`POST /v1/lists`): how often, and what changed between
//! two runs of the same list.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::TableError;
use crate::verdict::Verdict;

/// How often a list is cleaned again: a whole number of days from [`Every::MIN_DAYS`] to
/// [`Every::MAX_DAYS`], written `7d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Every {
    days: u16,
}

impl Every {
    pub const MIN_DAYS: u16 = 1;
    pub const MAX_DAYS: u16 = 90;

    /// `Nd`, N from 1 to 90; anything else is the error `invalid_every`.
    pub fn parse(text: &str) -> Result<Every, TableError> {
        let days = text
            .trim()
            .strip_suffix('d')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|d| (Every::MIN_DAYS..=Every::MAX_DAYS).contains(d));
        days.map(|days| Every { days }).ok_or_else(|| TableError {
            code: "invalid_every",
            message: format!(
                "every={text:?} is not a schedule: give a number of days from {} to {}, like 7d.",
                Every::MIN_DAYS,
                Every::MAX_DAYS
            ),
        })
    }

    pub fn days(self) -> u16 {
        self.days
    }

    pub fn seconds(self) -> u64 {
        u64::from(self.days) * 86_400
    }

    /// When the next run is due after a run that started at `unix_seconds`.
    pub fn next_after(self, unix_seconds: u64) -> u64 {
        unix_seconds + self.seconds()
    }
}

impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

/// How many rows went from one verdict to another between two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: Verdict,
    pub to: Verdict,
    pub rows: u64,
}

/// The transitions among `pairs` (each row's verdict in the run before and in this one): only
/// the changes, the largest first (then by verdict order).
pub fn transitions(pairs: impl IntoIterator<Item = (Verdict, Verdict)>) -> Vec<Transition> {
    let mut counts: BTreeMap<(Verdict, Verdict), u64> = BTreeMap::new();
    for (from, to) in pairs {
        if from != to {
            *counts.entry((from, to)).or_default() += 1;
        }
    }
    let mut out: Vec<Transition> = counts
        .into_iter()
        .map(|((from, to), rows)| Transition { from, to, rows })
        .collect();
    out.sort_by(|a, b| {
        b.rows
            .cmp(&a.rows)
            .then((a.from, a.to).cmp(&(b.from, b.to)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_whole_days_from_one_to_ninety() {
        assert_eq!(Every::parse("7d").unwrap().seconds(), 7 * 86_400);
        assert_eq!(Every::parse("1d").unwrap().days(), 1);
        assert_eq!(Every::parse("90d").unwrap().to_string(), "90d");
        assert_eq!(
            Every::parse("7d").unwrap().next_after(1_000),
            1_000 + 604_800
        );
        for bad in ["0d", "91d", "7", "d", "7h", "-1d", "7.5d", "", "1e2d"] {
            let error = Every::parse(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_every", "{bad}");
        }
    }

    #[test]
    fn only_changes_are_transitions() {
        use Verdict::*;
        let pairs = [
            (Valid, Valid),
            (Valid, Invalid),
            (Valid, Invalid),
            (Unknown, Valid),
            (Valid, Risky),
            (Invalid, Invalid),
        ];
        let found = transitions(pairs);
        assert_eq!(
            found,
            [
                Transition {
                    from: Valid,
                    to: Invalid,
                    rows: 2
                },
                Transition {
                    from: Valid,
                    to: Risky,
                    rows: 1
                },
                Transition {
                    from: Unknown,
                    to: Valid,
                    rows: 1
                },
            ]
        );
        let json = serde_json::to_value(found[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"from": "valid", "to": "invalid", "rows": 2})
        );
    }
}
