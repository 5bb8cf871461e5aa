//! The link to an analysis's report on `serve` (`GET /report?…`). A report is named by what
//! it judges — a template of the service's config, or the analysis config itself — plus its
//! window and variables, never by an id: the same link opens the same report on any replica,
//! after any restart, and for the Argo plugin, whose configs live in AnalysisTemplates that
//! `serve` never sees.

use std::collections::BTreeMap;

/// The query parameters `/report` reads itself; every other parameter is a template variable.
pub const RESERVED_PARAMETERS: [&str; 6] =
    ["template", "config", "start", "end", "lookback", "every"];

/// Longest link we hand out. Browsers, proxies and the Argo UI cope with 8 KiB; a config
/// too large for that is not linked (the metadata says so) rather than cut.
pub const MAX_LINK_BYTES: usize = 8 * 1024;

/// What the report judges.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A template of the service's config, by name.
    Template(&'a str),
    /// An analysis config, as the JSON object a client would send to `/v1/analyze`.
    Config(&'a serde_json::Value),
}

/// Why an analysis gets no link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// A template variable has the name of a `/report` parameter, so the page could not tell
    /// them apart.
    #[error("variable `{0}` has the name of a /report parameter")]
    ReservedVariable(String),
    /// The link would be longer than [`MAX_LINK_BYTES`].
    #[error("the link would be {0} bytes (at most {MAX_LINK_BYTES})")]
    TooLong(usize),
}

/// The query string (after `?`) of the report of `subject` over `[start, end]` with `vars`.
pub fn query(
    subject: Subject<'_>,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<String, LinkError> {
    if let Some(k) = vars
        .keys()
        .find(|k| RESERVED_PARAMETERS.contains(&k.as_str()))
    {
        return Err(LinkError::ReservedVariable(k.clone()));
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    match subject {
        Subject::Template(name) => q.append_pair("template", name),
        Subject::Config(config) => q.append_pair("config", &config.to_string()),
    };
    q.append_pair("start", &start.to_string())
        .append_pair("end", &end.to_string());
    for (k, v) in vars {
        q.append_pair(k, v);
    }
    Ok(q.finish())
}

/// The whole link under an operator's base URL (without a trailing `/`).
pub fn url(
    base: &str,
    subject: Subject<'_>,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<String, LinkError> {
    let link = format!("{base}/report?{}", query(subject, start, end, vars)?);
    if link.len() > MAX_LINK_BYTES {
        return Err(LinkError::TooLong(link.len()));
    }
    Ok(link)
}

/// Checks an operator's base URL and drops its trailing `/`; `None` names what is wrong.
pub fn normalise_base(base: &str) -> Option<String> {
    let parsed = url::Url::parse(base).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some())
        .then(|| base.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_link_carries_window_and_variables() {
        let vars = BTreeMap::from([("name".to_string(), "app & co".to_string())]);
        assert_eq!(
            query(Subject::Template("error-rate"), 100, 200, &vars).as_deref(),
            Ok("template=error-rate&start=100&end=200&name=app+%26+co")
        );
    }

    #[test]
    fn a_config_link_round_trips_the_json() {
        let config =
            serde_json::json!({"metrics": [{"name": "m", "canary": {"query": "up{a=\"b\"}"}}]});
        let q = query(Subject::Config(&config), 1, 2, &BTreeMap::new()).unwrap();
        let back: BTreeMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let parsed: serde_json::Value = serde_json::from_str(&back["config"]).unwrap();
        assert_eq!(parsed, config);
        assert_eq!(back["start"], "1");
    }

    #[test]
    fn reserved_names_and_long_links_are_refused() {
        let vars = BTreeMap::from([("start".to_string(), "x".to_string())]);
        assert_eq!(
            query(Subject::Template("t"), 1, 2, &vars),
            Err(LinkError::ReservedVariable("start".into()))
        );
        let big = serde_json::json!({"q": "x".repeat(MAX_LINK_BYTES)});
        assert!(matches!(
            url("http://cj", Subject::Config(&big), 1, 2, &BTreeMap::new()),
            Err(LinkError::TooLong(_))
        ));
        assert_eq!(
            normalise_base("https://cj.example/x/").as_deref(),
            Some("https://cj.example/x")
        );
        assert_eq!(normalise_base("file:///etc/passwd"), None);
        assert_eq!(normalise_base("not a url"), None);
    }
}
