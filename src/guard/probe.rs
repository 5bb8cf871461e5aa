//! The application's own signals: `/healthz` must answer 200 and `/version` (body, or the
//! `X-App-Version` header of either answer) must name the release being judged. A release
//! that cannot say that is failed before any statistics are run.

use super::config::AppConfig;
use std::time::Duration;

/// HTTP access to the application.
#[derive(Clone)]
pub struct AppProbe {
    client: reqwest::Client,
    cfg: AppConfig,
}

/// What one health-and-version check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// Healthy and reporting the expected version.
    Ok,
    /// `/healthz` did not answer 200 (status, or the transport error).
    Unhealthy(String),
    /// Healthy, but running another version.
    WrongVersion(String),
}

impl AppProbe {
    /// A probe with the configured request deadline.
    pub fn new(cfg: &AppConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(2)))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(AppProbe {
            client,
            cfg: cfg.clone(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.cfg.url.trim_end_matches('/'), path)
    }

    /// Check health and version once.
    pub async fn check(&self, expected_version: &str) -> Health {
        let health = match self
            .client
            .get(self.url(&self.cfg.health_path))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Health::Unhealthy(format!("{}: {e}", self.cfg.health_path)),
        };
        if health.status().as_u16() != 200 {
            return Health::Unhealthy(format!(
                "{} answered {}",
                self.cfg.health_path,
                health.status()
            ));
        }
        let resp = match self
            .client
            .get(self.url(&self.cfg.version_path))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Health::Unhealthy(format!("{}: {e}", self.cfg.version_path)),
        };
        let header = resp
            .headers()
            .get("x-app-version")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string());
        let ok_status = resp.status().is_success();
        let body = resp.text().await.unwrap_or_default();
        let body = body.trim();
        let reported = header.clone().unwrap_or_else(|| body.to_string());
        if header.as_deref() == Some(expected_version) || (ok_status && body == expected_version) {
            Health::Ok
        } else {
            let shown: String = reported.chars().take(80).collect();
            Health::WrongVersion(format!(
                "application reports version {shown:?}, expected {expected_version:?}"
            ))
        }
    }

    /// Scrape `/metrics`; `None` when it fails.
    pub async fn scrape(&self) -> Option<String> {
        let r = self
            .client
            .get(self.url(&self.cfg.metrics_path))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.text().await.ok()
    }
}
