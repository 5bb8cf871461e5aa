//! Fuzz target for the go-plugin transport end to end: arbitrary bytes as yamux frames into
//! a real server session (with the control/broker net/rpc servers behind it), or — when the
//! first byte is odd — as the payload of the control stream, so net/rpc header and argument
//! decoding sees gob input directly. Panics, hangs and unbounded allocation are bugs;
//! protocol errors are expected.
//!
//! One current-thread runtime with a paused clock serves every input (building a runtime per
//! input cost more than the session itself); virtual time advances whenever all tasks wait,
//! so timeouts cost nothing in wall time.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use canary_judge::gob::{Schema, Value};
use canary_judge::goplugin::frame::*;
use canary_judge::goplugin::server::{PluginServerConfig, run_session};
use canary_judge::goplugin::yamux::Session;
use canary_judge::goplugin::{BoxFuture, Reply, RpcService};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Echo;

impl RpcService for Echo {
    fn call(&self, _method: &str, arg: Value) -> BoxFuture<'_, Result<Reply, String>> {
        Box::pin(async move {
            match arg {
                Value::String(s) => Ok(Reply {
                    schema: Schema::String,
                    value: Value::String(s),
                }),
                _ => Err("bad arg".into()),
            }
        })
    }
}

fn wrap_as_control_payload(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for id in [1u32, 3, 5] {
        out.extend_from_slice(&Header::new(TYPE_WINDOW_UPDATE, FLAG_SYN, id, 0).encode());
    }
    for chunk in data.chunks(4096) {
        out.extend_from_slice(&Header::new(TYPE_DATA, 0, 1, chunk.len() as u32).encode());
        out.extend_from_slice(chunk);
    }
    out
}

thread_local! {
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
}

fn run(input: Vec<u8>) {
    RT.with(|rt| {
        rt.block_on(async move {
            let (plugin_side, host_side) = tokio::io::duplex(1 << 16);
            let (mut host_r, mut host_w) = tokio::io::split(host_side);
            let drain = tokio::spawn(async move {
                let mut sink = vec![0u8; 1 << 12];
                while let Ok(n) = host_r.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            });
            let feed = tokio::spawn(async move {
                let _ = host_w.write_all(&input).await;
                // Give the session virtual time to answer before EOF.
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = host_w.shutdown().await;
            });
            let config = PluginServerConfig {
                magic_cookie_key: "K".into(),
                magic_cookie_value: "V".into(),
                app_protocol_version: 1,
                plugin_name: "p".into(),
                service_name: "Plugin".into(),
            };
            let session = Session::server(plugin_side);
            let res = tokio::time::timeout(
                Duration::from_secs(600),
                run_session(session, &config, Arc::new(Echo)),
            )
            .await;
            assert!(res.is_ok(), "session did not end after EOF");
            feed.abort();
            drain.abort();
        });
    });
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((b, rest)) if b % 2 == 1 => run(wrap_as_control_payload(rest)),
        Some((_, rest)) => run(rest.to_vec()),
        None => {}
    }
});
