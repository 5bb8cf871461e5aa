//! Test-only go-plugin plugin used by `tests/goplugin_transport.rs` and the Go host in
//! `tests/goplugin-host`: it serves a tiny `Plugin` service over the real go-plugin transport so
//! the transport can be checked against unmodified hashicorp/go-plugin hosts.
//!
//! Methods: `Type(nil)` → `"echo"`, `Echo(string)` → the string, `Sleep(int ms)` → `"slept
//! <ms>"` after sleeping, `Big([]byte)` → the bytes reversed, `Fail(string)` → error.

use std::sync::Arc;
use std::time::Duration;

use canary_judge::gob::{Schema, Value};
use canary_judge::goplugin::{BoxFuture, PluginServerConfig, Reply, RpcService, serve};

struct Echo;

fn string_reply(s: String) -> Reply {
    Reply {
        schema: Schema::String,
        value: Value::String(s),
    }
}

impl RpcService for Echo {
    fn has_method(&self, method: &str) -> bool {
        matches!(method, "Type" | "Echo" | "Sleep" | "Big" | "Fail")
    }

    fn call(&self, method: &str, arg: Value) -> BoxFuture<'_, Result<Reply, String>> {
        let method = method.to_string();
        Box::pin(async move {
            match method.as_str() {
                "Type" => Ok(string_reply("echo".into())),
                "Echo" => Ok(string_reply(arg.as_str().unwrap_or_default().to_string())),
                "Sleep" => {
                    let ms = arg.as_i64().unwrap_or(0).clamp(0, 60_000);
                    tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                    Ok(string_reply(format!("slept {ms}")))
                }
                "Big" => {
                    let mut b = arg.as_bytes().unwrap_or_default().to_vec();
                    b.reverse();
                    Ok(Reply {
                        schema: Schema::Bytes,
                        value: Value::Bytes(b),
                    })
                }
                _ => Err(format!("fail: {}", arg.as_str().unwrap_or_default())),
            }
        })
    }
}

#[tokio::main]
async fn main() {
    let config = PluginServerConfig {
        magic_cookie_key: "GOPLUGIN_ECHO_COOKIE".into(),
        magic_cookie_value: "echo".into(),
        app_protocol_version: 1,
        plugin_name: "echo".into(),
        service_name: "Plugin".into(),
    };
    if let Err(e) = serve(config, Arc::new(Echo)).await {
        eprintln!("goplugin_echo: {e}");
        std::process::exit(1);
    }
}
