//! Log lines in HashiCorp hclog's JSON format on stderr. go-plugin's host reads the plugin's
//! stderr line by line and re-logs a JSON line at its `@level` with its `@message`, taking
//! `@timestamp` in Go layout `2006-01-02T15:04:05.000000Z07:00` and every other key as a
//! key/value pair; any other line is logged at debug level and a missing or differently
//! formatted timestamp shows as year 1 (docs/argo-plugin-protocol.md §1.4).

use std::fmt;
use std::io::Write;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// hclog level names.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `2006-01-02T15:04:05.000000Z07:00` for a UTC instant: microseconds, `Z` suffix.
pub fn hclog_timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

struct Fields {
    message: String,
    rest: Map<String, Json>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.rest
                .insert(field.name().to_string(), Json::String(text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.rest
                .insert(field.name().to_string(), Json::String(value.to_string()));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest
            .insert(field.name().to_string(), Json::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest
            .insert(field.name().to_string(), Json::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest
            .insert(field.name().to_string(), Json::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(value.to_string()));
        self.rest.insert(field.name().to_string(), v);
    }
}

/// Renders one event as an hclog JSON line (without the newline).
pub fn render(event: &Event<'_>, now: time::OffsetDateTime) -> String {
    let mut fields = Fields {
        message: String::new(),
        rest: Map::new(),
    };
    event.record(&mut fields);
    let mut obj = Map::new();
    obj.insert(
        "@level".to_string(),
        Json::String(level_name(event.metadata().level()).to_string()),
    );
    obj.insert("@message".to_string(), Json::String(fields.message));
    obj.insert("@timestamp".to_string(), Json::String(hclog_timestamp(now)));
    obj.insert(
        "@module".to_string(),
        Json::String("canary-judge".to_string()),
    );
    for (k, v) in fields.rest {
        // Keys starting with `@` are hclog's own; keep user keys from colliding.
        let key = if k.starts_with('@') {
            format!("_{k}")
        } else {
            k
        };
        obj.insert(key, v);
    }
    Json::Object(obj).to_string()
}

/// A `tracing` layer writing hclog JSON lines to a writer (stderr in plugin mode).
pub struct HclogLayer<W: Fn() -> Box<dyn Write> + Send + Sync + 'static> {
    make_writer: W,
}

impl<W: Fn() -> Box<dyn Write> + Send + Sync + 'static> HclogLayer<W> {
    /// A layer that asks `make_writer` for a writer per line.
    pub fn new(make_writer: W) -> Self {
        HclogLayer { make_writer }
    }
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: Fn() -> Box<dyn Write> + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = render(event, time::OffsetDateTime::now_utc());
        line.push('\n');
        // One write call per line so concurrent lines do not interleave on the pipe.
        let _ = (self.make_writer)().write_all(line.as_bytes());
    }
}

/// The hclog layer on stderr.
pub fn stderr_layer() -> HclogLayer<impl Fn() -> Box<dyn Write> + Send + Sync + 'static> {
    HclogLayer::new(|| Box::new(std::io::stderr()) as Box<dyn Write>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn timestamp_matches_go_layout() {
        let t = time::macros::datetime!(2024-01-02 03:04:05.123456789 +05:30);
        assert_eq!(hclog_timestamp(t), "2024-01-01T21:34:05.123456Z");
    }

    #[test]
    fn lines_are_hclog_json() {
        let buf = Buf::default();
        let b2 = buf.clone();
        let layer = HclogLayer::new(move || Box::new(b2.clone()) as Box<dyn Write>);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(metric = "latency", n = 3u64, ok = true, "held \"x\"");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 1, "{text}");
        let v: Json = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["@level"], "warn");
        assert_eq!(v["@message"], "held \"x\"");
        assert_eq!(v["metric"], "latency");
        assert_eq!(v["n"], 3);
        assert_eq!(v["ok"], true);
        let ts = v["@timestamp"].as_str().unwrap();
        // 2006-01-02T15:04:05.000000Z
        assert_eq!(ts.len(), 27, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
