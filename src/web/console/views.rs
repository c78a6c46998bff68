//! The console's templates, stylesheet and script, compiled into the binary.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use minijinja::{Environment, Value};

use super::ConsoleError;
use crate::web::ApiError;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("inbox.html", include_str!("templates/inbox.html")),
    ("message.html", include_str!("templates/message.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("leads.html", include_str!("templates/leads.html")),
    ("lead.html", include_str!("templates/lead.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("tokens.html", include_str!("templates/tokens.html")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // `.html` templates escape every value they print.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("console template {name}: {e:#}"));
    }
    env.add_filter("when", when);
    env.add_filter("duration", duration);
    env.add_filter("ago", ago);
    env.add_filter("date", date);
    env.add_filter("truncate", truncate);
    env.add_filter("decimal", decimal);
    env
});

/// `2026-11-26 06:12 UTC` from milliseconds since the epoch.
fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "–".into())
}

/// `2026-11-26` from milliseconds since the epoch.
fn date(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "–".into())
}

/// At most `chars` characters, with an ellipsis when cut.
fn truncate(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn decimal(value: f64, places: usize) -> String {
    format!("{value:.places$}")
}

/// A span of milliseconds, as a person reads it.
fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "–".into() };
    let s = ms / 1000;
    match ms {
        ..1_000 => format!("{ms} ms"),
        ..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ..3_600_000 => format!("{} min {} s", s / 60, s % 60),
        ..86_400_000 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn ago(ms: Option<i64>) -> String {
    match ms {
        Some(t) => format!("{} ago", duration(Some(crate::store::now_ms() - t))),
        None => "–".into(),
    }
}

pub fn render(name: &str, context: Value) -> Result<Html<String>, ConsoleError> {
    ENV.get_template(name)
        .and_then(|t| t.render(context))
        .map(Html)
        .map_err(|e| {
            tracing::error!(template = name, error = %format!("{e:#}"), "console template failed");
            ConsoleError::Api(ApiError::internal())
        })
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("assets/console.css"),
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("assets/console.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            assert!(ENV.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn customer_text_is_escaped() {
        let page = render(
            "error.html",
            minijinja::context! { title => "t", message => "<script>alert(1)</script>", status => 400 },
        )
        .unwrap();
        assert!(!page.0.contains("<script>alert"), "{}", page.0);
        assert!(page.0.contains("&lt;script&gt;"));
    }

    #[test]
    fn filters_shorten_and_format() {
        assert_eq!(truncate("héllo wörld", 5), "héllo…");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(decimal(0.456, 2), "0.46");
        assert_eq!(date(Some(86_400_000)), "1970-01-02");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Some(850)), "850 ms");
        assert_eq!(duration(Some(2_500)), "2.5 s");
        assert_eq!(duration(Some(125_000)), "2 min 5 s");
        assert_eq!(duration(Some(3 * 3_600_000 + 60_000)), "3 h 1 min");
        assert_eq!(duration(None), "–");
    }
}
