//! Interim go-plugin netrpc server used by [`super::serve_plugin`] until the shared
//! `goplugin` module provides `goplugin::serve` (then this file should go). It implements the
//! plugin side of argo-plugin-protocol.md §1–§4 and nothing more: the handshake line, a yamux
//! server session that ACKs every inbound stream at once (the 75 s StreamOpenTimeout of
//! hashicorp/yamux ≥ v0.1.1), answers pings and honours flow control, the MuxBroker handshake,
//! the `Control`/`Dispenser` services and a concurrent net/rpc server over `crate::gob`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::gob::{Decoder, Encoder, Schema, Value};
use crate::goplugin::{Reply, RpcService};

const T_DATA: u8 = 0;
const T_WINDOW: u8 = 1;
const T_PING: u8 = 2;
const T_GOAWAY: u8 = 3;
const F_SYN: u16 = 1;
const F_ACK: u16 = 2;
const F_FIN: u16 = 4;
const F_RST: u16 = 8;
/// yamux's initial per-stream window (both directions).
const INITIAL_WINDOW: u32 = 256 * 1024;
/// Largest Data frame we send.
const MAX_FRAME: u32 = 64 * 1024;

fn frame(kind: u8, flags: u16, stream: u32, length: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(12 + payload.len());
    f.push(0);
    f.push(kind);
    f.extend_from_slice(&flags.to_be_bytes());
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(&length.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

enum Out {
    Frame(Vec<u8>),
    Flush(oneshot::Sender<()>),
}

struct Window {
    available: Mutex<u32>,
    changed: Notify,
}

struct StreamEntry {
    inbound: Option<mpsc::UnboundedSender<Vec<u8>>>,
    window: Arc<Window>,
}

struct Session {
    out: mpsc::UnboundedSender<Out>,
    streams: Mutex<HashMap<u32, StreamEntry>>,
}

impl Session {
    fn send(&self, f: Vec<u8>) {
        let _ = self.out.send(Out::Frame(f));
    }
}

/// One yamux stream as the handlers see it.
struct Stream {
    id: u32,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    writer: StreamWriter,
}

#[derive(Clone)]
struct StreamWriter {
    id: u32,
    window: Arc<Window>,
    session: Arc<Session>,
}

impl StreamWriter {
    /// Sends `data`, never more than the peer's window allows.
    async fn write(&self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = {
                let mut avail = match self.window.available.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                let n = (*avail).min(MAX_FRAME).min(data.len() as u32);
                *avail -= n;
                n
            };
            if n == 0 {
                self.window.changed.notified().await;
                continue;
            }
            let (chunk, rest) = data.split_at(n as usize);
            self.session.send(frame(T_DATA, 0, self.id, n, chunk));
            data = rest;
        }
    }
}

/// Reads yamux frames, dispatching data and window updates to streams and new streams to
/// `accepted` in the order they were opened.
async fn read_session(
    mut rd: tokio::net::unix::OwnedReadHalf,
    session: Arc<Session>,
    accepted: mpsc::UnboundedSender<Stream>,
) {
    let mut hdr = [0u8; 12];
    loop {
        if rd.read_exact(&mut hdr).await.is_err() {
            return;
        }
        let kind = hdr[1];
        let flags = u16::from_be_bytes([hdr[2], hdr[3]]);
        let id = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let length = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]);
        match kind {
            T_DATA | T_WINDOW => {
                if flags & F_SYN != 0 {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let window = Arc::new(Window {
                        available: Mutex::new(INITIAL_WINDOW),
                        changed: Notify::new(),
                    });
                    if let Ok(mut s) = session.streams.lock() {
                        s.insert(
                            id,
                            StreamEntry {
                                inbound: Some(tx),
                                window: window.clone(),
                            },
                        );
                    }
                    // ACK at once: hashicorp/yamux ≥ v0.1.1 closes the session when an
                    // opened stream stays un-ACKed for 75 s.
                    session.send(frame(T_WINDOW, F_ACK, id, 0, &[]));
                    let writer = StreamWriter {
                        id,
                        window,
                        session: session.clone(),
                    };
                    let _ = accepted.send(Stream { id, rx, writer });
                }
                if kind == T_DATA {
                    let mut payload = vec![0u8; length as usize];
                    if rd.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    if let Ok(s) = session.streams.lock()
                        && let Some(entry) = s.get(&id)
                        && let Some(tx) = &entry.inbound
                    {
                        let _ = tx.send(payload);
                    }
                    // The bytes are buffered on our side already: give the window back.
                    if length > 0 {
                        session.send(frame(T_WINDOW, 0, id, length, &[]));
                    }
                } else if flags & F_SYN == 0
                    && let Ok(s) = session.streams.lock()
                    && let Some(entry) = s.get(&id)
                {
                    if let Ok(mut avail) = entry.window.available.lock() {
                        *avail = avail.saturating_add(length);
                    }
                    entry.window.changed.notify_one();
                }
                if flags & (F_FIN | F_RST) != 0
                    && let Ok(mut s) = session.streams.lock()
                    && let Some(entry) = s.get_mut(&id)
                {
                    entry.inbound = None;
                }
            }
            T_PING => {
                if flags & F_SYN != 0 {
                    session.send(frame(T_PING, F_ACK, 0, length, &[]));
                }
            }
            T_GOAWAY => return,
            _ => {
                tracing::warn!(kind, "unknown yamux frame type; closing the session");
                return;
            }
        }
    }
}

/// Calls a net/rpc stream can make.
#[derive(Clone)]
enum Handler {
    Control {
        next_id: Arc<AtomicU32>,
        quit: Arc<Notify>,
    },
    Plugin(Arc<dyn RpcService>),
}

fn response_schema() -> Schema {
    Schema::Struct {
        name: "Response".to_string(),
        fields: vec![
            ("ServiceMethod".to_string(), Schema::String),
            ("Seq".to_string(), Schema::Uint),
            ("Error".to_string(), Schema::String),
        ],
    }
}

fn empty_struct() -> Reply {
    Reply {
        schema: Schema::Struct {
            name: String::new(),
            fields: Vec::new(),
        },
        value: Value::Struct(Vec::new()),
    }
}

/// Writes `Response` + body for one call, contiguously, under the stream's encoder lock.
async fn respond(
    enc: &tokio::sync::Mutex<Encoder>,
    writer: &StreamWriter,
    method: &str,
    seq: u64,
    result: Result<Reply, String>,
) {
    let mut enc = enc.lock().await;
    let (mut error, reply) = match result {
        Ok(r) => (String::new(), r),
        Err(e) => (e, empty_struct()),
    };
    let body = match enc.encode(&reply.schema, &reply.value) {
        Ok(b) => b,
        Err(e) => {
            error = format!("plugin could not encode its reply: {e}");
            let r = empty_struct();
            enc.encode(&r.schema, &r.value).unwrap_or_default()
        }
    };
    let mut fields = vec![(
        "ServiceMethod".to_string(),
        Value::String(method.to_string()),
    )];
    if seq != 0 {
        fields.push(("Seq".to_string(), Value::Uint(seq)));
    }
    if !error.is_empty() {
        fields.push(("Error".to_string(), Value::String(error)));
    }
    let Ok(mut bytes) = enc.encode(&response_schema(), &Value::Struct(fields)) else {
        return;
    };
    bytes.extend_from_slice(&body);
    writer.write(&bytes).await;
}

/// Reads the next complete gob value from the stream, pulling more bytes as needed.
async fn next_value(
    rx: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    buf: &mut Vec<u8>,
    dec: &mut Decoder,
) -> Option<Value> {
    loop {
        match dec.decode_next(buf) {
            Ok(Some((v, used))) => {
                buf.drain(..used);
                return Some(v);
            }
            Ok(None) => match rx.recv().await {
                Some(more) => buf.extend_from_slice(&more),
                None => return None,
            },
            Err(e) => {
                tracing::error!(error = %e, "cannot decode a request; closing the stream");
                return None;
            }
        }
    }
}

/// A net/rpc server on one stream: requests are read in order and answered concurrently.
async fn serve_rpc(mut stream: Stream, handler: Handler) {
    let mut buf = Vec::new();
    let mut dec = Decoder::new();
    let enc = Arc::new(tokio::sync::Mutex::new(Encoder::new()));
    loop {
        let Some(header) = next_value(&mut stream.rx, &mut buf, &mut dec).await else {
            return;
        };
        let Some(arg) = next_value(&mut stream.rx, &mut buf, &mut dec).await else {
            return;
        };
        let method = header
            .field("ServiceMethod")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let seq = match header.field("Seq") {
            Some(Value::Uint(s)) => *s,
            Some(v) => v.as_i64().and_then(|i| u64::try_from(i).ok()).unwrap_or(0),
            None => 0,
        };
        let (service, name) = method.split_once('.').unwrap_or((method.as_str(), ""));
        let (service, name) = (service.to_string(), name.to_string());
        let enc = enc.clone();
        let writer = stream.writer.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let result = match (&handler, service.as_str()) {
                (Handler::Plugin(svc), "Plugin") => svc.call(&name, arg).await,
                (Handler::Control { next_id, .. }, "Dispenser") if name == "Dispense" => {
                    match arg.as_str() {
                        Some(super::DISPENSE_NAME) => Ok(Reply {
                            schema: Schema::Uint,
                            value: Value::Uint(
                                u64::from(next_id.fetch_add(1, Ordering::SeqCst)) + 1,
                            ),
                        }),
                        other => Err(format!("unknown plugin type: {}", other.unwrap_or(""))),
                    }
                }
                (Handler::Control { .. }, "Control") if name == "Ping" || name == "Quit" => {
                    Ok(empty_struct())
                }
                (_, "Plugin" | "Control" | "Dispenser") => {
                    Err(format!("rpc: can't find method {method}"))
                }
                _ => Err(format!("rpc: can't find service {method}")),
            };
            respond(&enc, &writer, &method, seq, result).await;
            if let Handler::Control { quit, .. } = &handler
                && method == "Control.Quit"
            {
                quit.notify_one();
            }
        });
    }
}

/// Serves one host connection until `Control.Quit` or the connection ends.
async fn serve_connection(conn: tokio::net::UnixStream, plugin: Arc<dyn RpcService>) {
    let (rd, mut wr) = conn.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    let session = Arc::new(Session {
        out: out_tx,
        streams: Mutex::new(HashMap::new()),
    });
    tokio::spawn(async move {
        while let Some(o) = out_rx.recv().await {
            match o {
                Out::Frame(f) => {
                    if wr.write_all(&f).await.is_err() {
                        return;
                    }
                }
                Out::Flush(done) => {
                    let _ = wr.flush().await;
                    let _ = done.send(());
                }
            }
        }
    });
    let (acc_tx, mut acc_rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_session(rd, session.clone(), acc_tx));
    let quit = Arc::new(Notify::new());
    let next_id = Arc::new(AtomicU32::new(0));
    let plugin2 = plugin.clone();
    let quit2 = quit.clone();
    let acceptor = tokio::spawn(async move {
        let mut idle = Vec::new();
        let mut n = 0usize;
        while let Some(mut stream) = acc_rx.recv().await {
            n += 1;
            match n {
                1 => {
                    tokio::spawn(serve_rpc(
                        stream,
                        Handler::Control {
                            next_id: next_id.clone(),
                            quit: quit2.clone(),
                        },
                    ));
                }
                // stdout and stderr copies: ACKed, kept open, never written (Argo discards).
                2 | 3 => idle.push(stream),
                _ => {
                    let plugin = plugin2.clone();
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        while buf.len() < 4 {
                            match stream.rx.recv().await {
                                Some(b) => buf.extend_from_slice(&b),
                                None => return,
                            }
                        }
                        let id: Vec<u8> = buf.drain(..4).collect();
                        stream.writer.write(&id).await;
                        tracing::debug!(stream = stream.id, "broker stream connected");
                        // Bytes after the id already belong to the net/rpc stream.
                        let (tx, rx) = mpsc::unbounded_channel();
                        if !buf.is_empty() {
                            let _ = tx.send(buf);
                        }
                        tokio::spawn(async move {
                            let mut inner = stream.rx;
                            while let Some(b) = inner.recv().await {
                                if tx.send(b).is_err() {
                                    return;
                                }
                            }
                        });
                        let stream = Stream {
                            id: stream.id,
                            rx,
                            writer: stream.writer,
                        };
                        serve_rpc(stream, Handler::Plugin(plugin)).await;
                    });
                }
            }
        }
        drop(idle);
    });
    tokio::select! {
        _ = quit.notified() => tracing::info!("Control.Quit received; exiting"),
        _ = reader => tracing::info!("host closed the connection; exiting"),
    }
    acceptor.abort();
    let (done_tx, done_rx) = oneshot::channel();
    if session.out.send(Out::Flush(done_tx)).is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), done_rx).await;
    }
}

/// Listens on a fresh Unix socket, prints go-plugin's handshake line and serves the host.
pub async fn serve(plugin: Arc<dyn RpcService>) -> ExitCode {
    let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let path = dir.join(format!("plugin{}{nanos}", std::process::id()));
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot listen on the plugin socket");
            return ExitCode::from(1);
        }
    };
    // go-plugin ignores SIGINT in plugins so that Ctrl-C reaches the host only.
    tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
    let line = format!("1|1|unix|{}|netrpc|\n", path.display());
    {
        let mut stdout = std::io::stdout().lock();
        if stdout
            .write_all(line.as_bytes())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            let _ = std::fs::remove_file(&path);
            return ExitCode::from(1);
        }
    }
    tracing::info!(socket = %path.display(), "plugin listening");
    let status = match listener.accept().await {
        Ok((conn, _)) => {
            serve_connection(conn, plugin).await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "accept failed");
            ExitCode::from(1)
        }
    };
    let _ = std::fs::remove_file(&path);
    status
}
