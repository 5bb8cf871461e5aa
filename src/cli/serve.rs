//! `canary-judge serve`: the flags and the process edge (runtime, exit status) around
//! `server::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::server::config::Overrides;

/// `canary-judge serve` flags; each also reads an environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Config file: server settings, `prometheus:` and `templates:` (see examples/serve.yaml).
    #[arg(long, env = "CANARY_JUDGE_CONFIG")]
    pub config: PathBuf,
    /// HTTP listen address HOST:PORT (overrides `server.http_addr`).
    #[arg(long, env = "CANARY_JUDGE_HTTP_ADDR")]
    pub http_addr: Option<String>,
    /// gRPC listen address HOST:PORT (overrides `server.grpc_addr`).
    #[arg(long, env = "CANARY_JUDGE_GRPC_ADDR")]
    pub grpc_addr: Option<String>,
    /// Prometheus base URL (overrides `prometheus.address`).
    #[arg(long, env = "CANARY_JUDGE_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
}

/// Runs the service until SIGTERM/SIGINT; 0 after a clean drain, 2 when it cannot start.
pub fn run(args: ServeArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(2);
        }
    };
    let overrides = Overrides {
        http_addr: args.http_addr,
        grpc_addr: args.grpc_addr,
        prometheus_url: args.prometheus_url,
    };
    match rt.block_on(crate::server::run(args.config, overrides)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::stdio::print_error(&format!("error: {e}\n"));
            tracing::error!(error = %e, "serve failed");
            ExitCode::from(2)
        }
    }
}
