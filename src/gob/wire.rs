//! gob's primitive encodings (spec §5.1): uint, int, float, and length-prefixed bytes, plus
//! the fixed type ids Go predefines. Both directions share these so they cannot drift apart.

/// Builtin type id of `bool`.
pub const ID_BOOL: i64 = 1;
/// Builtin type id of every signed integer width.
pub const ID_INT: i64 = 2;
/// Builtin type id of every unsigned integer width.
pub const ID_UINT: i64 = 3;
/// Builtin type id of `float32`/`float64`.
pub const ID_FLOAT: i64 = 4;
/// Builtin type id of `[]byte`.
pub const ID_BYTES: i64 = 5;
/// Builtin type id of `string`.
pub const ID_STRING: i64 = 6;
/// Builtin type id of `complex64`/`complex128`.
pub const ID_COMPLEX: i64 = 7;
/// Builtin type id of `interface{}`.
pub const ID_INTERFACE: i64 = 8;
/// Bootstrap id of `wireType`, the payload of a type definition.
pub const ID_WIRE_TYPE: i64 = 16;
/// The lowest id a peer may define; Go's encoder allocates from here (Go ≥ 1.2x starts at 64,
/// older releases at 65).
pub const FIRST_USER_ID: i64 = 64;

/// Append a gob uint: one byte below 128, else the negated byte count and big-endian bytes.
pub fn put_uint(out: &mut Vec<u8>, x: u64) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let bytes = x.to_be_bytes();
    let skip = (x.leading_zeros() / 8) as usize;
    let n = 8 - skip;
    out.push((-(n as i8)) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Append a gob int (sign in the low bit, complement for negatives).
pub fn put_int(out: &mut Vec<u8>, i: i64) {
    let u = if i < 0 {
        ((!i as u64) << 1) | 1
    } else {
        (i as u64) << 1
    };
    put_uint(out, u);
}

/// Append a gob float: the IEEE bits byte-reversed, sent as a uint.
pub fn put_float(out: &mut Vec<u8>, f: f64) {
    put_uint(out, f.to_bits().swap_bytes());
}

/// Append a uint length and the raw bytes (strings and `[]byte`).
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Decode a gob int from the uint it travels as.
pub fn int_from_uint(u: u64) -> i64 {
    if u & 1 != 0 {
        !((u >> 1) as i64)
    } else {
        (u >> 1) as i64
    }
}

/// Decode a gob float from the uint it travels as.
pub fn float_from_uint(u: u64) -> f64 {
    f64::from_bits(u.swap_bytes())
}

/// Outcome of reading a uint from a byte slice that may be cut short.
#[derive(Debug, PartialEq, Eq)]
pub enum UintRead {
    /// The value and the number of bytes it took.
    Done(u64, usize),
    /// The slice ends inside the uint.
    Short,
    /// The length byte claims more than 8 bytes.
    Bad(u8),
}

/// Read a gob uint from the front of `b`.
pub fn read_uint(b: &[u8]) -> UintRead {
    let Some(&first) = b.first() else {
        return UintRead::Short;
    };
    if first < 0x80 {
        return UintRead::Done(u64::from(first), 1);
    }
    let n = (first as i8).unsigned_abs() as usize;
    if n > 8 {
        return UintRead::Bad(first);
    }
    let Some(body) = b.get(1..1 + n) else {
        return UintRead::Short;
    };
    let x = body
        .iter()
        .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
    UintRead::Done(x, 1 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint(x: u64) -> Vec<u8> {
        let mut v = Vec::new();
        put_uint(&mut v, x);
        v
    }
    fn int(x: i64) -> Vec<u8> {
        let mut v = Vec::new();
        put_int(&mut v, x);
        v
    }

    #[test]
    fn primitives_match_spec_examples() {
        // docs/argo-plugin-protocol.md §5.1.
        assert_eq!(uint(0), [0x00]);
        assert_eq!(uint(127), [0x7f]);
        assert_eq!(uint(128), [0xff, 0x80]);
        assert_eq!(uint(256), [0xfe, 0x01, 0x00]);
        assert_eq!(int(0), [0x00]);
        assert_eq!(int(1), [0x02]);
        assert_eq!(int(-1), [0x01]);
        assert_eq!(int(65), [0xff, 0x82]);
        assert_eq!(int(-65), [0xff, 0x81]);
        assert_eq!(int(-129), [0xfe, 0x01, 0x01]);
        let mut f = Vec::new();
        put_float(&mut f, 17.0);
        assert_eq!(f, [0xfe, 0x31, 0x40]);
    }

    #[test]
    fn uint_and_int_round_trip_at_extremes() {
        for x in [0, 1, 127, 128, 255, 256, u64::MAX >> 1, u64::MAX] {
            assert_eq!(read_uint(&uint(x)), UintRead::Done(x, uint(x).len()));
        }
        for i in [0, -1, 1, i64::MIN, i64::MAX, -65, 65] {
            let b = int(i);
            let UintRead::Done(u, _) = read_uint(&b) else {
                panic!("short")
            };
            assert_eq!(int_from_uint(u), i);
        }
        assert_eq!(read_uint(&[0xf7, 0, 0]), UintRead::Bad(0xf7));
        assert_eq!(read_uint(&[0xfe, 0x01]), UintRead::Short);
        assert_eq!(read_uint(&[]), UintRead::Short);
    }
}
