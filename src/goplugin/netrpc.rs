//! Go's `net/rpc` server side over one yamux stream with the gob codec (spec §4): a
//! `Request{ServiceMethod, Seq}` header then the argument; a `Response{ServiceMethod, Seq,
//! Error}` header then the reply — always a body, the empty struct on error. Requests run
//! concurrently and are answered as they finish; each response is encoded and written under one
//! lock so header and body stay contiguous and type definitions reach the peer in order.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::yamux::{Stream, YamuxError};
use super::{BoxFuture, Reply};
use crate::gob::{Decoder, Encoder, Schema, Value};

/// Work to run after a response has been queued (e.g. shutting down after `Control.Quit`).
pub type AfterReply = Box<dyn FnOnce() + Send>;

/// What a handler produced for one call.
pub struct Outcome {
    /// The reply, or the error string sent in `Response.Error`.
    pub result: Result<Reply, String>,
    /// Run once the response has been handed to the transport.
    pub after: Option<AfterReply>,
}

impl From<Result<Reply, String>> for Outcome {
    fn from(result: Result<Reply, String>) -> Self {
        Outcome {
            result,
            after: None,
        }
    }
}

/// The services registered on one net/rpc server.
pub trait Handler: Send + Sync + 'static {
    /// Whether `service` is registered.
    fn has_service(&self, service: &str) -> bool;
    /// Whether `service` (registered) has `method`.
    fn has_method(&self, service: &str, method: &str) -> bool;
    /// Run one call. Only called for resolved service/method pairs.
    fn call(
        self: Arc<Self>,
        service: String,
        method: String,
        arg: Value,
    ) -> BoxFuture<'static, Outcome>;
}

/// Go's `Request` header type.
pub fn request_schema() -> Schema {
    Schema::Struct {
        name: "Request".into(),
        fields: vec![
            ("ServiceMethod".into(), Schema::String),
            ("Seq".into(), Schema::Uint),
        ],
    }
}

/// Go's `Response` header type.
pub fn response_schema() -> Schema {
    Schema::Struct {
        name: "Response".into(),
        fields: vec![
            ("ServiceMethod".into(), Schema::String),
            ("Seq".into(), Schema::Uint),
            ("Error".into(), Schema::String),
        ],
    }
}

/// `struct{}`: Go's `invalidRequest` body and the reply of `Control.Ping`/`Quit`.
pub fn empty_struct() -> Reply {
    Reply {
        schema: Schema::Struct {
            name: String::new(),
            fields: Vec::new(),
        },
        value: Value::Struct(Vec::new()),
    }
}

/// A parsed request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// `Service.Method`.
    pub service_method: String,
    /// The client's sequence number, echoed in the response.
    pub seq: u64,
}

/// Interpret a decoded gob value as a `Request` header (absent fields are Go's zero values).
pub fn parse_request_header(v: &Value) -> Result<RequestHeader, String> {
    let Value::Struct(_) = v else {
        return Err("gob: request header is not a struct".into());
    };
    let service_method = match v.field("ServiceMethod") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("gob: ServiceMethod is not a string".into()),
    };
    let seq = match v.field("Seq") {
        None => 0,
        Some(Value::Uint(u)) => *u,
        Some(_) => return Err("gob: Seq is not an unsigned integer".into()),
    };
    Ok(RequestHeader {
        service_method,
        seq,
    })
}

/// Resolve `Service.Method` like Go's `readRequestHeader`, returning Go's exact error text.
pub fn resolve<H: Handler + ?Sized>(h: &H, sm: &str) -> Result<(String, String), String> {
    let Some(dot) = sm.rfind('.') else {
        return Err(format!("rpc: service/method request ill-formed: {sm}"));
    };
    let (service, method) = (&sm[..dot], &sm[dot + 1..]);
    if !h.has_service(service) {
        return Err(format!("rpc: can't find service {sm}"));
    }
    if !h.has_method(service, method) {
        return Err(format!("rpc: can't find method {sm}"));
    }
    Ok((service.to_string(), method.to_string()))
}

/// Reads gob values off a stream, buffering until a whole value is present.
struct GobReader {
    stream: Stream,
    dec: Decoder,
    buf: Vec<u8>,
}

enum Next<T> {
    Value(T),
    Eof,
    Bad(String),
}

impl GobReader {
    async fn next(&mut self, keep: bool) -> Next<Value> {
        loop {
            let res = if keep {
                self.dec.decode_next(&self.buf)
            } else {
                self.dec
                    .skip_next(&self.buf)
                    .map(|o| o.map(|n| (Value::Struct(Vec::new()), n)))
            };
            match res {
                Ok(Some((v, n))) => {
                    self.buf.drain(..n.min(self.buf.len()));
                    return Next::Value(v);
                }
                Ok(None) => {}
                Err(e) => return Next::Bad(e.to_string()),
            }
            match self.stream.read(&mut self.buf).await {
                Ok(0) | Err(YamuxError::SessionClosed | YamuxError::StreamReset) => {
                    return Next::Eof;
                }
                Ok(_) => {}
                Err(e) => return Next::Bad(e.to_string()),
            }
        }
    }
}

/// Encoder + stream, locked for the whole of one response.
struct ResponseWriter {
    stream: Stream,
    enc: Mutex<Encoder>,
}

impl ResponseWriter {
    async fn send(&self, sm: &str, seq: u64, result: Result<Reply, String>) -> bool {
        let mut enc = self.enc.lock().await;
        let (error, reply) = match result {
            Ok(r) => (String::new(), r),
            Err(e) => (e, empty_struct()),
        };
        let (error, body) = match enc.encode(&reply.schema, &reply.value) {
            Ok(b) => (error, b),
            Err(e) => {
                let fallback = empty_struct();
                let msg = format!("rpc: gob error encoding body: {e}");
                tracing::error!(method = sm, "{msg}");
                match enc.encode(&fallback.schema, &fallback.value) {
                    Ok(b) => (msg, b),
                    Err(_) => return false,
                }
            }
        };
        let mut fields = Vec::new();
        if !sm.is_empty() {
            fields.push(("ServiceMethod".to_string(), Value::String(sm.to_string())));
        }
        if seq != 0 {
            fields.push(("Seq".to_string(), Value::Uint(seq)));
        }
        if !error.is_empty() {
            fields.push(("Error".to_string(), Value::String(error)));
        }
        let Ok(mut out) = enc.encode(&response_schema(), &Value::Struct(fields)) else {
            return false;
        };
        out.extend_from_slice(&body);
        self.stream.write_all(&out).await.is_ok()
    }
}

/// Serve net/rpc on `stream` until the peer half-closes it, the session ends, or a request
/// cannot be decoded (then, like Go, the stream is closed). `initial` holds bytes already read
/// from the stream (e.g. after the broker's 4-byte id).
pub async fn serve_stream(stream: Stream, initial: Vec<u8>, handler: Arc<dyn Handler>) {
    let mut reader = GobReader {
        stream: stream.clone(),
        dec: Decoder::new(),
        buf: initial,
    };
    let writer = Arc::new(ResponseWriter {
        stream: stream.clone(),
        enc: Mutex::new(Encoder::new()),
    });
    let mut tasks = JoinSet::new();
    loop {
        // Reap finished calls so the set does not grow with the stream's lifetime.
        while tasks.try_join_next().is_some() {}
        let header = match reader.next(true).await {
            Next::Value(v) => v,
            Next::Eof => break,
            Next::Bad(e) => {
                tracing::warn!(
                    stream = stream.id(),
                    "rpc: server cannot decode request: {e}"
                );
                break;
            }
        };
        let req = match parse_request_header(&header) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    stream = stream.id(),
                    "rpc: server cannot decode request: {e}"
                );
                break;
            }
        };
        let resolved = resolve(handler.as_ref(), &req.service_method);
        let (service, method) = match resolved {
            Ok(sm) => sm,
            Err(msg) => {
                // Go still consumes the argument so the stream stays in sync.
                match reader.next(false).await {
                    Next::Value(_) => {}
                    Next::Eof => break,
                    Next::Bad(e) => {
                        tracing::warn!("rpc: server cannot decode request: {e}");
                        break;
                    }
                }
                if !writer.send(&req.service_method, req.seq, Err(msg)).await {
                    break;
                }
                continue;
            }
        };
        let arg = match reader.next(true).await {
            Next::Value(v) => v,
            Next::Eof => break,
            Next::Bad(e) => {
                let msg = format!("rpc: server cannot decode request: {e}");
                tracing::warn!("{msg}");
                writer.send(&req.service_method, req.seq, Err(msg)).await;
                break;
            }
        };
        let h = handler.clone();
        let w = writer.clone();
        tasks.spawn(async move {
            let outcome = h.call(service, method, arg).await;
            w.send(&req.service_method, req.seq, outcome.result).await;
            if let Some(after) = outcome.after {
                after();
            }
        });
    }
    // Like Go's ServeCodec: let in-flight calls answer, then close the stream.
    while tasks.join_next().await.is_some() {}
    stream.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Only;
    impl Handler for Only {
        fn has_service(&self, s: &str) -> bool {
            s == "Plugin"
        }
        fn has_method(&self, _s: &str, m: &str) -> bool {
            m == "Run"
        }
        fn call(self: Arc<Self>, _: String, _: String, _: Value) -> BoxFuture<'static, Outcome> {
            Box::pin(async { Outcome::from(Ok(empty_struct())) })
        }
    }

    #[test]
    fn resolve_uses_go_error_strings() {
        assert_eq!(
            resolve(&Only, "Plugin.Run"),
            Ok(("Plugin".into(), "Run".into()))
        );
        assert_eq!(
            resolve(&Only, "NoDot"),
            Err("rpc: service/method request ill-formed: NoDot".into())
        );
        assert_eq!(
            resolve(&Only, "Other.Run"),
            Err("rpc: can't find service Other.Run".into())
        );
        assert_eq!(
            resolve(&Only, "Plugin.Walk"),
            Err("rpc: can't find method Plugin.Walk".into())
        );
        // Go splits at the last dot.
        assert_eq!(
            resolve(&Only, "a.Plugin.Run"),
            Err("rpc: can't find service a.Plugin.Run".into())
        );
    }

    #[test]
    fn decodes_the_go_request_header_from_appendix_a2() {
        // Our encoder's Request definition + `17 <id> 01 12 "Dispenser.Dispense" 00` (Seq 0
        // omitted, Appendix A.2) must parse back to the header Go's client sends.
        let mut enc = Encoder::new();
        let v = Value::Struct(vec![(
            "ServiceMethod".into(),
            Value::String("Dispenser.Dispense".into()),
        )]);
        let bytes = enc.encode(&request_schema(), &v).unwrap();
        // The type id differs with Go's version (65 in the trace, 64 from Go ≥ 1.2x's encoder).
        let tail = [&[0x01, 0x12][..], b"Dispenser.Dispense", &[0x00]].concat();
        assert_eq!(bytes[bytes.len() - 24], 0x17, "{bytes:02x?}");
        assert!(bytes.ends_with(&tail), "{bytes:02x?}");
        let (back, n) = Decoder::new().decode_next(&bytes).unwrap().unwrap();
        assert_eq!(n, bytes.len());
        assert_eq!(
            parse_request_header(&back),
            Ok(RequestHeader {
                service_method: "Dispenser.Dispense".into(),
                seq: 0
            })
        );
        assert!(parse_request_header(&Value::Bool(true)).is_err());
    }

    #[test]
    fn empty_struct_matches_go_invalid_request_bytes() {
        // Appendix A.2: a definition message, then the 3-byte value message `03 <id> 00`
        // (the id itself differs per stream).
        let r = empty_struct();
        let bytes = Encoder::new().encode(&r.schema, &r.value).unwrap();
        let (v, _) = Decoder::new().decode_next(&bytes).unwrap().unwrap();
        assert_eq!(v, Value::Struct(Vec::new()));
        assert_eq!(bytes[bytes.len() - 4..][0], 0x03);
        assert_eq!(*bytes.last().unwrap(), 0x00);
    }
}
