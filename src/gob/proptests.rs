//! Property tests for the codec: whatever the encoder writes for a random schema and value,
//! the decoder reads back as that value with Go's zero omission applied; and no byte string,
//! random or a mutated valid stream, makes the decoder panic.

use proptest::prelude::*;

use super::{Decoder, Encoder, Schema, Value};

fn arb_schema() -> impl Strategy<Value = Schema> {
    let leaf = prop_oneof![
        Just(Schema::Bool),
        Just(Schema::Int),
        Just(Schema::Uint),
        Just(Schema::Float),
        Just(Schema::Bytes),
        Just(Schema::String),
        "[A-Z][a-z]{0,4}".prop_map(|name| Schema::GobEncoder { name }),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Schema::Slice(Box::new(s))),
            (inner.clone(), inner.clone()).prop_map(|(k, e)| Schema::Map(Box::new(k), Box::new(e))),
            ("[A-Z]?[a-z]{0,4}", prop::collection::vec(inner, 0..5)).prop_map(|(name, fs)| {
                Schema::Struct {
                    name,
                    fields: fs
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| (format!("F{i}"), s))
                        .collect(),
                }
            }),
        ]
    })
}

fn arb_value(schema: &Schema) -> BoxedStrategy<Value> {
    match schema {
        Schema::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Schema::Int => prop_oneof![Just(0i64), any::<i64>()]
            .prop_map(Value::Int)
            .boxed(),
        Schema::Uint => prop_oneof![Just(0u64), any::<u64>()]
            .prop_map(Value::Uint)
            .boxed(),
        Schema::Float => any::<f64>()
            .prop_filter("NaN never compares equal", |f| !f.is_nan())
            .prop_map(Value::Float)
            .boxed(),
        Schema::Bytes => prop::collection::vec(any::<u8>(), 0..6)
            .prop_map(Value::Bytes)
            .boxed(),
        Schema::String => "\\PC{0,6}".prop_map(Value::String).boxed(),
        Schema::GobEncoder { .. } => prop::collection::vec(any::<u8>(), 0..16)
            .prop_map(Value::Encoded)
            .boxed(),
        Schema::Slice(e) => prop::collection::vec(arb_value(e), 0..4)
            .prop_map(Value::Slice)
            .boxed(),
        Schema::Map(k, e) => prop::collection::vec((arb_value(k), arb_value(e)), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Schema::Struct { fields, .. } => {
            let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
                .iter()
                .map(|(n, s)| {
                    let n = n.clone();
                    prop::option::of(arb_value(s).prop_map(move |v| (n.clone(), v))).boxed()
                })
                .collect();
            parts
                .prop_map(|fs| Value::Struct(fs.into_iter().flatten().collect()))
                .boxed()
        }
    }
}

/// What Go's decoder would see: zero scalars and empty slices in struct fields vanish.
fn normalize(schema: &Schema, v: &Value) -> Value {
    match (schema, v) {
        (Schema::Struct { fields, .. }, Value::Struct(given)) => Value::Struct(
            fields
                .iter()
                .filter_map(|(n, s)| {
                    let (_, fv) = given.iter().find(|(gn, _)| gn == n)?;
                    let omitted = match fv {
                        Value::Bool(b) => !b,
                        Value::Int(i) => *i == 0,
                        Value::Uint(u) => *u == 0,
                        Value::Float(f) => *f == 0.0,
                        Value::Bytes(b) => b.is_empty(),
                        Value::String(s) => s.is_empty(),
                        Value::Slice(s) => s.is_empty(),
                        _ => false,
                    };
                    (!omitted).then(|| (n.clone(), normalize(s, fv)))
                })
                .collect(),
        ),
        (Schema::Slice(e), Value::Slice(items)) => {
            Value::Slice(items.iter().map(|i| normalize(e, i)).collect())
        }
        (Schema::Map(ks, es), Value::Map(pairs)) => Value::Map(
            pairs
                .iter()
                .map(|(k, e)| (normalize(ks, k), normalize(es, e)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn schema_and_values() -> impl Strategy<Value = (Schema, Vec<Value>)> {
    arb_schema().prop_flat_map(|s| {
        let values = prop::collection::vec(arb_value(&s), 1..4);
        (Just(s), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn encode_then_decode_round_trips((schema, values) in schema_and_values()) {
        let mut enc = Encoder::new();
        let mut stream = Vec::new();
        for v in &values {
            stream.extend(enc.encode(&schema, v).unwrap());
        }
        let mut dec = Decoder::new();
        let mut pos = 0;
        for v in &values {
            let (got, used) = dec.decode_next(&stream[pos..]).unwrap().unwrap();
            prop_assert_eq!(got, normalize(&schema, v));
            pos += used;
        }
        prop_assert_eq!(pos, stream.len());
    }

    #[test]
    fn decoder_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut dec = Decoder::new();
        let mut pos = 0;
        while let Ok(Some((_, used))) = dec.decode_next(&bytes[pos..]) {
            prop_assert!(used > 0);
            pos += used;
        }
    }

    #[test]
    fn decoder_never_panics_on_mutated_streams(
        (schema, values) in schema_and_values(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut enc = Encoder::new();
        let mut stream = Vec::new();
        for v in &values {
            stream.extend(enc.encode(&schema, v).unwrap());
        }
        for (at, byte) in flips {
            let i = at.index(stream.len());
            stream[i] = byte;
        }
        let mut dec = Decoder::new();
        let mut pos = 0;
        while let Ok(Some((_, used))) = dec.decode_next(&stream[pos..]) {
            pos += used;
        }
    }
}
