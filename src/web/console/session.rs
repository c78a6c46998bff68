//! Console sessions: sign-in with an API token, a session cookie, sign-out,
//! and the CSRF check every state-changing cookie request must pass.
//!
//! The cookie is `HttpOnly` (scripts cannot read it), `SameSite=Strict`
//! (other sites' requests do not carry it) and expires; `Secure` is added
//! when `console.secure_cookies` is on (behind HTTPS). On top of that, a
//! cookie-authenticated POST, PATCH or DELETE must carry the session's CSRF
//! token, in the `_csrf` form field or the `X-CSRF-Token` header, and must
//! not come from another origin. Bearer-token calls carry no cookie and
//! need no CSRF token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use super::{is_form, ConsoleError, FormFields, QueryFields, User};
use crate::auth::{generate_secret, hash_token, Caller, Permission, Via};
use crate::store::{audit, now_ms, sessions, tokens};
use crate::web::{ApiError, AppState, MAX_BODY_BYTES};

pub const COOKIE: &str = "replyd_session";
/// Failed sign-ins one client address, or one token prefix, may make in
/// [`FAILURE_WINDOW`]. Tokens are 256 random bits, so guessing is hopeless
/// anyway; this keeps a script from hammering the token table and filling
/// the log. Only failures count: behind a proxy every user shares one
/// address, and people signing in successfully must not lock the others out.
const FAILED_SIGN_INS: u32 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// A token's first characters: `rpd_` and 8 hex digits. Guesses at one
/// token spread over many addresses still share it.
const TOKEN_PREFIX_CHARS: usize = 12;

/// Past this many remembered keys, those whose window has passed are
/// forgotten before a new one is remembered: a stream of new addresses
/// (IPv6 hands out plenty) cannot grow the table without bound.
const PRUNE_AT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Attempter {
    Address(IpAddr),
    TokenPrefix(String),
}

/// Failed sign-ins per client address and per token prefix, in fixed
/// windows. (governor's limiters count every check; this must look without
/// counting, and count only what failed.)
#[derive(Default)]
pub struct SignInFailures {
    seen: std::sync::Mutex<HashMap<Attempter, (Instant, u32)>>,
}

impl SignInFailures {
    fn attempters(client: IpAddr, token: &str) -> [Attempter; 2] {
        let prefix: String = token.chars().take(TOKEN_PREFIX_CHARS).collect();
        [Attempter::Address(client), Attempter::TokenPrefix(prefix)]
    }

    /// Whether `client`, or anyone trying a token that starts like
    /// `token`, has failed too often lately.
    pub fn blocked(&self, client: IpAddr, token: &str) -> bool {
        self.blocked_at(client, token, Instant::now())
    }

    pub fn record_failure(&self, client: IpAddr, token: &str) {
        self.record_failure_at(client, token, Instant::now())
    }

    fn blocked_at(&self, client: IpAddr, token: &str, now: Instant) -> bool {
        let seen = self.seen.lock().expect("not poisoned");
        Self::attempters(client, token).iter().any(|who| {
            seen.get(who).is_some_and(|(since, failures)| {
                now.duration_since(*since) < FAILURE_WINDOW && *failures >= FAILED_SIGN_INS
            })
        })
    }

    fn record_failure_at(&self, client: IpAddr, token: &str, now: Instant) {
        let mut seen = self.seen.lock().expect("not poisoned");
        if seen.len() >= PRUNE_AT {
            seen.retain(|_, (since, _)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        for who in Self::attempters(client, token) {
            let entry = seen.entry(who).or_insert((now, 0));
            if now.duration_since(entry.0) >= FAILURE_WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Resolves the session cookie into a [`Caller`] for the handlers, and
/// refuses a state-changing request that fails the CSRF checks.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let unsafe_method = !req.method().is_safe();
    let public_urls = &state.ctx.config.console.public_urls;
    if unsafe_method && is_cross_site(req.headers(), public_urls) {
        return refuse(req.uri().path(), "the request came from another site");
    }
    if req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let Some(id) = cookie(req.headers(), COOKIE) else {
        return next.run(req).await;
    };
    let found = match state.ctx.db.conn().await {
        Ok(mut conn) => sessions::find(&mut conn, &hash_token(&id)).await,
        Err(e) => Err(e),
    };
    let session = match found {
        Ok(Some(session)) => session,
        // An expired or unknown session is no session: pages send the
        // browser to sign in, the API answers 401.
        Ok(None) => return next.run(req).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut req = req;
    if unsafe_method {
        req = match check_csrf(req, &session.csrf).await {
            Ok(req) => req,
            Err(path) => return refuse(&path, "missing or wrong CSRF token"),
        };
    }
    req.extensions_mut().insert(Caller {
        token_id: session.token_id,
        name: session.name,
        role: session.role,
        via: Via::Session { csrf: session.csrf },
    });
    next.run(req).await
}

/// A browser tells where a request comes from; a cookie request from
/// another origin is never one of ours. Ours is the address the request
/// was sent to (`Host`) or, behind a reverse proxy that sends its own
/// `Host`, one of `console.public_urls`. `X-Forwarded-*` is not read: any
/// client can send it.
fn is_cross_site(headers: &HeaderMap, public_urls: &[String]) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = text("origin") else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let public = public_urls
        .iter()
        .any(|url| url.trim_end_matches('/').eq_ignore_ascii_case(origin));
    let origin_host = origin.split("://").nth(1).unwrap_or(origin);
    let same_host = text("host").is_none_or(|host| origin_host.eq_ignore_ascii_case(host));
    !(public || same_host)
}

/// Passes the request on with its body intact when it carries the token.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, String> {
    let path = req.uri().path().to_owned();
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(given) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if matches(given) { Ok(req) } else { Err(path) };
    }
    if !is_form(req.headers()) {
        return Err(path);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| path.clone())?;
    let form = FormFields::parse(&bytes);
    match form.get(CSRF_FIELD) {
        Some(given) if matches(given) => Ok(Request::from_parts(parts, bytes.into())),
        _ => Err(path),
    }
}

fn refuse(path: &str, why: &str) -> Response {
    let error = ApiError::new(StatusCode::FORBIDDEN, "csrf", why);
    if path.starts_with("/v1/") {
        error.into_response()
    } else {
        ConsoleError::Api(error).into_response()
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// Only a path of this site: never `//evil.example` or an absolute URL.
/// Browsers drop tabs and newlines from a `Location` and read `\` as `/`,
/// so `/\t/evil.example` would become `//evil.example`: only visible ASCII
/// is allowed (a path this site links to is percent-encoded anyway), which
/// also keeps the header valid.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    })
    .unwrap_or("/")
}

pub async fn login_page(
    signed_in: Option<axum::Extension<Caller>>,
    QueryFields(query): QueryFields,
) -> Response {
    if signed_in.is_some() {
        return Redirect::to(safe_next(query.get("next"))).into_response();
    }
    login_form(StatusCode::OK, query.get("next"), None)
}

fn login_form(status: StatusCode, next: Option<&str>, error: Option<&str>) -> Response {
    match super::render(
        "login.html",
        minijinja::context! { next => safe_next(next), error },
    ) {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    form: FormFields,
) -> Response {
    let next = form.get("next");
    let Some(token) = form.get("token") else {
        return login_form(StatusCode::BAD_REQUEST, next, Some("Paste your API token."));
    };
    if state.sign_ins.blocked(client.ip(), token) {
        return login_form(
            StatusCode::TOO_MANY_REQUESTS,
            next,
            Some("Too many failed sign-ins; wait a minute."),
        );
    }
    match start_session(&state, token).await {
        Ok(Ok(cookie)) => {
            let mut response = Redirect::to(safe_next(next)).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Ok(Err(why)) => {
            state.sign_ins.record_failure(client.ip(), token);
            login_form(StatusCode::UNAUTHORIZED, next, Some(why))
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// Checks the token and opens a session; the inner error is for the person
/// signing in.
async fn start_session(
    state: &AppState,
    token: &str,
) -> Result<Result<HeaderValue, &'static str>, ApiError> {
    let config = &state.ctx.config.console;
    let mut tx = state.ctx.db.begin().await?;
    let Some(record) = tokens::find_by_hash(&mut tx, &hash_token(token)).await? else {
        return Ok(Err("That token is unknown or has been revoked."));
    };
    if !Permission::ReadMessages.granted_to(record.role)
        && !Permission::ReadLeads.granted_to(record.role)
    {
        return Ok(Err("Ingest tokens post messages; they have no console."));
    }
    let id = generate_secret("rps");
    let csrf = generate_secret("csrf");
    let ttl_ms = i64::from(config.session_hours) * 3_600_000;
    sessions::insert(
        &mut tx,
        &hash_token(&id),
        &record.id,
        &csrf,
        now_ms() + ttl_ms,
    )
    .await?;
    audit::record(
        &mut tx,
        &format!("console:{}", record.name),
        "console.sign_in",
        Some(&record.id),
        &serde_json::json!({ "role": record.role }),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(Ok(session_cookie(
        &id,
        ttl_ms / 1000,
        config.secure_cookies,
    )))
}

pub async fn logout(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    if let Some(id) = cookie(&headers, COOKIE) {
        let mut tx = state.ctx.db.begin().await?;
        sessions::delete(&mut tx, &hash_token(&id)).await?;
        audit::record(
            &mut tx,
            &user.caller.actor(),
            "console.sign_out",
            Some(&user.caller.token_id),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", 0, state.ctx.config.console.secure_cookies),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/queue?platform=shop")),
            "/queue?platform=shop"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn no_control_character_or_space_survives_in_the_next_path() {
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{0b}/evil.example",
            "/\u{7f}",
            "/\u{2028}/evil.example",
            "/\u{a0}/evil.example",
            "/\n",
            "",
        ] {
            assert_eq!(safe_next(Some(next)), "/", "{next:?}");
        }
        assert_eq!(safe_next(Some("/leads?q=caf%C3%A9")), "/leads?q=caf%C3%A9");
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(!is_cross_site(&headers(&[("host", "127.0.0.1:8080")]), &[]));
        assert!(!is_cross_site(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080")
            ]),
            &[]
        ));
        assert!(is_cross_site(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example")
            ]),
            &[]
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &[]
        ));
    }

    #[test]
    fn behind_a_proxy_the_public_url_is_our_origin() {
        let proxied = |origin: &'static str| {
            let mut h = HeaderMap::new();
            // nginx's `proxy_pass http://127.0.0.1:8080` sends the upstream as Host.
            h.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
            h.insert("origin", HeaderValue::from_static(origin));
            h
        };
        let public = ["https://replyd.example.com/".to_owned()];
        assert!(is_cross_site(&proxied("https://replyd.example.com"), &[]));
        assert!(!is_cross_site(
            &proxied("https://replyd.example.com"),
            &public
        ));
        assert!(!is_cross_site(
            &proxied("https://REPLYD.example.com"),
            &public
        ));
        for other in [
            "http://replyd.example.com",
            "https://replyd.example.com.evil.example",
            "https://evil.example",
        ] {
            assert!(is_cross_site(&proxied(other), &public), "{other}");
        }
    }

    #[test]
    fn only_failed_sign_ins_count_and_idle_attempters_are_forgotten() {
        let failures = SignInFailures::default();
        let start = Instant::now();
        let address = |i: usize| IpAddr::from(std::net::Ipv6Addr::from(i as u128));
        let token = |i: usize| format!("rpd_{i:08x}ffff");
        for _ in 0..FAILED_SIGN_INS {
            assert!(!failures.blocked_at(address(0), &token(0), start));
            failures.record_failure_at(address(0), &token(0), start);
        }
        assert!(
            failures.blocked_at(address(0), &token(1), start),
            "the address"
        );
        assert!(
            failures.blocked_at(address(1), &token(0), start),
            "the prefix"
        );
        assert!(
            !failures.blocked_at(address(1), &token(1), start),
            "someone else"
        );
        let later = start + FAILURE_WINDOW;
        assert!(!failures.blocked_at(address(0), &token(0), later));
        for i in 1..PRUNE_AT {
            failures.record_failure_at(address(i), &token(0), start);
        }
        failures.record_failure_at(address(PRUNE_AT), &token(2), later);
        assert!(
            failures.len() <= 3,
            "attempters whose window passed are forgotten: {}",
            failures.len()
        );
    }

    #[test]
    fn the_session_cookie_is_http_only_and_strict() {
        let c = session_cookie("abc", 60, true);
        let c = c.to_str().unwrap();
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
            "Secure",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; replyd_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
