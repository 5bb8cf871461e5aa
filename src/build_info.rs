//! What this build is: the crate version, the git commit and the build time recorded by
//! `build.rs`. One place, so the CLI's `--version`, the plugin's start-up log line and the
//! service's `/version` and `X-App-Version` always agree.

/// `0.1.0 (commit abc1234)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CANARY_JUDGE_GIT_COMMIT"),
    ")"
);

/// The crate version alone.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the build was made from (`unknown` outside a checkout).
pub const COMMIT: &str = env!("CANARY_JUDGE_GIT_COMMIT");

/// The build time as RFC 3339, or `unknown`.
pub fn build_time() -> String {
    env!("CANARY_JUDGE_BUILD_EPOCH")
        .parse::<i64>()
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `0.1.0 (commit abc, built 2026-...)`, for the service's `X-App-Version` header.
pub fn version_string() -> String {
    format!("{CRATE_VERSION} (commit {COMMIT}, built {})", build_time())
}
