//! The analyses this replica answered lately, kept in a bounded ring for `GET /reports`. Each
//! reopens by its `/report` link ([`crate::report::link`]); the ring itself is per replica
//! and only a convenience list.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::report::link::{self, LinkError, Subject};
use crate::stats::Verdict;

/// Most analyses `/reports` lists (per replica; the oldest go first).
pub const RECENT_ANALYSES: usize = 50;

/// One analysis a door answered, enough to open its report again.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentAnalysis {
    /// When it was answered (Unix seconds).
    pub at: i64,
    /// Which door answered it.
    pub door: &'static str,
    /// The template it ran.
    pub template: String,
    /// Its template variables.
    pub vars: BTreeMap<String, String>,
    /// Window start (Unix seconds).
    pub start: i64,
    /// Window end (Unix seconds).
    pub end: i64,
    /// The answer.
    pub verdict: Verdict,
}

impl RecentAnalysis {
    /// The `/report` query string that reproduces this analysis, or why there is none.
    pub fn report_query(&self) -> Result<String, LinkError> {
        link::query(
            Subject::Template(&self.template),
            self.start,
            self.end,
            &self.vars,
        )
    }
}

/// The bounded list of recent analyses.
#[derive(Debug, Default)]
pub struct RecentRing(Mutex<VecDeque<RecentAnalysis>>);

impl RecentRing {
    /// Records one analysis, dropping the oldest beyond [`RECENT_ANALYSES`].
    pub fn push(&self, a: RecentAnalysis) {
        let mut ring = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if ring.len() >= RECENT_ANALYSES {
            ring.pop_front();
        }
        ring.push_back(a);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<RecentAnalysis> {
        let ring = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        ring.iter().rev().cloned().collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn analysis(i: i64) -> RecentAnalysis {
        RecentAnalysis {
            at: i,
            door: "flagger-rollout",
            template: "error-rate".into(),
            vars: BTreeMap::from([("name".into(), "app & co".into())]),
            start: 100,
            end: 200,
            verdict: Verdict::Pass,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest() {
        let r = RecentRing::default();
        for i in 0..(RECENT_ANALYSES as i64 + 5) {
            r.push(analysis(i));
        }
        let l = r.list();
        assert_eq!(l.len(), RECENT_ANALYSES);
        assert_eq!(l[0].at, RECENT_ANALYSES as i64 + 4);
        assert_eq!(l.last().map(|a| a.at), Some(5));
    }
}
