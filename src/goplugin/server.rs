//! The plugin process side of go-plugin (spec §1, §3): cookie check, protocol negotiation, the
//! Unix socket and handshake line, then one yamux session whose streams are classified by
//! accept order — control (net/rpc `Control` + `Dispenser`), stdout, stderr (ACKed, left
//! idle), and broker streams that carry the dispensed plugin under the service name `Plugin`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::{Notify, oneshot};

use super::netrpc::{self, Handler, Outcome};
use super::yamux::{Session, Stream};
use super::{BoxFuture, Reply, RpcService};
use crate::gob::{Schema, Value};

/// How long a dispensed id waits for its broker stream, and an unclaimed stream for its
/// Dispense (go-plugin's MuxBroker uses 5 s both ways).
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);
/// Unclaimed broker streams held at once (bounds a hostile host).
const MAX_PENDING_BROKER: usize = 64;
/// How long the Quit reply may take to flush before we close the socket anyway.
const QUIT_FLUSH: Duration = Duration::from_millis(500);

/// What the host and plugin must agree on (go-plugin's `HandshakeConfig` + plugin map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginServerConfig {
    /// Environment variable the host sets, e.g. `ARGO_ROLLOUTS_RPC_PLUGIN`.
    pub magic_cookie_key: String,
    /// Its expected value, e.g. `metricprovider`.
    pub magic_cookie_value: String,
    /// App protocol version we speak (Argo: 1).
    pub app_protocol_version: u32,
    /// Name the host dispenses, e.g. `RpcMetricProviderPlugin`.
    pub plugin_name: String,
    /// net/rpc service name the dispensed plugin is registered under (go-plugin: `Plugin`).
    pub service_name: String,
}

/// Why [`serve`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GoPluginError {
    /// The magic cookie is missing or wrong: the binary was run by hand, not by a host.
    #[error("magic cookie {key} not set to the expected value: not launched by a plugin host")]
    NotLaunchedByHost {
        /// The environment variable checked.
        key: String,
    },
    /// Creating the Unix socket failed.
    #[error("cannot create plugin socket in {dir}: {source}")]
    Listen {
        /// Directory the socket was to be created in.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing the handshake line to stdout failed.
    #[error("cannot write the handshake line to stdout: {0}")]
    Handshake(std::io::Error),
    /// Accepting the host's connection failed.
    #[error("accepting the host connection failed: {0}")]
    Accept(std::io::Error),
    /// Installing the SIGINT handler failed.
    #[error("cannot ignore SIGINT: {0}")]
    Signal(std::io::Error),
}

/// Pick the app protocol version like go-plugin's `protocolVersion`: the highest version we
/// support that the host listed in `PLUGIN_PROTOCOL_VERSIONS`, else our lowest.
pub fn negotiate_version(host_versions: Option<&str>, supported: &[u32]) -> Option<u32> {
    let mut ours = supported.to_vec();
    ours.sort_unstable_by(|a, b| b.cmp(a));
    let theirs: Vec<u32> = host_versions
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    ours.iter()
        .find(|v| theirs.contains(v))
        .or(ours.last())
        .copied()
}

/// The handshake line for a Unix socket (spec §1.3): exactly five `|`.
pub fn handshake_line(app_version: u32, socket: &Path) -> String {
    format!("1|{app_version}|unix|{}|netrpc|\n", socket.display())
}

/// Removes the socket file when dropped, on every exit path.
struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn bind_socket(dir: &Path) -> Result<(UnixListener, SocketGuard), GoPluginError> {
    let mut last = None;
    for _ in 0..100 {
        let path = dir.join(format!("plugin{}", rand::random::<u32>()));
        if path.exists() {
            continue;
        }
        match UnixListener::bind(&path) {
            Ok(l) => return Ok((l, SocketGuard(path))),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => {
                return Err(GoPluginError::Listen {
                    dir: dir.to_path_buf(),
                    source: e,
                });
            }
        }
    }
    Err(GoPluginError::Listen {
        dir: dir.to_path_buf(),
        source: last.unwrap_or_else(|| std::io::ErrorKind::AlreadyExists.into()),
    })
}

/// Run the plugin side of go-plugin's netrpc protocol until `Control.Quit` or until the
/// host's session ends; the caller should then exit with status 0. Prints exactly one line on
/// stdout (the handshake). `service` receives every `<service_name>.<Method>` call.
pub async fn serve(
    config: PluginServerConfig,
    service: Arc<dyn RpcService>,
) -> Result<(), GoPluginError> {
    if std::env::var(&config.magic_cookie_key).ok().as_deref()
        != Some(config.magic_cookie_value.as_str())
    {
        eprintln!(
            "This binary is a plugin. These are not meant to be executed directly.\n\
             Please execute the program that consumes these plugins, which will\n\
             load any plugins automatically"
        );
        return Err(GoPluginError::NotLaunchedByHost {
            key: config.magic_cookie_key,
        });
    }
    let versions = std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok();
    let version = negotiate_version(versions.as_deref(), &[config.app_protocol_version])
        .unwrap_or(config.app_protocol_version);

    // go-plugin ignores SIGINT so Ctrl-C reaches only the host; a registered tokio handler
    // replaces the default action, and we drain it for the life of the process.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(GoPluginError::Signal)?;
    tokio::spawn(async move { while sigint.recv().await.is_some() {} });

    let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let (listener, guard) = bind_socket(&dir)?;

    {
        let mut out = std::io::stdout().lock();
        out.write_all(handshake_line(version, &guard.0).as_bytes())
            .and_then(|_| out.flush())
            .map_err(GoPluginError::Handshake)?;
    }

    let (conn, _) = listener.accept().await.map_err(GoPluginError::Accept)?;
    drop(listener);
    run_session(Session::server(conn), &config, service).await;
    drop(guard);
    Ok(())
}

/// Serve one host connection: classify streams, run the control and broker servers, return
/// after `Control.Quit` (reply flushed) or when the session ends.
pub async fn run_session(
    mut session: Session,
    config: &PluginServerConfig,
    service: Arc<dyn RpcService>,
) {
    let quit = Arc::new(Notify::new());
    let broker = Arc::new(Broker::default());
    let plugin: Arc<dyn Handler> = Arc::new(PluginHandler {
        service_name: config.service_name.clone(),
        service,
    });
    let control: Arc<dyn Handler> = Arc::new(ControlHandler {
        plugin_name: config.plugin_name.clone(),
        broker: broker.clone(),
        plugin,
        quit: quit.clone(),
    });
    let mut accepted = 0usize;
    // stdout/stderr streams: ACKed by the session, kept open and idle.
    let mut idle = Vec::new();
    loop {
        let stream = tokio::select! {
            s = session.accept() => s,
            _ = quit.notified() => break,
        };
        let Some(stream) = stream else { break };
        accepted += 1;
        match accepted {
            1 => {
                tokio::spawn(netrpc::serve_stream(stream, Vec::new(), control.clone()));
            }
            2 | 3 => idle.push(stream),
            _ => {
                let b = broker.clone();
                tokio::spawn(async move { b.incoming(stream).await });
            }
        }
    }
    session.shutdown(QUIT_FLUSH).await;
}

enum Slot {
    Waiter(oneshot::Sender<(Stream, Vec<u8>)>),
    Stream(Stream, Vec<u8>),
}

/// go-plugin's MuxBroker, plugin side: pairs dispensed ids with broker streams.
#[derive(Default)]
struct Broker {
    next_id: AtomicU32,
    slots: Mutex<HashMap<u32, Slot>>,
}

impl Broker {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new broker stream: read its 4-byte LE id, then hand it to the waiting Dispense or
    /// park it for up to 5 s.
    async fn incoming(self: Arc<Self>, stream: Stream) {
        let id = match tokio::time::timeout(BROKER_TIMEOUT, stream.read_exact_with_rest(4)).await {
            Ok(Ok(Some((idb, rest)))) => {
                let id = u32::from_le_bytes([idb[0], idb[1], idb[2], idb[3]]);
                (id, rest)
            }
            _ => {
                stream.reset().await;
                return;
            }
        };
        let (id, rest) = id;
        let parked = {
            let mut slots = self.slots();
            match slots.remove(&id) {
                Some(Slot::Waiter(tx)) => {
                    if let Err((s, _)) = tx.send((stream, rest)) {
                        Some(s)
                    } else {
                        None
                    }
                }
                Some(old @ Slot::Stream(..)) => {
                    slots.insert(id, old);
                    Some(stream)
                }
                None if slots.len() >= MAX_PENDING_BROKER => Some(stream),
                None => {
                    slots.insert(id, Slot::Stream(stream, rest));
                    let me = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(BROKER_TIMEOUT).await;
                        let stale = {
                            let mut slots = me.slots();
                            match slots.remove(&id) {
                                Some(Slot::Stream(s, _)) => Some(s),
                                Some(other) => {
                                    slots.insert(id, other);
                                    None
                                }
                                None => None,
                            }
                        };
                        if let Some(s) = stale {
                            s.reset().await;
                        }
                    });
                    None
                }
            }
        };
        if let Some(s) = parked {
            s.reset().await;
        }
    }

    /// Allocate the next id (from 1) and serve `handler` on its stream once it arrives.
    fn dispense(self: &Arc<Self>, handler: Arc<dyn Handler>) -> u32 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let (tx, rx) = oneshot::channel();
        let ready = {
            let mut slots = self.slots();
            match slots.remove(&id) {
                Some(Slot::Stream(s, rest)) => Some((s, rest)),
                _ => {
                    slots.insert(id, Slot::Waiter(tx));
                    None
                }
            }
        };
        let me = self.clone();
        tokio::spawn(async move {
            let got = match ready {
                Some(x) => Some(x),
                None => match tokio::time::timeout(BROKER_TIMEOUT, rx).await {
                    Ok(Ok(x)) => Some(x),
                    _ => {
                        me.slots().remove(&id);
                        tracing::warn!(id, "plugin: timeout waiting for broker stream");
                        None
                    }
                },
            };
            let Some((stream, rest)) = got else { return };
            if stream.write_all(&id.to_le_bytes()).await.is_err() {
                return;
            }
            netrpc::serve_stream(stream, rest, handler).await;
        });
        id
    }
}

/// `Control` and `Dispenser` on the control stream.
struct ControlHandler {
    plugin_name: String,
    broker: Arc<Broker>,
    plugin: Arc<dyn Handler>,
    quit: Arc<Notify>,
}

impl Handler for ControlHandler {
    fn has_service(&self, service: &str) -> bool {
        matches!(service, "Control" | "Dispenser")
    }
    fn has_method(&self, service: &str, method: &str) -> bool {
        matches!(
            (service, method),
            ("Control", "Ping") | ("Control", "Quit") | ("Dispenser", "Dispense")
        )
    }
    fn call(
        self: Arc<Self>,
        service: String,
        method: String,
        arg: Value,
    ) -> BoxFuture<'static, Outcome> {
        Box::pin(async move {
            match (service.as_str(), method.as_str()) {
                ("Dispenser", _) => {
                    let name = arg.as_str().unwrap_or_default();
                    if name != self.plugin_name {
                        return Outcome::from(Err(format!("unknown plugin type: {name}")));
                    }
                    let id = self.broker.dispense(self.plugin.clone());
                    Outcome::from(Ok(Reply {
                        schema: Schema::Uint,
                        value: Value::Uint(u64::from(id)),
                    }))
                }
                (_, "Quit") => {
                    let quit = self.quit.clone();
                    Outcome {
                        result: Ok(netrpc::empty_struct()),
                        after: Some(Box::new(move || quit.notify_one())),
                    }
                }
                _ => Outcome::from(Ok(netrpc::empty_struct())),
            }
        })
    }
}

/// The dispensed plugin: `<service_name>.<Method>` → [`RpcService::call`].
struct PluginHandler {
    service_name: String,
    service: Arc<dyn RpcService>,
}

impl Handler for PluginHandler {
    fn has_service(&self, service: &str) -> bool {
        service == self.service_name
    }
    fn has_method(&self, _service: &str, method: &str) -> bool {
        self.service.has_method(method)
    }
    fn call(
        self: Arc<Self>,
        _service: String,
        method: String,
        arg: Value,
    ) -> BoxFuture<'static, Outcome> {
        Box::pin(async move { Outcome::from(self.service.call(&method, arg).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation_follows_go_plugin() {
        assert_eq!(negotiate_version(Some("1"), &[1]), Some(1));
        assert_eq!(negotiate_version(Some("1,2,3"), &[1, 2]), Some(2));
        assert_eq!(negotiate_version(Some("5"), &[1, 2]), Some(1));
        assert_eq!(negotiate_version(None, &[1]), Some(1));
        assert_eq!(negotiate_version(Some("x, 2"), &[2]), Some(2));
        assert_eq!(negotiate_version(Some("1"), &[]), None);
    }

    #[test]
    fn handshake_line_has_six_fields_and_newline() {
        let l = handshake_line(1, Path::new("/tmp/plugin123"));
        assert_eq!(l, "1|1|unix|/tmp/plugin123|netrpc|\n");
    }
}
