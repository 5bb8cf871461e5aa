//! Binary entry point: everything lives in the library so tests and front doors share it.

fn main() -> std::process::ExitCode {
    canary_judge::cli::main()
}
