//! Fuzz target for the go-plugin wire layers without a runtime: arbitrary bytes walked as a
//! sequence of yamux frames with the pure header parser (every header must re-encode to its
//! own bytes), Data payloads reassembled per stream, and the control stream's bytes decoded
//! as net/rpc request headers and bodies with the gob decoder, the way `serve_stream` reads
//! them. No tasks, no timers: this is the fast, high-volume target; `goplugin_session` runs
//! the same bytes through a real session. Panics are bugs; protocol errors are expected.
#![no_main]

use canary_judge::gob::{Decoder, Limits};
use canary_judge::goplugin::frame::*;
use canary_judge::goplugin::netrpc::parse_request_header;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 16,
    max_depth: 64,
    max_values: 1 << 14,
};

/// Streams tracked at once; yamux ids beyond these are only parsed, not reassembled.
const STREAMS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let mut payload: [Vec<u8>; STREAMS] = Default::default();
    let mut pos = 0;
    while let Some(chunk) = data.get(pos..pos + HEADER_LEN) {
        let Ok(b) = <[u8; HEADER_LEN]>::try_from(chunk) else { break };
        let Ok(h) = Header::decode(&b) else { break };
        assert_eq!(h.encode(), b, "header does not round-trip");
        pos += HEADER_LEN;
        if h.kind == TYPE_DATA {
            let end = pos.saturating_add(h.length as usize).min(data.len());
            if let Some(buf) = payload.get_mut(h.stream_id as usize) {
                buf.extend_from_slice(&data[pos..end]);
            }
            pos = end;
        }
    }
    // A stream's bytes as net/rpc reads them: header, body, header, body, ...
    for buf in payload.iter().filter(|b| !b.is_empty()) {
        let mut dec = Decoder::with_limits(LIMITS);
        let mut at = 0;
        let mut is_header = true;
        while let Ok(Some((v, used))) = dec.decode_next(&buf[at..]) {
            if is_header {
                let _ = parse_request_header(&v);
            }
            is_header = !is_header;
            at += used;
        }
    }
});
