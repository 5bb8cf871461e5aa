//! Differential check of the gob codec against Go's own `encoding/gob`
//! (`tests/gob-differential`, run when `go` is installed): the same byte streams are decoded
//! by `gob::Decoder` and by Go's real decoder, each side prints a canonical dump (the syntax
//! is described in `tests/gob-differential/main.go`), and the two must agree on how many
//! values each stream holds, where each ends, the values themselves, and whether the stream
//! ends cleanly, short, or with an error. Inputs: the committed fuzz seeds/corpus, valid
//! streams of random Go types written by Go's encoder (the Go program's `gen` mode), byte
//! mutations of those, and — the encoder direction — streams our `gob::Encoder` writes for
//! random schemas and values, which Go must decode to the values we meant.
//!
//! Sizes (CI defaults in brackets): `GOB_DIFF_GENERATED` [4000] generated streams,
//! `GOB_DIFF_MUTANTS` [4] mutants of each, `GOB_DIFF_ENCODED` [3000] encoder streams,
//! `GOB_DIFF_SEED` [1]. The long offline run is described in fuzz/README.md.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use canary_judge::gob::{Decoder, Encoder, Limits, Schema, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Build the Go program once per test run (go caches the compile).
fn go_binary() -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gob-differential");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(manifest_dir().join("tests/gob-differential"))
        .status()
        .expect("run go build");
    assert!(status.success(), "building tests/gob-differential failed");
    out
}

fn records(streams: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in streams {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// Decode every stream with Go; one dump line each.
fn go_dumps(bin: &Path, streams: &[Vec<u8>]) -> Vec<String> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start gob-differential");
    let input = records(streams);
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut text = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut text)
        .expect("read dumps");
    writer.join().expect("writer").expect("write records");
    assert!(
        child.wait().expect("wait").success(),
        "gob-differential failed"
    );
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), streams.len(), "one dump line per stream");
    lines
}

/// Valid streams of random Go types, written by Go's encoder.
fn go_generated(bin: &Path, seed: u64, n: usize) -> Vec<Vec<u8>> {
    let out = Command::new(bin)
        .args(["gen", &seed.to_string(), &n.to_string()])
        .output()
        .expect("run gob-differential gen");
    assert!(out.status.success(), "gen failed");
    let mut streams = Vec::new();
    let mut b = out.stdout.as_slice();
    while let Some((len, rest)) = b.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        streams.push(rest[..len].to_vec());
        b = &rest[len..];
    }
    assert_eq!(streams.len(), n);
    streams
}

// --- the canonical dump of the Rust side --------------------------------------------------

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Go's `reflect.Value.IsZero` for the value gob would have stored: struct fields that are
/// zero are not part of the dump (gob omits them when encoding, and an explicit zero is
/// indistinguishable on Go's side).
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        // Since Go 1.22 a negative zero is zero too.
        Value::Float(f) => *f == 0.0,
        Value::Complex(re, im) => *re == 0.0 && *im == 0.0,
        Value::Bytes(b) => b.is_empty(),
        Value::String(s) => s.is_empty(),
        // Go keeps a slice decoded with length 0 nil; a decoded map is never nil.
        Value::Slice(items) => items.is_empty(),
        Value::Array(items) => items.iter().all(is_zero),
        Value::Struct(fields) => fields.iter().all(|(_, v)| is_zero(v)),
        Value::Map(_) => false,
        Value::Interface(i) => i.is_none(),
        Value::Encoded(_) => false,
    }
}

fn dump(v: &Value, out: &mut String) {
    match v {
        Value::Bool(b) => out.push_str(if *b { "b1" } else { "b0" }),
        Value::Int(i) => {
            let _ = write!(out, "i{i}");
        }
        Value::Uint(u) => {
            let _ = write!(out, "u{u}");
        }
        Value::Float(f) => {
            let _ = write!(out, "f{:016x}", f.to_bits());
        }
        Value::Complex(re, im) => {
            let _ = write!(out, "c{:016x},{:016x}", re.to_bits(), im.to_bits());
        }
        Value::Bytes(b) => out.push_str(&format!("x{}", hex(b))),
        Value::String(s) => out.push_str(&format!("s{}", hex(s.as_bytes()))),
        Value::Encoded(b) => out.push_str(&format!("E{}", hex(b))),
        Value::Struct(fields) => {
            out.push('{');
            let mut first = true;
            for (name, fv) in fields.iter().filter(|(_, fv)| !is_zero(fv)) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&hex(name.as_bytes()));
                out.push('=');
                dump(fv, out);
            }
            out.push('}');
        }
        Value::Slice(items) | Value::Array(items) => {
            if matches!(v, Value::Array(_)) {
                out.push('A');
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            // A Go map keeps the last value stored under a key.
            let mut entries: std::collections::BTreeMap<String, String> = Default::default();
            for (k, e) in pairs {
                let (mut ks, mut es) = (String::new(), String::new());
                dump(k, &mut ks);
                dump(e, &mut es);
                entries.insert(ks, es);
            }
            let mut items: Vec<String> = entries.into_iter().map(|(k, e)| k + ":" + &e).collect();
            items.sort();
            out.push_str("M{");
            out.push_str(&items.join(","));
            out.push('}');
        }
        Value::Interface(None) => out.push_str("I()"),
        Value::Interface(Some((name, inner))) => {
            out.push_str("I(");
            out.push_str(&hex(name.as_bytes()));
            out.push(':');
            dump(inner, out);
            out.push(')');
        }
    }
}

/// Go's limits, so that only the format decides: a message under 8 GiB (decoder.go
/// `tooBig` is `(1 << 30) << (^uint(0) >> 62)`, 8 GiB on 64-bit), and no nesting or element
/// bound short of what the inputs can reach.
const DIFF_LIMITS: Limits = Limits {
    max_message_bytes: (8 << 30) - 1,
    max_depth: 10_000,
    max_values: 1 << 30,
};

fn rust_dump(data: &[u8]) -> String {
    let mut dec = Decoder::with_limits(DIFF_LIMITS);
    let mut out = String::new();
    let mut pos = 0;
    loop {
        match dec.decode_next(&data[pos..]) {
            Ok(Some((v, used))) => {
                pos += used;
                dump(&v, &mut out);
                let _ = write!(out, "@{pos} ");
            }
            Ok(None) if pos == data.len() => return out + ";eof",
            Ok(None) => return out + ";short",
            Err(e) => return out + ";err\t" + &e.to_string(),
        }
    }
}

// --- comparing a Go dump (which may say "?": not compared) with the Rust dump ---------------

#[derive(Debug, PartialEq)]
enum D {
    Wild,
    Leaf(String),
    Struct(Vec<(String, D)>),
    Seq(bool, Vec<D>),
    Map(Vec<(D, D)>),
    Iface(Option<(String, Box<D>)>),
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> String {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn hexrun(&mut self) -> String {
        self.take_while(|c| c.is_ascii_hexdigit())
    }
    fn list<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(format!("bad list at {}", self.i)),
            }
        }
    }
    fn value(&mut self) -> Result<D, String> {
        let c = self.peek().ok_or("end of dump")?;
        self.i += 1;
        Ok(match c {
            b'?' => D::Wild,
            b'b' | b'u' | b'f' | b'x' | b's' | b'E' => {
                D::Leaf(format!("{}{}", c as char, self.hexrun()))
            }
            b'i' => D::Leaf(format!(
                "i{}",
                self.take_while(|c| c == b'-' || c.is_ascii_digit())
            )),
            b'c' => {
                let re = self.hexrun();
                self.eat(b',')?;
                D::Leaf(format!("c{re},{}", self.hexrun()))
            }
            b'{' => D::Struct(self.list(b'}', |p| {
                let name = p.hexrun();
                p.eat(b'=')?;
                Ok((name, p.value()?))
            })?),
            b'[' => D::Seq(false, self.list(b']', |p| p.value())?),
            b'A' => {
                self.eat(b'[')?;
                D::Seq(true, self.list(b']', |p| p.value())?)
            }
            b'M' => {
                self.eat(b'{')?;
                D::Map(self.list(b'}', |p| {
                    let k = p.value()?;
                    p.eat(b':')?;
                    Ok((k, p.value()?))
                })?)
            }
            b'I' => {
                self.eat(b'(')?;
                if self.peek() == Some(b')') {
                    self.i += 1;
                    D::Iface(None)
                } else {
                    let name = self.hexrun();
                    self.eat(b':')?;
                    let v = self.value()?;
                    self.eat(b')')?;
                    D::Iface(Some((name, Box::new(v))))
                }
            }
            other => return Err(format!("unknown token {:?} at {}", other as char, self.i)),
        })
    }
}

/// A parsed line: (value, end offset) per value, then the status word.
fn parse_line(line: &str) -> Result<(Vec<(D, u64)>, String), String> {
    // An error message (after a tab) may itself contain ';'.
    let line = line.split('\t').next().unwrap_or_default();
    let (values, status) = line.rsplit_once(';').ok_or("no status")?;
    let status = status.to_string();
    let mut out = Vec::new();
    for item in values.split(' ').filter(|s| !s.is_empty()) {
        let (v, end) = item.rsplit_once('@').ok_or("no end offset")?;
        let mut p = P {
            s: v.as_bytes(),
            i: 0,
        };
        let d = p.value()?;
        if p.i != v.len() {
            return Err(format!("trailing dump text in {v}"));
        }
        out.push((d, end.parse().map_err(|_| "bad end offset")?));
    }
    Ok((out, status))
}

/// Whether the Go dump `g` (wildcards allowed) describes the Rust dump `r`.
fn matches(g: &D, r: &D) -> bool {
    match (g, r) {
        (D::Wild, _) => true,
        (D::Leaf(a), D::Leaf(b)) => a == b,
        (D::Struct(gf), D::Struct(rf)) => {
            // Every Rust field is described by Go (a "?" field covers any number of Rust
            // fields of that name), and every compared Go field is present in Rust.
            rf.iter().all(|(n, rv)| {
                gf.iter()
                    .any(|(gn, gv)| gn == n && (matches!(gv, D::Wild) || matches(gv, rv)))
            }) && gf
                .iter()
                .filter(|(_, gv)| !matches!(gv, D::Wild))
                .all(|(gn, _)| rf.iter().any(|(n, _)| n == gn))
        }
        (D::Seq(ga, gi), D::Seq(ra, ri)) => {
            ga == ra && gi.len() == ri.len() && gi.iter().zip(ri).all(|(a, b)| matches(a, b))
        }
        (D::Map(ge), D::Map(re)) => {
            ge.len() == re.len()
                && ge
                    .iter()
                    .zip(re)
                    .all(|((gk, gv), (rk, rv))| matches(gk, rk) && matches(gv, rv))
        }
        (D::Iface(None), D::Iface(None)) => true,
        (D::Iface(Some((gn, gv))), D::Iface(Some((rn, rv)))) => gn == rn && matches(gv, rv),
        _ => false,
    }
}

fn has_wild(d: &D) -> bool {
    match d {
        D::Wild => true,
        D::Leaf(_) | D::Iface(None) => false,
        D::Struct(f) => f.iter().any(|(_, v)| has_wild(v)),
        D::Seq(_, items) => items.iter().any(has_wild),
        D::Map(e) => e.iter().any(|(k, v)| has_wild(k) || has_wild(v)),
        D::Iface(Some((_, v))) => has_wild(v),
    }
}

#[derive(Default, Debug)]
struct Tally {
    inputs: usize,
    go_accepted_values: usize,
    partially_compared: usize,
    agree_error: usize,
    /// Go's gob panicked where we returned an error (both reject).
    go_panicked: usize,
    /// Streams the Go side cannot decode past (an interface type it has no registration for).
    unregistered: usize,
    /// The argued exceptions (a multi-kind wireType; a bootstrap-typed field on Go's ignore
    /// path): Go's answer depends on the receiver.
    multi_kind: usize,
    disagreements: Vec<String>,
}

fn compare(tally: &mut Tally, what: &str, data: &[u8], go: &str, rust: &str) {
    tally.inputs += 1;
    let verdict = (|| -> Result<bool, String> {
        let (gv, gs) = parse_line(go).map_err(|e| format!("go dump: {e}"))?;
        let (rv, rs) = parse_line(rust).map_err(|e| format!("rust dump: {e}"))?;
        if gs == "panic" {
            // Go's gob crashed on the input (e.g. a uint length byte 0x80 in some paths):
            // a rejection, as long as we reject it too. Values before are not known.
            if rs == "err" {
                tally.go_panicked += 1;
                return Ok(false);
            }
            return Err("Go panicked and we accepted".into());
        }
        if gs == "err" && go.contains("name not registered for interface") {
            // A concrete type the Go side has no registration for (e.g. Argo's `RunArgs` in
            // the recorded corpus): Go cannot decode past it, so only what precedes compares.
            if rv.len() < gv.len() {
                return Err("different value count before an unregistered interface type".into());
            }
            for ((g, ge), (r, re)) in gv.iter().zip(&rv) {
                if ge != re || !matches(g, r) {
                    return Err("different value".into());
                }
            }
            tally.unregistered += 1;
            return Ok(true);
        }
        if gs == "err"
            && go.contains("undefined type")
            && [
                "wireType",
                "arrayType",
                "CommonType",
                "sliceType",
                "structType",
                "fieldType",
                "mapType",
            ]
            .iter()
            .any(|t| go.contains(t))
        {
            // The second argued exception: a field of one of gob's bootstrap types (ids
            // 16-23) that Go's receiver has no field for goes through its ignore path, which
            // knows no bootstrap type; a receiver with the field decodes it (as we do).
            tally.multi_kind += 1;
            return Ok(true);
        }
        if rs == "err" && rust.contains("expected exactly one kind") {
            // The argued exception (fuzz/README.md): a wireType naming several kinds has no
            // single Go answer (its typed and ignore paths pick kinds in different orders).
            tally.multi_kind += 1;
            return Ok(true);
        }
        if gv.len() != rv.len() || gs != rs {
            return Err("different value count or status".into());
        }
        let mut wild = false;
        for ((g, ge), (r, re)) in gv.iter().zip(&rv) {
            if ge != re || !matches(g, r) {
                return Err("different value".into());
            }
            wild |= has_wild(g);
        }
        if gs == "err" {
            tally.agree_error += 1;
        }
        tally.go_accepted_values += gv.len();
        Ok(wild)
    })();
    match verdict {
        Ok(wild) => tally.partially_compared += usize::from(wild),
        Err(why) => tally.disagreements.push(format!(
            "{what}: {why}\n  input {}\n  go   {go}\n  rust {rust}",
            hex(data)
        )),
    }
}

fn mutate(rng: &mut StdRng, s: &[u8]) -> Vec<u8> {
    let mut m = s.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        if m.is_empty() {
            m.push(rng.random());
            continue;
        }
        let i = rng.random_range(0..m.len());
        match rng.random_range(0..6) {
            0 => m[i] = rng.random(),
            1 => m[i] ^= 1 << rng.random_range(0..8),
            2 => m.truncate(i),
            3 => m.insert(
                i,
                [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe][rng.random_range(0..6)],
            ),
            4 => {
                m.remove(i);
            }
            _ => {
                let j = rng.random_range(i..m.len());
                let chunk = m[i..=j].to_vec();
                let at = rng.random_range(0..=m.len());
                m.splice(at..at, chunk);
            }
        }
    }
    m
}

// --- the encoder direction: random schemas and values ---------------------------------------

fn random_schema(rng: &mut StdRng, depth: u32) -> Schema {
    if depth == 0 || rng.random_range(0..3) == 0 {
        return match rng.random_range(0..7) {
            0 => Schema::Bool,
            1 => Schema::Int,
            2 => Schema::Uint,
            3 => Schema::Float,
            4 => Schema::Bytes,
            5 => Schema::String,
            _ => Schema::GobEncoder {
                name: ["Time", "T", ""][rng.random_range(0..3)].to_string(),
            },
        };
    }
    match rng.random_range(0..4) {
        0 => Schema::Slice(Box::new(random_schema(rng, depth - 1))),
        1 => {
            let key = match rng.random_range(0..4) {
                0 => Schema::String,
                1 => Schema::Int,
                2 => Schema::Uint,
                _ => Schema::Bool,
            };
            Schema::Map(Box::new(key), Box::new(random_schema(rng, depth - 1)))
        }
        _ => Schema::Struct {
            name: ["", "Measurement", "S"][rng.random_range(0..3)].to_string(),
            fields: (0..rng.random_range(0..5))
                .map(|i| (format!("F{i}"), random_schema(rng, depth - 1)))
                .collect(),
        },
    }
}

fn random_string(rng: &mut StdRng) -> String {
    const CHARS: [char; 6] = ['a', 'Z', '\0', 'é', '€', '😀'];
    (0..rng.random_range(0..6))
        .map(|_| CHARS[rng.random_range(0..CHARS.len())])
        .collect()
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    (0..rng.random_range(0..8)).map(|_| rng.random()).collect()
}

fn random_value(rng: &mut StdRng, s: &Schema) -> Value {
    let zero = rng.random_range(0..5) == 0;
    match s {
        Schema::Bool => Value::Bool(!zero && rng.random()),
        Schema::Int => Value::Int(if zero {
            0
        } else {
            rng.random::<i64>() >> rng.random_range(0..64)
        }),
        Schema::Uint => Value::Uint(if zero {
            0
        } else {
            rng.random::<u64>() >> rng.random_range(0..64)
        }),
        Schema::Float => Value::Float(match rng.random_range(0..5) {
            0 => 0.0,
            1 => -0.0,
            2 => f64::INFINITY,
            3 => f64::from(rng.random_range(-1000..1000)) / 8.0,
            _ => f64::from_bits(rng.random()),
        }),
        Schema::Bytes => Value::Bytes(if zero { Vec::new() } else { random_bytes(rng) }),
        Schema::String => Value::String(if zero {
            String::new()
        } else {
            random_string(rng)
        }),
        Schema::GobEncoder { .. } => Value::Encoded(random_bytes(rng)),
        Schema::Slice(e) => Value::Slice(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, e))
                .collect(),
        ),
        Schema::Map(k, e) => Value::Map(
            (0..rng.random_range(0..4))
                .map(|_| (random_value(rng, k), random_value(rng, e)))
                .collect(),
        ),
        Schema::Struct { fields, .. } => {
            let mut out = Vec::new();
            for (n, fs) in fields {
                if rng.random_range(0..4) != 0 {
                    out.push((n.clone(), random_value(rng, fs)));
                }
            }
            Value::Struct(out)
        }
    }
}

/// Go's encoder (and ours, which mirrors it) omits a `-0.0` struct field like `0.0`
/// (`x != 0` is false for both), so the receiver sees `+0`, which the dump leaves out.
fn as_go_sends(v: &Value) -> Value {
    match v {
        Value::Struct(fields) => Value::Struct(
            fields
                .iter()
                .map(|(n, f)| match f {
                    Value::Float(x) if *x == 0.0 => (n.clone(), Value::Float(0.0)),
                    other => (n.clone(), as_go_sends(other)),
                })
                .collect(),
        ),
        Value::Slice(items) => Value::Slice(items.iter().map(as_go_sends).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .iter()
                .map(|(k, e)| (as_go_sends(k), as_go_sends(e)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Go decodes an absent GobEncoder field as absent, and a present one through GobDecode;
/// our encoder omits neither, so the dumps of what was sent and what Go read must agree.
fn expected_dump(values: &[Value], stream_len: &[usize]) -> String {
    let mut out = String::new();
    for (v, end) in values.iter().zip(stream_len) {
        dump(&as_go_sends(v), &mut out);
        let _ = write!(out, "@{end} ");
    }
    out + ";eof"
}

#[test]
fn decoder_and_encoder_agree_with_go_gob() {
    if !have_go() {
        eprintln!("skipped: no go toolchain");
        return;
    }
    let bin = go_binary();
    let seed = env_usize("GOB_DIFF_SEED", 1) as u64;
    let n_gen = env_usize("GOB_DIFF_GENERATED", 4000);
    let n_mut = env_usize("GOB_DIFF_MUTANTS", 4);
    let n_enc = env_usize("GOB_DIFF_ENCODED", 3000);
    let mut rng = StdRng::seed_from_u64(seed);

    // 1. Decoder: corpus, generated valid streams, and their mutants.
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    // The committed seeds only, so the CI batch is the same on every machine; the scratch
    // corpus of local fuzzing runs (git-ignored) joins with GOB_DIFF_SCRATCH=1 (offline).
    let mut dirs = vec!["fuzz/seeds/gob_decode", "fuzz/seeds/gob_split"];
    if std::env::var("GOB_DIFF_SCRATCH").as_deref() == Ok("1") {
        dirs.extend(["fuzz/corpus/gob_decode", "fuzz/pending/gob_decode"]);
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(manifest_dir().join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let mut data = std::fs::read(&p).expect("read corpus file");
            if dir.ends_with("gob_split") && !data.is_empty() {
                data.remove(0); // that target's first byte picks the cut points
            }
            inputs.push((format!("corpus {}", p.display()), data));
        }
    }
    let n_corpus = inputs.len();
    let generated = go_generated(&bin, seed, n_gen);
    for (i, g) in generated.iter().enumerate() {
        for m in 0..n_mut {
            inputs.push((format!("mutant {m} of generated {i}"), mutate(&mut rng, g)));
        }
        inputs.push((format!("generated {i}"), g.clone()));
    }
    let streams: Vec<Vec<u8>> = inputs.iter().map(|(_, d)| d.clone()).collect();
    let go = go_dumps(&bin, &streams);
    // Deep recursive inputs recurse in the decoder: give it room.
    let rust: Vec<String> = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || streams.iter().map(|s| rust_dump(s)).collect())
        .expect("spawn")
        .join()
        .expect("rust decode");
    let mut dec = Tally::default();
    for (((what, data), g), r) in inputs.iter().zip(&go).zip(&rust) {
        compare(&mut dec, what, data, g, r);
    }

    // 2. Encoder: what we write, Go reads as the values we meant.
    let mut enc_streams = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..n_enc {
        let schema = random_schema(&mut rng, 3);
        let mut enc = Encoder::new();
        let mut stream = Vec::new();
        let mut values = Vec::new();
        let mut ends = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            let v = random_value(&mut rng, &schema);
            stream.extend(
                enc.encode(&schema, &v)
                    .expect("generated value fits its schema"),
            );
            values.push(v);
            ends.push(stream.len());
        }
        expected.push(expected_dump(&values, &ends));
        enc_streams.push(stream);
    }
    let go_enc = go_dumps(&bin, &enc_streams);
    let mut enc = Tally::default();
    for ((s, g), want) in enc_streams.iter().zip(&go_enc).zip(&expected) {
        compare(&mut enc, "encoded", s, g, want);
    }

    println!(
        "gob differential (seed {seed}): decoder: {} inputs ({n_corpus} corpus, {n_gen} generated, \
         {} mutants), {} values Go accepted compared, {} inputs both rejected at the same value, \
         {} with fields not compared (\"?\"), {} where Go's gob panicked and we returned an \
         error, {} cut short by an interface type Go has no registration for, {} argued \
         exceptions (multi-kind wireType, bootstrap-typed field Go ignores), {} disagreements; encoder: {} streams, {} values, \
         {} disagreements",
        dec.inputs,
        n_gen * n_mut,
        dec.go_accepted_values,
        dec.agree_error,
        dec.partially_compared,
        dec.go_panicked,
        dec.unregistered,
        dec.multi_kind,
        dec.disagreements.len(),
        enc.inputs,
        enc.go_accepted_values,
        enc.disagreements.len(),
    );
    let all: Vec<&String> = dec.disagreements.iter().chain(&enc.disagreements).collect();
    assert!(
        all.is_empty(),
        "{} disagreements with Go; first ones:\n{}",
        all.len(),
        all.iter()
            .take(
                std::env::var("GOB_DIFF_SHOW")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(8)
            )
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
