//! The Argo Rollouts metric-provider plugin: typed views of the controller's v1alpha1
//! arguments (`types`), the success/failure condition language (`expr`), the plugin's RPC
//! methods (`plugin`) and the process entry point [`serve_plugin`] that the CLI calls when
//! the controller starts us (argo-plugin-protocol.md §1, §6).

pub mod expr;
pub mod types;
