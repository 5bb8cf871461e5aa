//! The query language of the Prometheus-API facade, so Flagger's and Argo's `prometheus`
//! providers can use canary-judge as their Prometheus:
//!
//! ```text
//! vector(1)                                     → 1 (Flagger's availability probe)
//! canary_judge{template="checkout", version="v2", lookback="30m"}
//!                                               → 1 pass, 0 fail, inconclusive configurable
//! canary_judge_score{template="checkout"}       → the aggregate score 0..100
//! ```
//!
//! Labels are `name="value"` pairs (`=` only, double or single quotes, `\` escapes). Reserved
//! labels: `template` (required), `lookback` (duration), `start`, `end` (Unix seconds),
//! `canary` (`NAMESPACE/NAME`: the window of that Canary's Flagger analysis); every
//! other label is a template variable. Whitespace is free (Flagger collapses it anyway).

use std::collections::BTreeMap;

/// What a facade query asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum FacadeQuery {
    /// `vector(1)`-style constant: answers its number.
    Constant(f64),
    /// A verdict (`canary_judge`) or score (`canary_judge_score`) of a template.
    Judge {
        /// True for `canary_judge_score`.
        score: bool,
        /// All labels as written.
        labels: BTreeMap<String, String>,
    },
}

/// Why a facade query was refused; the message quotes the offending part.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "facade query {query:?}: {why} (expected `vector(N)`, `canary_judge{{template=\"NAME\", ...}}` or `canary_judge_score{{...}}`)"
)]
pub struct FacadeError {
    /// The query text.
    pub query: String,
    /// What is wrong.
    pub why: String,
}

/// Parses one facade query.
pub fn parse(query: &str) -> Result<FacadeQuery, FacadeError> {
    let err = |why: String| FacadeError {
        query: query.to_string(),
        why,
    };
    let q = query.trim();
    if let Some(rest) = q.strip_prefix("vector") {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.trim_end().strip_suffix(')'))
            .ok_or_else(|| err("vector needs one number in parentheses".into()))?;
        let v: f64 = inner
            .trim()
            .parse()
            .map_err(|_| err(format!("`{}` is not a number", inner.trim())))?;
        return Ok(FacadeQuery::Constant(v));
    }
    let (score, rest) = if let Some(r) = q.strip_prefix("canary_judge_score") {
        (true, r)
    } else if let Some(r) = q.strip_prefix("canary_judge") {
        (false, r)
    } else {
        return Err(err("unknown metric name".into()));
    };
    let body = rest
        .trim()
        .strip_prefix('{')
        .and_then(|r| r.trim_end().strip_suffix('}'))
        .ok_or_else(|| err("labels must be in braces".into()))?;
    let labels = parse_labels(body).map_err(err)?;
    if !labels.contains_key("template") {
        return Err(err("the `template` label is missing".into()));
    }
    Ok(FacadeQuery::Judge { score, labels })
}

fn parse_labels(body: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(labels);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(format!(
                "expected a label name at `{}`",
                chars.clone().take(20).collect::<String>()
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            Some('=') => {}
            Some(c) => {
                return Err(format!(
                    "label `{name}`: only `=` matchers are supported, found `{c}`"
                ));
            }
            None => return Err(format!("label `{name}` has no value")),
        }
        if chars.peek() == Some(&'~') {
            return Err(format!("label `{name}`: regex matchers are not supported"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = match chars.next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(format!("label `{name}`: value must be quoted")),
        };
        let mut value = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(e) => value.push(e),
                    None => break,
                },
                c if c == quote => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return Err(format!("label `{name}`: unterminated string"));
        }
        if labels.insert(name.clone(), value).is_some() {
            return Err(format!("label `{name}` given twice"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_and_labels() {
        assert_eq!(parse(" vector( 1 ) ").unwrap(), FacadeQuery::Constant(1.0));
        let FacadeQuery::Judge { score, labels } =
            parse(r#"canary_judge_score{ template="a", v='x\'y', lookback="5m",}"#).unwrap()
        else {
            panic!()
        };
        assert!(score);
        assert_eq!(labels["template"], "a");
        assert_eq!(labels["v"], "x'y");
        assert_eq!(labels["lookback"], "5m");
    }

    #[test]
    fn refusals_name_the_problem() {
        for (q, needle) in [
            ("up", "unknown metric"),
            ("canary_judge{}", "`template` label is missing"),
            (r#"canary_judge{template=~"a"}"#, "regex"),
            (r#"canary_judge{template="a}"#, "unterminated"),
            (r#"canary_judge{template="a",template="b"}"#, "twice"),
            ("vector(x)", "not a number"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }
}
