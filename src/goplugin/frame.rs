//! The yamux frame header (spec §2.2): 12 bytes, big-endian, followed by `length` payload bytes
//! for Data frames only. Parsing is pure and total so that hostile input can only produce an
//! error, never a panic or an allocation.

/// Frame type: payload bytes for one stream.
pub const TYPE_DATA: u8 = 0;
/// Frame type: grant more receive window (also opens/ACKs/closes streams).
pub const TYPE_WINDOW_UPDATE: u8 = 1;
/// Frame type: session liveness probe.
pub const TYPE_PING: u8 = 2;
/// Frame type: the sender will open no more streams (carries an error code).
pub const TYPE_GO_AWAY: u8 = 3;

/// Flag: open a stream / ping request.
pub const FLAG_SYN: u16 = 1;
/// Flag: acknowledge a stream open / ping reply.
pub const FLAG_ACK: u16 = 2;
/// Flag: half-close the sender's direction.
pub const FLAG_FIN: u16 = 4;
/// Flag: abort the stream.
pub const FLAG_RST: u16 = 8;

/// GoAway code: normal termination.
pub const GO_AWAY_NORMAL: u32 = 0;
/// GoAway code: the peer violated the protocol.
pub const GO_AWAY_PROTOCOL_ERROR: u32 = 1;
/// GoAway code: an internal error ended the session.
pub const GO_AWAY_INTERNAL_ERROR: u32 = 2;

/// Size of the fixed frame header.
pub const HEADER_LEN: usize = 12;
/// The only protocol version yamux defines.
pub const VERSION: u8 = 0;
/// Initial (and our maximum) per-stream receive window, as hashicorp's default config.
pub const INITIAL_WINDOW: u32 = 256 * 1024;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// One of the `TYPE_*` constants.
    pub kind: u8,
    /// Bitwise OR of `FLAG_*` constants.
    pub flags: u16,
    /// Stream id (0 = the session itself).
    pub stream_id: u32,
    /// Data: payload length; WindowUpdate: delta; Ping: opaque value; GoAway: code.
    pub length: u32,
}

/// Why a header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The version byte is not 0.
    #[error("yamux: unsupported protocol version {0}")]
    BadVersion(u8),
    /// The type byte is not one of the four defined types.
    #[error("yamux: invalid frame type {0}")]
    BadType(u8),
}

impl Header {
    /// A header with the given fields.
    pub fn new(kind: u8, flags: u16, stream_id: u32, length: u32) -> Self {
        Header {
            kind,
            flags,
            stream_id,
            length,
        }
    }

    /// Whether all bits of `flag` are set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag == flag
    }

    /// The 12 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = VERSION;
        b[1] = self.kind;
        b[2..4].copy_from_slice(&self.flags.to_be_bytes());
        b[4..8].copy_from_slice(&self.stream_id.to_be_bytes());
        b[8..12].copy_from_slice(&self.length.to_be_bytes());
        b
    }

    /// Parse 12 header bytes, validating version and type.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Header, FrameError> {
        if b[0] != VERSION {
            return Err(FrameError::BadVersion(b[0]));
        }
        if b[1] > TYPE_GO_AWAY {
            return Err(FrameError::BadType(b[1]));
        }
        Ok(Header {
            kind: b[1],
            flags: u16::from_be_bytes([b[2], b[3]]),
            stream_id: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            length: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_trace_bytes() {
        // Appendix A.1: "00 01 00 02 00000001 00000000" = WindowUpdate ACK stream 1.
        let h = Header::new(TYPE_WINDOW_UPDATE, FLAG_ACK, 1, 0);
        assert_eq!(h.encode(), [0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]);
        // "00 00 00 00 00000001 00000063" = Data stream 1, 99 bytes.
        let d = Header::decode(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x63]).unwrap();
        assert_eq!(d, Header::new(TYPE_DATA, 0, 1, 99));
    }

    #[test]
    fn round_trips_every_field() {
        let h = Header::new(TYPE_PING, FLAG_SYN | FLAG_ACK, 0xdead_beef, 0x0102_0304);
        let back = Header::decode(&h.encode()).unwrap();
        assert_eq!(back, h);
        assert!(back.has(FLAG_SYN) && back.has(FLAG_ACK) && !back.has(FLAG_FIN));
    }

    #[test]
    fn rejects_bad_version_and_type() {
        let mut b = Header::new(TYPE_DATA, 0, 1, 0).encode();
        b[0] = 1;
        assert_eq!(Header::decode(&b), Err(FrameError::BadVersion(1)));
        b[0] = 0;
        b[1] = 4;
        assert_eq!(Header::decode(&b), Err(FrameError::BadType(4)));
    }
}
