//! Monte-Carlo measurement of error rates: A/A false-fail rates under repeated looks and
//! looks-to-detection under regressions, for every method (owner: stats-seq).
