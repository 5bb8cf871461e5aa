//! `{{name}}` substitution in PromQL query templates.
//!
//! Rules: `{{ name }}` (inner whitespace allowed) is replaced by `vars[name]`; names are
//! `[A-Za-z0-9_.-]+`. An unknown name or an unclosed `{{` is an error naming it, so a typo
//! never reaches Prometheus as a literal. Argo substitutes its own `{{args.X}}` before the
//! plugin sees the config, so anything left is ours; PromQL itself never contains `{{`.
//! Values are inserted verbatim (no escaping): they come from the operator's own config.

use std::collections::BTreeMap;

use thiserror::Error;

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// `{{name}}` with no value supplied.
    #[error(
        "query template uses {{{{{name}}}}} but no variable `{name}` is defined (known: {known})"
    )]
    UnknownVariable {
        /// The variable name.
        name: String,
        /// Comma-separated defined names, to spot a typo.
        known: String,
    },
    /// `{{` without a matching `}}`, or an invalid name between them.
    #[error("query template has a malformed placeholder at byte {offset}: {snippet:?}")]
    Malformed {
        /// Byte offset of the `{{`.
        offset: usize,
        /// Up to 40 characters from there.
        snippet: String,
    },
}

/// Renders `template`, replacing every `{{name}}` with `vars[name]`.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let malformed = || TemplateError::Malformed {
            offset: consumed + open,
            snippet: rest[open..].chars().take(40).collect(),
        };
        let close = after.find("}}").ok_or_else(malformed)?;
        let name = after[..close].trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(malformed());
        }
        let value = vars
            .get(name)
            .ok_or_else(|| TemplateError::UnknownVariable {
                name: name.to_string(),
                known: vars.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        out.push_str(value);
        let skip = open + 2 + close + 2;
        consumed += skip;
        rest = &rest[skip..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_and_keeps_promql_braces() {
        let v = vars(&[("track", "canary"), ("svc.name", "api")]);
        let q =
            "sum(increase(http_requests_total{track=\"{{track}}\",svc=\"{{ svc.name }}\"}[1m]))";
        assert_eq!(
            render(q, &v).unwrap(),
            "sum(increase(http_requests_total{track=\"canary\",svc=\"api\"}[1m]))"
        );
        assert_eq!(render("up{job=\"x\"}", &v).unwrap(), "up{job=\"x\"}");
    }

    #[test]
    fn unknown_and_malformed_are_errors() {
        let v = vars(&[("track", "canary")]);
        let e = render("x{a=\"{{args.svc}}\"}", &v).unwrap_err();
        assert!(e.to_string().contains("args.svc") && e.to_string().contains("track"));
        assert!(matches!(
            render("x{{track", &v),
            Err(TemplateError::Malformed { offset: 1, .. })
        ));
        assert!(matches!(
            render("{{ }}", &v),
            Err(TemplateError::Malformed { .. })
        ));
        assert!(matches!(
            render("{{a b}}", &v),
            Err(TemplateError::Malformed { .. })
        ));
    }
}
