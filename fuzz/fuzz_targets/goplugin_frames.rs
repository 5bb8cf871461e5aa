//! Fuzz target for the go-plugin transport: arbitrary bytes as yamux frames into a real server
//! session (with the control/broker net/rpc servers behind it), or — when the first byte is odd —
//! as the payload of the control stream, so the net/rpc header/argument decoding sees gob input
//! directly. Also walks the bytes with the pure header parser. Panics, hangs and unbounded
//! allocation are bugs; protocol errors are expected.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use canary_judge::gob::{Schema, Value};
use canary_judge::goplugin::frame::*;
use canary_judge::goplugin::netrpc::parse_request_header;
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

fn walk_headers(data: &[u8]) {
    let mut pos = 0;
    while let Some(chunk) = data.get(pos..pos + HEADER_LEN) {
        let Ok(b) = <[u8; HEADER_LEN]>::try_from(chunk) else { return };
        let Ok(h) = Header::decode(&b) else { return };
        assert_eq!(h.encode(), b);
        pos += HEADER_LEN;
        if h.kind == TYPE_DATA {
            pos = pos.saturating_add(h.length as usize);
        }
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

fn run(input: Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (plugin_side, host_side) = tokio::io::duplex(1 << 16);
        let (mut host_r, mut host_w) = tokio::io::split(host_side);
        let drain = tokio::spawn(async move {
            let mut sink = vec![0u8; 1 << 14];
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
}

fuzz_target!(|data: &[u8]| {
    walk_headers(data);
    let mut dec = canary_judge::gob::Decoder::new();
    if let Ok(Some((v, _))) = dec.decode_next(data.get(1..).unwrap_or_default()) {
        let _ = parse_request_header(&v);
    }
    match data.first() {
        Some(b) if b % 2 == 1 => run(wrap_as_control_payload(&data[1..])),
        Some(_) => run(data[1..].to_vec()),
        None => {}
    }
});
