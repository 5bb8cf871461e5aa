//! The Argo Rollouts metric-provider plugin: typed views of the controller's v1alpha1
//! arguments (`types`), the success/failure condition language (`expr`), the plugin's RPC
//! methods (`plugin`), hclog-style logging (`hclog`) and the process entry point
//! [`serve_plugin`] that the CLI calls when the controller starts us
//! (docs/argo-plugin-protocol.md §1, §6).

pub mod expr;
pub mod hclog;
pub mod plugin;
pub mod types;

use std::process::ExitCode;

pub use plugin::JudgePlugin;

/// go-plugin magic cookie key Argo Rollouts sets for every plugin.
pub const COOKIE_KEY: &str = "ARGO_ROLLOUTS_RPC_PLUGIN";
/// Cookie value for metric-provider plugins.
pub const COOKIE_VALUE: &str = "metricprovider";
/// Name the controller dispenses.
pub const DISPENSE_NAME: &str = "RpcMetricProviderPlugin";
/// net/rpc service name of the dispensed plugin.
pub const SERVICE_NAME: &str = "Plugin";

/// Environment variable naming the data sources file when the controller cannot pass plugin
/// arguments (Argo Rollouts before `metricProviderPlugins[].args`, e.g. v1.6).
pub const SOURCES_ENV: &str = "CANARY_JUDGE_SOURCES";

/// Reads the operator's data sources from the plugin's command line (`--sources FILE`, as
/// `metricProviderPlugins[].args` passes it) or [`SOURCES_ENV`]; neither means no sources
/// (inline values and confined files only). Errors name the file or argument.
pub fn load_sources(
    args: impl Iterator<Item = String>,
) -> Result<crate::source::catalog::SourceCatalog, String> {
    let mut path: Option<std::path::PathBuf> = None;
    let mut args = args.peekable();
    if args.peek().map(String::as_str) == Some("plugin") {
        args.next();
    }
    while let Some(a) = args.next() {
        if a == "--sources" {
            let v = args
                .next()
                .ok_or_else(|| "plugin argument --sources needs a file path".to_string())?;
            path = Some(v.into());
        } else if let Some(v) = a.strip_prefix("--sources=") {
            path = Some(v.into());
        } else {
            return Err(format!(
                "unknown plugin argument {a:?} (metricProviderPlugins[].args accepts --sources FILE)"
            ));
        }
    }
    let path = path.or_else(|| std::env::var_os(SOURCES_ENV).map(Into::into));
    let Some(path) = path else {
        return Ok(crate::source::catalog::SourceCatalog::default());
    };
    let catalog = crate::source::catalog::SourceCatalog::load(&path).map_err(|e| e.to_string())?;
    catalog.check().map_err(|e| e.to_string())?;
    Ok(catalog)
}

/// Installs the hclog JSON logger on stderr; the level comes from `CANARY_JUDGE_LOG`
/// (default `info`). Nothing may reach stdout before the handshake line, so stdout is never
/// used for logs.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANARY_JUDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(hclog::stderr_layer());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Runs the plugin process as Argo starts it: hclog logging on stderr, then go-plugin's
/// handshake and net/rpc server until the controller sends `Control.Quit`.
pub fn serve_plugin() -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve())
}

async fn serve() -> ExitCode {
    tracing::info!(
        version = crate::build_info::VERSION,
        "canary-judge Argo metric plugin starting"
    );
    let config = crate::goplugin::server::PluginServerConfig {
        magic_cookie_key: COOKIE_KEY.to_string(),
        magic_cookie_value: COOKIE_VALUE.to_string(),
        app_protocol_version: 1,
        plugin_name: DISPENSE_NAME.to_string(),
        service_name: SERVICE_NAME.to_string(),
    };
    let catalog = load_sources(std::env::args().skip(1)).map(std::sync::Arc::new);
    match &catalog {
        Ok(c) => tracing::info!(
            sources = c.sources().len(),
            default = c.default_name().unwrap_or(""),
            "data sources loaded"
        ),
        Err(e) => tracing::error!(error = %e, "data sources not loaded"),
    }
    let plugin = JudgePlugin::with_catalog(catalog);
    match crate::goplugin::server::serve(config, std::sync::Arc::new(plugin)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "plugin server stopped");
            ExitCode::from(1)
        }
    }
}
