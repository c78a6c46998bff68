//! The web console: server-rendered pages for reviewers, sales and admins,
//! served by the daemon itself with everything bundled into the binary.
//!
//! Pages are plain HTML forms, so every action works without JavaScript; a
//! small script adds keyboard shortcuts and bulk selection. Access follows
//! the same [`Permission`] matrix as the API, checked on the server for
//! every page and every form. Sign-in exchanges an API token for a session
//! cookie (see [`session`]), whose state-changing requests must carry the
//! session's CSRF token.

mod audit_log;
mod leads;
mod pages;
mod queue;
pub mod session;
mod views;
mod workbench;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use crate::auth::{Caller, Permission, Via};
use crate::domain::Role;
use crate::web::{nul_field, nul_refused, ApiBytes, ApiError, AppState};

pub use views::render;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/queue", get(queue::page))
        .route("/queue/bulk", post(queue::bulk))
        .route("/queue/{id}", post(queue::decide_one))
        .route("/inbox", get(pages::inbox))
        .route("/messages/{id}", get(pages::message))
        .route("/messages/{id}/actions", post(workbench::act))
        .route("/messages/{id}/classification", post(workbench::correct))
        .route("/messages/{id}/context", post(workbench::set_context))
        .route("/messages/{id}/notes", post(workbench::add_note))
        .route("/dashboard", get(pages::dashboard))
        .route("/leads", get(leads::board))
        .route("/leads/{id}", get(leads::detail).post(leads::update))
        .route("/audit", get(pages::audit))
        .route("/tokens", get(pages::tokens).post(pages::create_token))
        .route("/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/assets/console.css", get(views::stylesheet))
        .route("/assets/console.js", get(views::script))
}

/// A signed-in console user. Pages take this instead of [`Caller`]: without
/// a live session the browser is sent to the sign-in page, and API tokens do
/// not open pages (a page's forms need the session's CSRF token).
#[derive(Debug, Clone)]
pub struct User {
    pub caller: Caller,
    pub csrf: String,
}

impl User {
    pub fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        if self.caller.may(permission) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(self.caller.role))
        }
    }

    /// What every page's layout needs: who is signed in, the CSRF token for
    /// its forms, and which sections the navigation offers.
    pub fn layout(&self, active: &'static str) -> Layout {
        let may = |p| self.caller.may(p);
        Layout {
            name: self.caller.name.clone(),
            role: self.caller.role,
            csrf: self.csrf.clone(),
            active,
            nav: Nav {
                queue: may(Permission::ReadReviews),
                inbox: may(Permission::ReadMessages),
                dashboard: may(Permission::ReadMessages),
                leads: may(Permission::ReadLeads),
                audit: may(Permission::ReadAudit),
                tokens: may(Permission::ManageTokens),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Layout {
    name: String,
    role: Role,
    csrf: String,
    active: &'static str,
    nav: Nav,
}

#[derive(Debug, Serialize)]
struct Nav {
    queue: bool,
    inbox: bool,
    dashboard: bool,
    leads: bool,
    audit: bool,
    tokens: bool,
}

impl FromRequestParts<AppState> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => match &caller.via {
                Via::Session { csrf } => Ok(User {
                    caller: caller.clone(),
                    csrf: csrf.clone(),
                }),
                Via::Token => Err(sign_in_redirect(parts)),
            },
            None => Err(sign_in_redirect(parts)),
        }
    }
}

fn sign_in_redirect(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Sends each role to the first page it may use.
async fn home(user: User) -> Result<Redirect, ConsoleError> {
    let may = |p| user.caller.may(p);
    if may(Permission::ReadReviews) {
        Ok(Redirect::to("/queue"))
    } else if may(Permission::ReadLeads) {
        Ok(Redirect::to("/leads"))
    } else {
        Err(ConsoleError::Forbidden(user.caller.role))
    }
}

/// A page that cannot be shown, rendered as HTML with the right status.
#[derive(Debug)]
pub enum ConsoleError {
    Forbidden(Role),
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Api(e)
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Api(e.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            ConsoleError::Forbidden(role) => (
                StatusCode::FORBIDDEN,
                "Not for your role",
                format!("The {role} role may not open this page or do this."),
            ),
            ConsoleError::Api(e) => (
                e.status,
                if e.status == StatusCode::NOT_FOUND {
                    "Not found"
                } else {
                    "That did not work"
                },
                match &e.body.field {
                    Some(field) => format!("{} ({field})", e.body.message),
                    None => e.body.message.clone(),
                },
            ),
        };
        match views::render(
            "error.html",
            minijinja::context! { title, message, status => status.as_u16() },
        ) {
            Ok(page) => (status, page).into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// The fields of a submitted form, in order; a name may repeat (the ids of
/// a bulk selection).
#[derive(Debug, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        FormFields(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// [`FormFields::get`], owned.
    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ConsoleError> {
        if !is_form(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_body",
                "expected a form (application/x-www-form-urlencoded)",
            )
            .into());
        }
        let ApiBytes(body) = ApiBytes::from_request(req, state).await?;
        if let Some(field) = nul_field(&body) {
            return Err(nul_refused(field, "form").into());
        }
        Ok(FormFields::parse(&body))
    }
}

/// A page's query string, read like a form (filters are GET forms).
pub struct QueryFields(pub FormFields);

impl<S: Send + Sync> FromRequestParts<S> for QueryFields {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some(field) = nul_field(query.as_bytes()) {
            return Err(nul_refused(field, "query").into());
        }
        Ok(QueryFields(FormFields::parse(query.as_bytes())))
    }
}

/// Whether a request's body is an HTML form submission.
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// An HTML page, or the error page.
pub type PageResult = Result<Html<String>, ConsoleError>;
