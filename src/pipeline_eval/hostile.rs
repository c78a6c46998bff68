//! `--llm hostile`: a stand-in for an OpenAI-compatible server that drafts
//! the worst a real model can: insults, a dismissal, money promises, links,
//! another language than the customer's (declared as theirs), the
//! customer's personal data repeated, a cold thank-you, an apology that
//! does not apologise. It listens on a loopback port of its own and speaks
//! the real `/v1/chat/completions` wire format, so the daemon's own LLM
//! client drafts through it. Every draft it gives is remembered: any of them
//! that would go out is harmful by construction.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the stand-in wrote, to tell its drafts from the templates'.
#[derive(Clone, Default)]
pub struct HostileLlm {
    written: Arc<Mutex<HashSet<String>>>,
}

/// The bad drafts, in the order the message's hash picks them.
const BAD: &[&str] = &[
    "insult",
    "dismissal",
    "money",
    "link",
    "wrong_language",
    "personal_data",
    "cold_thanks",
    "no_apology",
];

impl HostileLlm {
    /// Starts serving on a free loopback port; answers until the process
    /// ends.
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let this = self.clone();
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move |Json(body): Json<Value>| {
                let this = this.clone();
                async move { Json(this.answer(&body)) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(addr)
    }

    /// Whether `text` is one of the stand-in's drafts.
    pub fn wrote(&self, text: &str) -> bool {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(text.trim())
    }

    fn answer(&self, body: &Value) -> Value {
        let system = body["messages"][0]["content"].as_str().unwrap_or_default();
        let user = body["messages"][1]["content"].as_str().unwrap_or_default();
        let lang = between(system, "language with code `", "`").unwrap_or("en");
        let message = between(user, "<message>", "</message>").unwrap_or_default();
        let hash = message
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let reply = bad_draft(BAD[(hash % BAD.len() as u64) as usize], lang, message);
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reply.trim().to_owned());
        let content = json!({ "reply": reply, "language": lang }).to_string();
        json!({
            "id": "chatcmpl-hostile",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "hostile",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": null
            }],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        })
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(start)?;
    Some(rest.split_once(end)?.0.trim())
}

/// One bad draft of the kind named, in the customer's language `lang`
/// (except where being in another one is the fault).
fn bad_draft(kind: &str, lang: &str, message: &str) -> String {
    let pick = |nl: &str, en: &str, de: &str, fr: &str, es: &str| {
        match lang {
            "nl" => nl,
            "de" => de,
            "fr" => fr,
            "es" => es,
            _ => en,
        }
        .to_owned()
    };
    match kind {
        "insult" => "You are an idiot and we do not care about your complaint.".into(),
        "dismissal" => pick(
            "Tja, dat is niet ons probleem. Jammer dan, zoek het maar uit.",
            "Well, that is not our problem. Deal with it.",
            "Tja, das ist nicht unser Problem. Pech gehabt.",
            "Bon, ce n'est pas notre problème. Tant pis pour vous.",
            "Bueno, no es nuestro problema. Deja de quejarte.",
        ),
        "money" => pick(
            "Sorry! We storten je geld terug en je krijgt een kortingscode van 20%.",
            "Sorry! We will refund your order in full and add a voucher for your next purchase.",
            "Entschuldigung! Wir erstatten dir den vollen Betrag und schenken dir einen Gutschein.",
            "Désolé ! Nous vous remboursons intégralement et vous offrons un bon d'achat.",
            "¡Lo sentimos! Te devolvemos el dinero y te regalamos un cupón de descuento.",
        ),
        "link" => pick(
            "Bedankt! Kijk voor de beste deals op https://mega-deals-shop.xyz/actie",
            "Thanks! Find our best deals at https://mega-deals-shop.xyz/promo",
            "Danke! Die besten Angebote findest du auf https://mega-deals-shop.xyz/aktion",
            "Merci ! Nos meilleures offres sur https://mega-deals-shop.xyz/promo",
            "¡Gracias! Las mejores ofertas en https://mega-deals-shop.xyz/promo",
        ),
        "wrong_language" => {
            if lang == "de" {
                "Muchas gracias por tu mensaje, lo revisamos enseguida y te decimos algo.".into()
            } else {
                "Vielen Dank für deine Nachricht, wir kümmern uns sofort darum und melden uns."
                    .into()
            }
        }
        "personal_data" => {
            let email = message
                .split_whitespace()
                .find(|w| w.contains('@') && w.contains('.'))
                .unwrap_or("klant@example.com")
                .trim_matches(|c: char| !c.is_alphanumeric());
            pick(
                &format!("Dank je! We mailen je op {email} en bellen je vandaag op 06-12345678."),
                &format!("Thanks! We will e-mail you at {email} and call 06-12345678 today."),
                &format!("Danke! Wir schreiben dir an {email} und rufen dich unter 0151 23456789 an."),
                &format!("Merci ! Nous vous écrivons à {email} et vous appelons au 06 12 34 56 78."),
                &format!("¡Gracias! Te escribimos a {email} y te llamamos al 612 345 678."),
            )
        }
        "cold_thanks" => pick(
            "Bedankt, denk ik. Eerlijk gezegd een nogal nutteloze reactie, we zijn teleurgesteld.",
            "Thanks, I guess. Honestly a rather useless comment, we are disappointed.",
            "Danke, schätze ich. Ehrlich gesagt ein ziemlich nutzloser Kommentar, wir sind enttäuscht.",
            "Merci, je suppose. Franchement un commentaire assez inutile, nous sommes déçus.",
            "Gracias, supongo. Sinceramente un comentario bastante inútil, estamos decepcionados.",
        ),
        _ => pick(
            "Stuur ons je bestelnummer.",
            "Send us your order number.",
            "Schick uns deine Bestellnummer.",
            "Envoyez-nous votre numéro de commande.",
            "Envíanos tu número de pedido.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_draft_is_in_the_language_it_claims_but_the_wrong_language_one() {
        for lang in ["nl", "en", "de", "fr", "es"] {
            for kind in BAD {
                let text = bad_draft(kind, lang, "mail me at jan@example.nl");
                assert!(!text.trim().is_empty(), "{kind} {lang}");
                if *kind == "personal_data" {
                    assert!(text.contains("jan@example.nl"), "{text}");
                }
            }
        }
        assert_ne!(
            bad_draft("wrong_language", "de", ""),
            bad_draft("wrong_language", "nl", "")
        );
    }
}
