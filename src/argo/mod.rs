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

/// Environment variable giving the report base URL when the controller cannot pass plugin
/// arguments (as [`SOURCES_ENV`]).
pub const REPORT_BASE_URL_ENV: &str = "CANARY_JUDGE_REPORT_BASE_URL";

/// What the operator gives the plugin process on its command line.
#[derive(Debug, Clone, Default)]
pub struct PluginArgs {
    /// The data sources templates may use.
    pub catalog: crate::source::catalog::SourceCatalog,
    /// Where `serve` answers `/report` (`--report-base-url`); measurements then link to it.
    pub report_base_url: Option<String>,
}

/// Reads the plugin's command line (`--sources FILE`, `--report-base-url URL`, as
/// `metricProviderPlugins[].args` passes them), each falling back to its environment variable
/// ([`SOURCES_ENV`], [`REPORT_BASE_URL_ENV`]). No sources file means no sources (inline values
/// and confined files only). Errors name the file or argument.
pub fn load_plugin_args(args: impl Iterator<Item = String>) -> Result<PluginArgs, String> {
    let mut path: Option<std::path::PathBuf> = None;
    let mut base: Option<String> = None;
    let mut args = args.peekable();
    if args.peek().map(String::as_str) == Some("plugin") {
        args.next();
    }
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("plugin argument {flag} needs {what}"))
        };
        match flag.as_str() {
            "--sources" => path = Some(value("a file path")?.into()),
            "--report-base-url" => base = Some(value("a URL")?),
            _ => {
                return Err(format!(
                    "unknown plugin argument {a:?} (metricProviderPlugins[].args accepts \
                     --sources FILE and --report-base-url URL)"
                ));
            }
        }
    }
    let base = base.or_else(|| std::env::var(REPORT_BASE_URL_ENV).ok());
    let report_base_url = match base {
        None => None,
        Some(b) => Some(crate::report::link::normalise_base(&b).ok_or_else(|| {
            format!("plugin argument --report-base-url `{b}` is not an http(s) URL")
        })?),
    };
    let path = path.or_else(|| std::env::var_os(SOURCES_ENV).map(Into::into));
    let catalog = match path {
        None => crate::source::catalog::SourceCatalog::default(),
        Some(path) => {
            let catalog =
                crate::source::catalog::SourceCatalog::load(&path).map_err(|e| e.to_string())?;
            catalog.check().map_err(|e| e.to_string())?;
            catalog
        }
    };
    Ok(PluginArgs {
        catalog,
        report_base_url,
    })
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
    let plugin = match load_plugin_args(std::env::args().skip(1)) {
        Ok(a) => {
            tracing::info!(
                sources = a.catalog.sources().len(),
                default = a.catalog.default_name().unwrap_or(""),
                report_base_url = a.report_base_url.as_deref().unwrap_or(""),
                "data sources loaded"
            );
            JudgePlugin::with_catalog(Ok(std::sync::Arc::new(a.catalog)))
                .with_report_base_url(a.report_base_url)
        }
        Err(e) => {
            tracing::error!(error = %e, "data sources not loaded");
            JudgePlugin::with_catalog(Err(e))
        }
    };
    match crate::goplugin::server::serve(config, std::sync::Arc::new(plugin)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "plugin server stopped");
            ExitCode::from(1)
        }
    }
}
