//! `[http]` and `[console]`: serving requests, and the web console.

use serde::Deserialize;

/// How long and how much a client may take: the defences against slow and
/// hostile clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A request's headers must be in this many seconds after its first
    /// byte (or after the previous request on a kept-alive connection).
    pub header_timeout_secs: u64,
    /// A request's body must be in this many seconds after its headers;
    /// later, it is answered 408.
    pub body_timeout_secs: u64,
    /// Meta webhook bodies read at once; more wait up to half of
    /// `body_timeout_secs` for a turn, then are answered 503 (Meta retries).
    pub webhook_bodies_in_flight: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            webhook_bodies_in_flight: 8,
        }
    }
}

/// The web console served at `/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// Mark the session cookie `Secure` (only sent over HTTPS). Turn on when
    /// the console is reached through a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// The addresses browsers reach the console at when a reverse proxy
    /// stands in front (`https://replyd.example.com`): the proxy sends its
    /// upstream as `Host`, so a form posted from the page would otherwise
    /// look cross-site.
    pub public_urls: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_hours: 12,
            secure_cookies: false,
            public_urls: Vec::new(),
        }
    }
}
