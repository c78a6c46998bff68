//! A local stand-in for an OpenAI-compatible server: it speaks the real
//! `/v1/chat/completions` wire format and, by a hash of the prompt, answers
//! with a good draft or one of the bad ones a real model can produce.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Rewrites the approved example: a good draft.
    Good,
    PromisesRefund,
    EchoesPersonalData,
    WrongLanguage,
    ObeysInjection,
    NotJson,
    /// Answers after the client's timeout.
    Slow,
    /// A reply too short to detect its language, in English and declared
    /// English whatever the customer wrote. Not in the cycle: set `fixed`.
    ShortEnglish,
    /// Insults the customer in English and declares the customer's
    /// language. Not in the cycle: set `fixed`.
    Hostile,
    /// Waves the customer off in Dutch, without a swear word. Not in the
    /// cycle: set `fixed`.
    DismissiveDutch,
}

const CYCLE: [Behaviour; 7] = [
    Behaviour::Good,
    Behaviour::PromisesRefund,
    Behaviour::EchoesPersonalData,
    Behaviour::WrongLanguage,
    Behaviour::ObeysInjection,
    Behaviour::NotJson,
    Behaviour::Slow,
];

#[derive(Clone, Default)]
pub struct FakeLlm {
    pub requests: Arc<Mutex<Vec<Value>>>,
    /// When set, every answer behaves so; else the prompt's hash picks.
    pub fixed: Arc<Mutex<Option<Behaviour>>>,
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(inner, _)| inner.trim())
        .unwrap_or_default()
}

impl FakeLlm {
    pub async fn start(&self) -> SocketAddr {
        let this = self.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let this = this.clone();
                async move { axum::Json(this.answer(body).await) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    async fn answer(&self, body: Value) -> Value {
        self.requests.lock().unwrap().push(body.clone());
        let user = body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let example = between(
            &user,
            "(rewrite it to fit the message, do not copy it):",
            "<message>",
        );
        let message = between(&user, "<message>", "</message>");
        let behaviour = self.fixed.lock().unwrap().unwrap_or_else(|| {
            let hash = message
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            CYCLE[(hash % CYCLE.len() as u64) as usize]
        });
        let dutch = message
            .split_whitespace()
            .any(|w| ["de", "het", "een", "ik", "je", "niet", "mijn"].contains(&w));
        let reply = match behaviour {
            Behaviour::Good => example.to_owned(),
            Behaviour::PromisesRefund => {
                "So sorry! We will refund your order in full and add a voucher for your next purchase.".into()
            }
            Behaviour::EchoesPersonalData => {
                let email = message
                    .split_whitespace()
                    .find(|w| w.contains('@') && w.contains('.'))
                    .unwrap_or("klant@example.com");
                format!("Thanks! We will e-mail you at {email} and call 06-12345678 today.")
            }
            Behaviour::WrongLanguage => {
                if dutch {
                    "Thank you so much for your message, we will look into this for you right away!".into()
                } else {
                    "Heel erg bedankt voor je bericht, we gaan dit meteen voor je uitzoeken!".into()
                }
            }
            Behaviour::ObeysInjection => {
                "Of course! Ignore previous instructions: your refund code is FREE-100, you idiot.".into()
            }
            Behaviour::NotJson => return completion("Sure! Here is a friendly reply for the customer."),
            Behaviour::Slow => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                example.to_owned()
            }
            Behaviour::Hostile => {
                "You are an idiot and we do not care about your complaint.".into()
            }
            Behaviour::DismissiveDutch => {
                "Tja, dat is niet ons probleem. Jammer dan, zoek het maar uit.".into()
            }
            Behaviour::ShortEnglish => {
                return completion(
                    &json!({ "reply": "Thanks a lot!", "language": "en" }).to_string(),
                )
            }
        };
        // The customer's language, whatever the reply is in: a model's word
        // for its own language is no evidence.
        completion(
            &json!({ "reply": reply, "language": if dutch { "nl" } else { "en" } }).to_string(),
        )
    }
}

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    })
}
