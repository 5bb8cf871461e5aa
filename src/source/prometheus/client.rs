//! Reuse of built HTTP clients. Building a `reqwest` client with rustls loads and parses the
//! platform's root certificates (~4 ms here), and a fresh client also has an empty connection
//! pool, so every query of a step would open a new TCP (and TLS) connection. The Argo plugin
//! and the guard build a [`super::PrometheusSource`] per measurement, which made that setup
//! the largest part of a step's overhead over the raw queries (BENCHMARKS.md, part 3).
//!
//! The cache is per thread: a pooled connection runs on the tokio runtime that opened it, and
//! a runtime owns its worker threads, so a client is never shared between two live runtimes
//! (sharing would let one runtime's shutdown cut another's in-flight request). A runtime that
//! has ended leaves only closed connections behind, which the pool discards on checkout.
//! Entries are keyed by every setting the client is built from, including the resolved
//! secret headers and the CA file's bytes, so a rotated token or CA builds a new client.

use std::cell::RefCell;
use std::time::Duration;

/// Clients kept per thread; the oldest is dropped beyond this (a process talks to few servers).
const MAX_CLIENTS_PER_THREAD: usize = 8;

/// Everything a client is built from. Holds secrets (the resolved auth header), so it has no
/// `Debug` and is never logged.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientKey {
    /// Whole-exchange and connect timeout.
    pub timeout: Duration,
    /// Default headers as (name, value bytes), in insertion order, auth included.
    pub headers: Vec<(String, Vec<u8>)>,
    /// PEM bytes of the CA file, when one is configured.
    pub ca_pem: Option<Vec<u8>>,
    /// Certificate verification disabled.
    pub insecure: bool,
    /// HTTP redirects followed.
    pub follow_redirects: bool,
}

thread_local! {
    static CLIENTS: RefCell<Vec<(ClientKey, reqwest::Client)>> = const { RefCell::new(Vec::new()) };
}

/// The cached client for `key` on this thread, or the one `build` makes (cached on success).
pub(crate) fn get_or_build<E>(
    key: ClientKey,
    build: impl FnOnce() -> Result<reqwest::Client, E>,
) -> Result<reqwest::Client, E> {
    let hit = CLIENTS.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, client)| client.clone())
    });
    if let Some(client) = hit {
        return Ok(client);
    }
    let client = build()?;
    CLIENTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CLIENTS_PER_THREAD {
            c.remove(0);
        }
        c.push((key, client.clone()));
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(timeout: u64, header: &str) -> ClientKey {
        ClientKey {
            timeout: Duration::from_secs(timeout),
            headers: vec![("authorization".to_string(), header.as_bytes().to_vec())],
            ca_pem: None,
            insecure: false,
            follow_redirects: true,
        }
    }

    #[test]
    fn same_settings_reuse_one_build_and_changes_rebuild() {
        let mut builds = 0;
        let mut get = |k: ClientKey| {
            get_or_build(k, || {
                builds += 1;
                reqwest::Client::builder().build()
            })
            .unwrap()
        };
        get(key(5, "Bearer a"));
        get(key(5, "Bearer a"));
        get(key(5, "Bearer b")); // rotated token
        get(key(6, "Bearer a")); // other timeout
        assert_eq!(builds, 3);
        // A failed build is not cached.
        let e = get_or_build(key(7, "x"), || Err::<reqwest::Client, _>("no"));
        assert!(e.is_err());
        let ok = get_or_build(key(7, "x"), || reqwest::Client::builder().build());
        assert!(ok.is_ok());
    }

    #[test]
    fn cache_is_bounded() {
        for i in 0..(MAX_CLIENTS_PER_THREAD as u64 + 3) {
            get_or_build(key(100 + i, ""), || reqwest::Client::builder().build()).unwrap();
        }
        assert_eq!(CLIENTS.with(|c| c.borrow().len()), MAX_CLIENTS_PER_THREAD);
        // The oldest went first: the first key builds again.
        let mut rebuilt = false;
        get_or_build(key(100, ""), || {
            rebuilt = true;
            reqwest::Client::builder().build()
        })
        .unwrap();
        assert!(rebuilt);
    }
}
