//! HashiCorp go-plugin's net/rpc transport, server side: the handshake line, a yamux server
//! session on a Unix socket, the MuxBroker, the `Control`/`Dispenser` services and a net/rpc
//! server for the dispensed plugin. It speaks gob through `crate::gob` and knows nothing of
//! Argo: the plugin's methods arrive through [`RpcService`].

pub mod frame;
pub mod netrpc;
pub mod server;
pub mod yamux;

pub use server::{GoPluginError, PluginServerConfig, serve};

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so [`RpcService`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A reply value and the schema the encoder describes it with.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Shape of the reply type (e.g. Argo's `Measurement`).
    pub schema: crate::gob::Schema,
    /// The reply value.
    pub value: crate::gob::Value,
}

/// The dispensed plugin: net/rpc calls `<service>.<method>` land here with the decoded gob
/// argument. An `Err` becomes a net/rpc error response (with the empty-struct body Go sends).
pub trait RpcService: Send + Sync + 'static {
    /// Handle one call; `method` is without the service prefix (e.g. `Run`).
    fn call(&self, method: &str, arg: crate::gob::Value) -> BoxFuture<'_, Result<Reply, String>>;

    /// Whether `method` exists, so unknown methods get Go's `rpc: can't find method` error
    /// (and their argument is skipped) instead of reaching [`RpcService::call`]. The default
    /// accepts every name and leaves unknown ones to `call`.
    fn has_method(&self, method: &str) -> bool {
        let _ = method;
        true
    }
}
