//! Command-line front door (owner: analysis/CLI work).

/// Runs the command line and returns the process exit status.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(2)
}
