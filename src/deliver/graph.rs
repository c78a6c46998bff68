//! The Graph API connector: actions on Facebook pages and Instagram
//! accounts, through Meta's Graph API.
//!
//! One connector serves both platforms and every configured page; the page
//! is the message's `page_id` (the page or account the webhook was for).
//! Each action kind becomes the Graph call that fits the message:
//!
//! | action | on a comment | on a DM |
//! | --- | --- | --- |
//! | `acknowledge`, `reply` | public reply (`/{comment}/comments`, Instagram `/{comment}/replies`) | DM reply |
//! | `private_reply`, `dm_reply`, `prequalify` | private reply (`/{page}/messages`, `recipient.comment_id`) | DM reply |
//! | `hide` | `is_hidden` (Instagram `hide`) | refused |
//! | `unhide` (a person's) | `is_hidden=false` (Instagram `hide=false`) | refused |
//! | `delete` | `DELETE /{comment}` | refused |
//! | `block` | `POST /{page}/blocked` (Facebook only) | same |
//! | `unblock` (a person's) | `DELETE /{page}/blocked` (Facebook only) | same |
//!
//! Meta's rules are checked before anything is sent, and a refused action
//! ends `skipped` with the rule as its reason. The access token travels in
//! the `Authorization` header only, never in a URL that could be logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::ratelimit::{parse_usage, PageLimits};
use super::{Connector, DeliveryError, Outbound, Sent};
use crate::classify::BoxFuture;
use crate::config::{MetaConfig, MetaPlatform, Secret};
use crate::domain::{ActionKind, Kind};
use crate::store::messages::StoredMessage;
use crate::store::{self, Db, StoreError};

/// A private reply must go out within this long of the comment.
const PRIVATE_REPLY_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Automated DM replies only within this long of the user's last message.
const STANDARD_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// A person may answer (tagged `HUMAN_AGENT`) within this long.
const HUMAN_AGENT_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// How far replyd's clock and Meta's may disagree when telling this
/// action's send from an earlier one with the same words.
const CLOCK_SKEW_MS: i64 = 60_000;

/// A Graph timestamp (`2026-11-27T17:02:03+0000`) in Unix milliseconds.
fn graph_time_ms(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Graph error codes that mean "slow down": application (4), user (17),
/// page (32) and API-specific (613) rate limits, and the business use case
/// limits that calls with page tokens fall under: Pages (80001), Instagram
/// (80002) and Messenger (80006).
const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613, 80001, 80002, 80006];

struct Page {
    id: String,
    platform: MetaPlatform,
    token: Secret,
}

pub struct GraphConnector {
    client: reqwest::Client,
    graph_url: String,
    pages: HashMap<String, Page>,
    db: Db,
    limits: PageLimits,
}

/// The Graph operation an action becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    PublicReply,
    PrivateReply,
    DmReply,
    Hide,
    Unhide,
    Like,
    Delete,
    Block,
    Unblock,
}

/// How a DM reply is sent, by the messaging window it falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DmWindow {
    Standard,
    HumanAgent,
}

/// A failed Graph call, before it is judged for delivery.
#[derive(Debug, thiserror::Error)]
enum GraphError {
    #[error("Graph API request failed: {0}")]
    Transport(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    #[error("Graph API answered {status} (code {code:?}): {message}")]
    Api {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<GraphError> for DeliveryError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Transport(_) | GraphError::Store(_) => DeliveryError::Retryable {
                message: e.to_string(),
                retry_after: None,
            },
            GraphError::RateLimited {
                message,
                retry_after,
            } => DeliveryError::RateLimited {
                message,
                retry_after,
            },
            GraphError::Api { status, code, .. } => {
                let message = match code {
                    Some(190) => format!("access token invalid or expired: {e}"),
                    Some(10) | Some(200..=299) => format!("permission missing: {e}"),
                    _ => e.to_string(),
                };
                // 1 and 2 are Meta's "unknown" and "temporarily unavailable".
                if status >= 500 || matches!(code, Some(1) | Some(2)) {
                    DeliveryError::Retryable {
                        message,
                        retry_after: None,
                    }
                } else {
                    DeliveryError::Permanent { message }
                }
            }
        }
    }
}

fn store_error(e: StoreError) -> DeliveryError {
    DeliveryError::Retryable {
        message: e.to_string(),
        retry_after: None,
    }
}

fn refused(reason: impl Into<String>) -> DeliveryError {
    DeliveryError::Refused {
        reason: reason.into(),
    }
}

/// Ids from webhooks go into URL paths: only the characters Meta's ids use.
/// The comment a public reply goes under. Instagram takes replies to
/// top-level comments only and files a reply to a reply under its parent,
/// so replyd posts there itself: that is also where it reads the reply back.
fn reply_thread<'a>(message: &'a StoredMessage, instagram: bool) -> Result<&'a str, DeliveryError> {
    let id = match &message.parent_id {
        Some(parent) if instagram => parent,
        _ => &message.external_id,
    };
    path_id("comment id", id)
}

fn path_id<'a>(what: &str, id: &'a str) -> Result<&'a str, DeliveryError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(id)
    } else {
        Err(DeliveryError::Permanent {
            message: format!("{what} `{id}` is not a Meta id"),
        })
    }
}

impl GraphConnector {
    /// `lease` is the delivery job's: a call waits for its page's budget a
    /// quarter of it at most, and is deferred beyond that.
    pub fn new(meta: &MetaConfig, db: Db, timeout: Duration, lease: Duration) -> Arc<Self> {
        Arc::new(GraphConnector {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("TLS backend available"),
            graph_url: meta.graph_url.trim_end_matches('/').to_owned(),
            pages: meta
                .pages
                .iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        Page {
                            id: p.id.clone(),
                            platform: p.platform,
                            token: p.access_token.clone(),
                        },
                    )
                })
                .collect(),
            limits: PageLimits::new(db.clone(), meta, lease / 4),
            db,
        })
    }

    /// The page an action is sent as: the one whose signed webhook brought
    /// the message in. A Facebook or Instagram message posted to the generic
    /// API names no page and gets no action on Meta: its ids come from
    /// whoever holds an ingest token, and acting on them would let that
    /// token delete, hide or block anything the page token may touch.
    fn page(&self, out: &Outbound<'_>) -> Result<&Page, DeliveryError> {
        self.page_for(out.message)
    }

    fn page_for(&self, message: &StoredMessage) -> Result<&Page, DeliveryError> {
        let platform = message.platform.as_str();
        let Some(id) = &message.page_id else {
            return Err(refused(format!(
                "this {platform} message came through the generic API, not Meta's signed webhook; replyd acts on Meta only for messages Meta delivered"
            )));
        };
        let page = self.pages.get(id).ok_or_else(|| DeliveryError::Permanent {
            message: format!("no [[meta.pages]] entry for page {id}"),
        })?;
        if page.platform.as_str() != platform {
            return Err(DeliveryError::Permanent {
                message: format!(
                    "page {} is configured for {}, the message is from {platform}",
                    page.id, page.platform
                ),
            });
        }
        Ok(page)
    }

    fn op(out: &Outbound<'_>, page: &Page) -> Result<Op, DeliveryError> {
        Self::op_for(out.action.kind, out.message.kind, page)
    }

    fn op_for(action: ActionKind, kind: Kind, page: &Page) -> Result<Op, DeliveryError> {
        use ActionKind as A;
        let facebook = page.platform == MetaPlatform::Facebook;
        Ok(match (action, kind) {
            (A::Acknowledge | A::Reply, Kind::Comment) => Op::PublicReply,
            (A::PrivateReply | A::DmReply | A::Prequalify, Kind::Comment) => Op::PrivateReply,
            (
                A::Acknowledge | A::Reply | A::PrivateReply | A::DmReply | A::Prequalify,
                Kind::Dm,
            ) => Op::DmReply,
            (A::Hide, Kind::Comment) => Op::Hide,
            (A::Unhide, Kind::Comment) => Op::Unhide,
            (A::Like, Kind::Comment) if facebook => Op::Like,
            (A::Like, _) if !facebook => {
                return Err(refused("Instagram has no API to like a comment"))
            }
            (A::Delete, Kind::Comment) => Op::Delete,
            (A::Block, Kind::Comment | Kind::Dm) if facebook => Op::Block,
            (A::Unblock, Kind::Comment | Kind::Dm) if facebook => Op::Unblock,
            (A::Block, _) if !facebook => {
                return Err(refused("Instagram has no API to block a user"))
            }
            (A::Unblock, _) if !facebook => {
                return Err(refused("Instagram has no API to unblock a user"))
            }
            (A::LeadHandoff, _) => {
                return Err(refused("a lead hand-off is not an action on the platform"))
            }
            (A::Hide | A::Unhide | A::Delete, Kind::Dm) => {
                return Err(refused(
                    "a DM cannot be hidden, unhidden or deleted through the Graph API",
                ))
            }
            (action, kind) => {
                return Err(refused(format!(
                    "Meta has no {action} for a {kind} through the Graph API"
                )))
            }
        })
    }

    /// Meta's rules for the operation; for a DM, also which window it is in.
    async fn check_rules(
        &self,
        out: &Outbound<'_>,
        page: &Page,
        op: Op,
    ) -> Result<Option<DmWindow>, DeliveryError> {
        let (action, message) = (out.action, out.message);
        let now = store::now_ms();
        let written_at = message.created_at.unwrap_or(message.received_at);
        let mut conn = self.db.conn().await.map_err(store_error)?;
        match op {
            Op::PrivateReply => {
                if now - written_at > PRIVATE_REPLY_WINDOW_MS {
                    return Err(refused(
                        "Meta allows a private reply only within 7 days of the comment",
                    ));
                }
                let earlier = store::meta::other_private_reply(
                    &mut conn,
                    &message.platform,
                    &message.external_id,
                    &action.id,
                )
                .await
                .map_err(store_error)?;
                if earlier {
                    return Err(refused(
                        "this comment already had its private reply; Meta allows one per comment",
                    ));
                }
            }
            Op::DmReply => {
                let thread = message.thread_id.as_deref().unwrap_or(&message.author.id);
                let last = store::meta::last_dm_from(
                    &mut conn,
                    &message.platform,
                    thread,
                    &message.author.id,
                )
                .await
                .map_err(store_error)?
                .unwrap_or(written_at);
                let age = now - last;
                if age <= STANDARD_WINDOW_MS {
                    return Ok(Some(DmWindow::Standard));
                }
                if age > HUMAN_AGENT_WINDOW_MS {
                    return Err(refused(
                        "the user last wrote more than 7 days ago: Meta allows no reply",
                    ));
                }
                if action.decided_by.is_none() {
                    return Err(refused(
                        "outside the 24-hour window since the user's last message: \
                         only a reply approved by a person may be sent (HUMAN_AGENT, within 7 days)",
                    ));
                }
                return Ok(Some(DmWindow::HumanAgent));
            }
            _ => {}
        }
        if page.platform == MetaPlatform::Instagram
            && matches!(op, Op::PublicReply | Op::PrivateReply)
        {
            let hidden_by_us =
                store::meta::hidden_by_us(&mut conn, &message.platform, &message.external_id)
                    .await
                    .map_err(store_error)?;
            drop(conn);
            let hidden = hidden_by_us || {
                let comment = path_id("comment id", &message.external_id)?;
                let found = self
                    .call(page, Method::GET, comment, &[("fields", "hidden")], None)
                    .await?;
                found["hidden"].as_bool() == Some(true)
            };
            if hidden {
                return Err(refused(
                    "Meta allows no reply to a hidden Instagram comment",
                ));
            }
        }
        Ok(None)
    }

    /// One Graph call as the page, within its limits.
    async fn call(
        &self,
        page: &Page,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value, GraphError> {
        if let Some(later) = self.limits.acquire(&page.id).await? {
            return Err(GraphError::RateLimited {
                message: format!("page {}'s call budget is booked ahead", page.id),
                retry_after: later,
            });
        }
        // Checked on every call, not only when a job starts, and after the
        // wait for the budget: a pause another worker or replica set
        // meanwhile holds here too.
        if let Some(wait) = self.limits.paused_for(&page.id).await? {
            return Err(GraphError::RateLimited {
                message: format!("page {} is paused for Meta's rate limit", page.id),
                retry_after: wait,
            });
        }
        let mut request = self
            .client
            .request(method, format!("{}/{path}", self.graph_url))
            .bearer_auth(page.token.expose())
            .query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            // The URL holds no token, but keep errors free of URLs anyway.
            .map_err(|e| GraphError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let usage = parse_usage(response.headers());
        let retry_after = crate::deliver::retry_after(response.headers());
        let body: Value = response
            .json()
            .await
            .map_err(|e| GraphError::Transport(e.without_url().to_string()))
            .unwrap_or(Value::Null);
        if status.is_success() {
            self.limits.observe(&page.id, usage).await?;
            return Ok(body);
        }
        let error = &body["error"];
        let code = error["code"].as_i64();
        let message = error["message"]
            .as_str()
            .unwrap_or("no error message")
            .chars()
            .take(500)
            .collect::<String>();
        metrics::counter!(
            "replyd_meta_api_errors_total",
            "code" => code.map_or_else(|| format!("http_{}", status.as_u16()), |c| c.to_string())
        )
        .increment(1);
        if status.as_u16() == 429 || code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c)) {
            let reason = format!(
                "rate limited (HTTP {}, code {code:?}): {message}",
                status.as_u16()
            );
            let pause = self
                .limits
                .throttled(&page.id, usage, retry_after, &reason)
                .await?;
            return Err(GraphError::RateLimited {
                message: reason,
                retry_after: pause,
            });
        }
        self.limits.observe(&page.id, usage).await?;
        Err(GraphError::Api {
            status: status.as_u16(),
            code,
            message,
        })
    }

    async fn send_op(&self, out: &Outbound<'_>) -> Result<Sent, DeliveryError> {
        let (action, message) = (out.action, out.message);
        let page = self.page(out)?;
        let op = Self::op(out, page)?;
        let window = self.check_rules(out, page, op).await?;
        let text = || {
            action
                .text
                .as_deref()
                .ok_or_else(|| DeliveryError::Permanent {
                    message: format!("a {} needs text and this one has none", action.kind),
                })
        };
        let comment = || path_id("comment id", &message.external_id);
        let page_id = path_id("page id", &page.id)?;
        let instagram = page.platform == MetaPlatform::Instagram;
        let answer = match op {
            Op::PublicReply => {
                let edge = if instagram { "replies" } else { "comments" };
                let path = format!("{}/{edge}", reply_thread(message, instagram)?);
                self.call(
                    page,
                    Method::POST,
                    &path,
                    &[],
                    Some(json!({"message": text()?})),
                )
                .await?
            }
            Op::PrivateReply => {
                let body = json!({
                    "recipient": {"comment_id": message.external_id},
                    "message": {"text": text()?},
                });
                let path = format!("{page_id}/messages");
                self.call(page, Method::POST, &path, &[], Some(body))
                    .await?
            }
            Op::DmReply => {
                let mut body = json!({
                    "recipient": {"id": message.author.id},
                    "message": {"text": text()?},
                    "messaging_type": "RESPONSE",
                });
                if window == Some(DmWindow::HumanAgent) {
                    body["messaging_type"] = json!("MESSAGE_TAG");
                    body["tag"] = json!("HUMAN_AGENT");
                }
                let path = format!("{page_id}/messages");
                self.call(page, Method::POST, &path, &[], Some(body))
                    .await?
            }
            Op::Hide => {
                let body = if instagram {
                    json!({"hide": true})
                } else {
                    json!({"is_hidden": true})
                };
                self.call(page, Method::POST, comment()?, &[], Some(body))
                    .await?
            }
            Op::Unhide => {
                let body = if instagram {
                    json!({"hide": false})
                } else {
                    json!({"is_hidden": false})
                };
                self.call(page, Method::POST, comment()?, &[], Some(body))
                    .await?
            }
            Op::Like => {
                let path = format!("{}/likes", comment()?);
                self.call(page, Method::POST, &path, &[], None).await?
            }
            Op::Delete => {
                self.call(page, Method::DELETE, comment()?, &[], None)
                    .await?
            }
            Op::Block => {
                let field = if message.kind == Kind::Dm {
                    "psid"
                } else {
                    "user"
                };
                let body = json!({ field: [message.author.id] });
                let path = format!("{page_id}/blocked");
                self.call(page, Method::POST, &path, &[], Some(body))
                    .await?
            }
            Op::Unblock => {
                let field = if message.kind == Kind::Dm {
                    "psid"
                } else {
                    "user"
                };
                let user = path_id("user id", &message.author.id)?;
                let path = format!("{page_id}/blocked");
                self.call(page, Method::DELETE, &path, &[(field, user)], None)
                    .await?
            }
        };
        let external_ref = answer["id"]
            .as_str()
            .or_else(|| answer["message_id"].as_str())
            .map(str::to_owned);
        Ok(Sent::Delivered {
            external_ref,
            recipient: answer["recipient_id"].as_str().map(str::to_owned),
        })
    }

    /// Whether the comment's boolean `field` is `wanted`: an interrupted
    /// hide, unhide or like landed.
    async fn comment_says(
        &self,
        page: &Page,
        message: &StoredMessage,
        field: &str,
        wanted: bool,
    ) -> Result<Option<Sent>, DeliveryError> {
        let comment = path_id("comment id", &message.external_id)?;
        let state = self
            .call(page, Method::GET, comment, &[("fields", field)], None)
            .await?;
        Ok(
            (state[field].as_bool() == Some(wanted)).then_some(Sent::Delivered {
                external_ref: None,
                recipient: None,
            }),
        )
    }

    /// Reads the platform back to learn whether an interrupted attempt
    /// landed: the page's reply among the comment's replies, its message in
    /// the conversation, the comment hidden (or shown again), liked or gone.
    /// A block or unblock is not read back: doing it twice changes nothing.
    async fn reconcile_op(&self, out: &Outbound<'_>) -> Result<Option<Sent>, DeliveryError> {
        let (action, message) = (out.action, out.message);
        let page = self.page(out)?;
        let op = match Self::op(out, page) {
            Ok(op) => op,
            // Refused now, so nothing was sent before either.
            Err(_) => return Ok(None),
        };
        let instagram = page.platform == MetaPlatform::Instagram;
        let ours = |item: &Value, text_field: &str| {
            item["from"]["id"].as_str() == Some(page.id.as_str())
                && item[text_field].as_str().map(str::trim) == action.text.as_deref().map(str::trim)
        };
        let found = |item: &Value, recipient: Option<&str>| {
            Some(Sent::Delivered {
                external_ref: item["id"].as_str().map(str::to_owned),
                recipient: recipient.map(str::to_owned),
            })
        };
        match op {
            Op::PublicReply => {
                let (edge, text_field) = if instagram {
                    ("replies", "text")
                } else {
                    ("comments", "message")
                };
                let path = format!("{}/{edge}", reply_thread(message, instagram)?);
                let fields = format!("id,{text_field},from");
                let replies = self
                    .call(
                        page,
                        Method::GET,
                        &path,
                        &[("fields", &fields), ("limit", "100")],
                        None,
                    )
                    .await?;
                let data = replies["data"].as_array().into_iter().flatten();
                Ok(data
                    .into_iter()
                    .find(|r| ours(r, text_field))
                    .and_then(|r| found(r, None)))
            }
            // On Facebook the commenter's Messenger id is not their comment
            // id, so the conversation is found through the comment itself.
            Op::PrivateReply if !instagram => {
                let comment = path_id("comment id", &message.external_id)?;
                let state = self
                    .call(
                        page,
                        Method::GET,
                        comment,
                        &[(
                            "fields",
                            "private_reply_conversation{participants,messages.limit(25){id,message,from,created_time}}",
                        )],
                        None,
                    )
                    .await?;
                let conversation = &state["private_reply_conversation"];
                let recipient = conversation["participants"]["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["id"].as_str())
                    .find(|id| *id != page.id);
                // One private reply per comment: whatever the page said in
                // the conversation it opened came from this action.
                let sent = conversation["messages"]["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| ours(m, "message"));
                Ok(sent.and_then(|m| found(m, recipient)))
            }
            Op::PrivateReply | Op::DmReply => {
                let path = format!("{}/conversations", path_id("page id", &page.id)?);
                let user = path_id("user id", &message.author.id)?;
                let mut query = vec![
                    ("user_id", user),
                    ("fields", "messages.limit(25){id,message,from,created_time}"),
                ];
                if instagram {
                    query.push(("platform", "instagram"));
                }
                let conversations = self.call(page, Method::GET, &path, &query, None).await?;
                // The same words may have gone to this user before, for an
                // earlier message (acknowledgements repeat): only a message
                // from after this action was planned can be its send. The
                // margin absorbs clock skew between replyd and Meta.
                let planned_at = action.created_at - CLOCK_SKEW_MS;
                let sent = conversations["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["messages"]["data"].as_array().into_iter().flatten())
                    .filter(|m| graph_time_ms(&m["created_time"]).is_none_or(|at| at >= planned_at))
                    .find(|m| ours(m, "message"));
                // Found in the conversation with the author, so it reached them.
                Ok(sent.and_then(|m| found(m, Some(user))))
            }
            Op::Hide => {
                let field = if instagram { "hidden" } else { "is_hidden" };
                self.comment_says(page, message, field, true).await
            }
            Op::Unhide => {
                let field = if instagram { "hidden" } else { "is_hidden" };
                self.comment_says(page, message, field, false).await
            }
            // `user_likes`: whether the page (the caller) likes the comment.
            Op::Like => self.comment_says(page, message, "user_likes", true).await,
            Op::Delete => {
                let comment = path_id("comment id", &message.external_id)?;
                match self
                    .call(page, Method::GET, comment, &[("fields", "id")], None)
                    .await
                {
                    Ok(_) => Ok(None),
                    // 100: the object does not exist (any more).
                    Err(GraphError::Api {
                        code: Some(100), ..
                    }) => Ok(Some(Sent::Delivered {
                        external_ref: None,
                        recipient: None,
                    })),
                    Err(e) => Err(e.into()),
                }
            }
            Op::Block | Op::Unblock => Ok(None),
        }
    }
}

impl Connector for GraphConnector {
    fn name(&self) -> &str {
        "meta"
    }

    fn hold_off<'a>(
        &'a self,
        out: &'a Outbound<'a>,
    ) -> BoxFuture<'a, Result<Option<Duration>, DeliveryError>> {
        Box::pin(async move {
            let Ok(page) = self.page(out) else {
                // Let send report it.
                return Ok(None);
            };
            self.limits.paused_for(&page.id).await.map_err(store_error)
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound<'a>) -> BoxFuture<'a, Result<Sent, DeliveryError>> {
        Box::pin(self.send_op(out))
    }

    fn refusal(&self, kind: ActionKind, message: &StoredMessage) -> Option<String> {
        let page = match self.page_for(message) {
            Ok(page) => page,
            Err(e) => return Some(e.to_string()),
        };
        Self::op_for(kind, message.kind, page)
            .err()
            .map(|e| e.to_string())
    }

    fn reconcile<'a>(
        &'a self,
        out: &'a Outbound<'a>,
    ) -> BoxFuture<'a, Result<Option<Sent>, DeliveryError>> {
        Box::pin(self.reconcile_op(out))
    }
}
