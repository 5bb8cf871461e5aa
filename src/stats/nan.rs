//! What to do with values that are not finite numbers before a method sees them. Prometheus
//! yields NaN for 0/0 (an error ratio with no traffic), Kayenta has a `nanStrategy`; the
//! analysis config and the Mann–Whitney parameters both use this one type. Its default
//! differs by layer on purpose, and each field says which: a metric in a config drops them
//! (`remove`, as Kayenta), a method called directly refuses them (`reject`), so nothing is
//! dropped silently where nobody asked for it.

use serde::{Deserialize, Serialize};

/// NaN handling. Written `reject`, `remove`, `replace` (by 0, Kayenta's) or `{replace: X}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NanStrategy {
    /// A value that is not a finite number is an error; nothing is silently dropped.
    Reject,
    /// Drop them (Kayenta's default `remove`).
    Remove,
    /// Replace them with this value (Kayenta's `replace` uses 0).
    Replace(f64),
}

impl Serialize for NanStrategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            NanStrategy::Reject => s.serialize_str("reject"),
            NanStrategy::Remove => s.serialize_str("remove"),
            NanStrategy::Replace(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("replace", v)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for NanStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NanStrategy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`reject`, `remove`, `replace` or `{replace: NUMBER}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NanStrategy, E> {
                match v {
                    "reject" => Ok(NanStrategy::Reject),
                    "remove" => Ok(NanStrategy::Remove),
                    "replace" => Ok(NanStrategy::Replace(0.0)),
                    other => Err(E::unknown_variant(other, &["reject", "remove", "replace"])),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NanStrategy, A::Error> {
                let key: Option<String> = map.next_key()?;
                match key.as_deref() {
                    Some("replace") => {
                        let v: f64 = map.next_value()?;
                        if let Some(k) = map.next_key::<String>()? {
                            return Err(serde::de::Error::unknown_field(&k, &["replace"]));
                        }
                        Ok(NanStrategy::Replace(v))
                    }
                    Some(other) => Err(serde::de::Error::unknown_field(other, &["replace"])),
                    None => Err(serde::de::Error::missing_field("replace")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form_reads_back() {
        for (text, want) in [
            ("\"reject\"", NanStrategy::Reject),
            ("\"remove\"", NanStrategy::Remove),
            ("\"replace\"", NanStrategy::Replace(0.0)),
            ("{\"replace\": 5}", NanStrategy::Replace(5.0)),
        ] {
            let got: NanStrategy = serde_json::from_str(text).unwrap();
            assert_eq!(got, want, "{text}");
            let again: NanStrategy =
                serde_json::from_str(&serde_json::to_string(&got).unwrap()).unwrap();
            assert_eq!(again, want);
        }
        assert!(serde_json::from_str::<NanStrategy>("\"drop\"").is_err());
        assert!(serde_json::from_str::<NanStrategy>("{\"replace\": 1, \"x\": 2}").is_err());
    }
}
