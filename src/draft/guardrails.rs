//! Checks every draft, from a template or an LLM, before it may go out.
//! Each failure is named (`money_promise: refund`), stored with the action
//! and shown to the reviewer; a draft that fails is never sent alone.

use std::sync::Arc;

use regex::Regex;

use crate::classify::detect_lang_confidently;
use crate::classify::rules::{self, KeywordList, Rules, RulesError};
use crate::domain::{Flag, Kind, Lang, Platform};

/// Money, refunds, discounts, vouchers, compensation: in any language, a
/// draft that mentions them reads as a promise, so none may go out alone.
const MONEY: &[&str] = &[
    "refund*",
    "reimburs*",
    "money back",
    "discount*",
    "voucher*",
    "coupon*",
    "compensat*",
    "free of charge",
    "gift card*",
    "store credit",
    "credit note",
    "terugbetal*",
    "terug (te )?betalen",
    "geld terug",
    "terugstort*",
    "korting*",
    "tegoedbon*",
    "waardebon*",
    "cadeaubon*",
    "kortingscode*",
    "vergoed*",
    "schadevergoeding*",
    "compensatie*",
    "gratis",
    "ruckerstatt*",
    "erstatt*",
    "geld zuruck",
    "rabatt*",
    "gutschein*",
    "gutschrift*",
    "entschadig*",
    "kompensation*",
    "kostenlos*",
    "rembours*",
    "remise*",
    "reduction*",
    "bon d'achat",
    "avoir",
    "dedommag*",
    "indemni*",
    "geste commercial",
    "gratuit*",
    "reembols*",
    "devolucion* del dinero",
    "devolver (el|tu|su) dinero",
    "descuento*",
    "cupon*",
    "vale*",
    "compensacion*",
    "indemnizacion*",
    "re:[0-9]+ ?(?:eur|euro|euros|usd|dollar)",
];

/// Things a bot must not say about itself.
const AI_TALK: &[&str] = &[
    "as an ai",
    "ai model",
    "language model",
    "chatbot",
    "my instructions",
    "system prompt",
    "i am a bot",
    "i'm a bot",
    "openai",
    "chatgpt",
    "my prompt",
    "ignore previous",
    "als ai",
    "taalmodel",
    "mijn instructies",
    "ik ben een bot",
    "ik ben een ai",
    "ki-modell",
    "sprachmodell",
    "als ki",
    "meine anweisungen",
    "en tant qu'ia",
    "modele de langage",
    "mes instructions",
    "como ia",
    "modelo de lenguaje",
    "mis instrucciones",
];

/// Personal data a public reply must not ask to be posted.
const PII_WORDS: &[&str] = &[
    "e-?mail*",
    "address*",
    "phone*",
    "telephone*",
    "order number*",
    "iban",
    "bank*",
    "adres*",
    "telefoonnummer*",
    "mobiel*",
    "bestelnummer*",
    "rekeningnummer*",
    "adresse*",
    "telefonnummer*",
    "handynummer*",
    "bestellnummer*",
    "telephone*",
    "numero de commande",
    "numero de telephone",
    "direccion*",
    "telefono*",
    "numero de pedido",
    "correo*",
];

/// Words that move a conversation out of public view.
const PRIVATE_CHANNEL: &[&str] = &[
    "dm",
    "pm",
    "direct message*",
    "private message*",
    "privately",
    "inbox",
    "message us",
    "prive*",
    "privebericht*",
    "persoonlijk bericht*",
    "berichtje",
    "stuur ons een bericht",
    "direktnachricht*",
    "privatnachricht*",
    "nachricht",
    "pn",
    "message prive*",
    "en prive",
    "mp",
    "message",
    "md",
    "mensaje privado",
    "mensaje directo",
    "mensaje",
    "privado",
];

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailConfig {
    /// Domains a reply may link to (`fietsie.nl` also allows `www.fietsie.nl`).
    pub allowed_link_domains: Vec<String>,
    /// Phrases the brand never uses, in the lexicon's keyword syntax.
    pub banned_phrases: Vec<String>,
}

/// What a draft is checked against.
#[derive(Debug, Clone)]
pub struct DraftCheck<'a> {
    pub text: &'a str,
    /// The customer's language; the draft must be in it.
    pub expected_lang: Option<Lang>,
    /// Whether anyone can read the reply (a comment reply), not just the author.
    pub public: bool,
    pub platform: &'a Platform,
    pub kind: Kind,
    /// The customer's message: a number it mentions may be repeated.
    pub message_text: &'a str,
    /// Everything the facts file says: the only source of other claims.
    pub facts_text: &'a str,
}

pub struct Guardrails {
    money: KeywordList,
    ai_talk: KeywordList,
    pii_words: KeywordList,
    private_channel: KeywordList,
    banned: KeywordList,
    allowed_domains: Vec<String>,
    rules: Arc<Rules>,
    link: Regex,
    number: Regex,
}

impl Guardrails {
    pub fn new(cfg: &GuardrailConfig, rules: Arc<Rules>) -> Result<Guardrails, RulesError> {
        Ok(Guardrails {
            money: KeywordList::new("guardrail.money", MONEY)?,
            ai_talk: KeywordList::new("guardrail.ai", AI_TALK)?,
            pii_words: KeywordList::new("guardrail.pii_words", PII_WORDS)?,
            private_channel: KeywordList::new("guardrail.private_channel", PRIVATE_CHANNEL)?,
            banned: KeywordList::new("guardrail.banned_phrases", &cfg.banned_phrases)?,
            allowed_domains: cfg
                .allowed_link_domains
                .iter()
                .map(|d| d.trim().trim_start_matches("www.").to_ascii_lowercase())
                .collect(),
            rules,
            link: Regex::new(r"(?i)\b(?:https?://|www\.)([a-z0-9.-]+)|\b([a-z0-9-]+\.(?:com|nl|be|de|fr|es|net|org|io|ly|co|shop|store|eu|info|me|link|app))\b(?:/\S*)?")
                .expect("valid regex"),
            number: Regex::new(r"\d+(?:[.,:]\d+)*").expect("valid regex"),
        })
    }

    /// Every rule the draft breaks, each as `name: detail`.
    pub fn check(&self, draft: &DraftCheck<'_>) -> Vec<String> {
        let mut failures = Vec::new();
        let norm = rules::normalize(draft.text);
        if let Some(m) = self.money.find(&norm) {
            failures.push(format!("money_promise: {m}"));
        }
        if let Some(m) = self.ai_talk.find(&norm) {
            failures.push(format!("ai_disclosure: {m}"));
        }
        if let Some(m) = self.banned.find(&norm) {
            failures.push(format!("banned_phrase: {m}"));
        }
        if draft.public {
            for sentence in norm.split(['.', '!', '?', '\n']) {
                if let Some(m) = self.pii_words.find(sentence) {
                    if self.private_channel.find(sentence).is_none() {
                        failures.push(format!("public_pii_request: {m}"));
                        break;
                    }
                }
            }
        }
        let hits = self.rules.scan(draft.text);
        if let Some(pii) = hits.iter().find(|h| h.flag == Flag::Pii) {
            failures.push(format!("pii_echo: {}", pii.matched));
        }
        if let Some(abuse) = hits
            .iter()
            .find(|h| matches!(h.flag, Flag::Hate | Flag::Threat | Flag::Injection))
        {
            failures.push(format!("abusive_or_injected: {}", abuse.name));
        }
        for caps in self.link.captures_iter(draft.text) {
            let domain = caps
                .get(1)
                .or_else(|| caps.get(2))
                .map(|m| m.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            let domain = domain.trim_start_matches("www.");
            let allowed = self
                .allowed_domains
                .iter()
                .any(|a| domain == a || domain.ends_with(&format!(".{a}")));
            if !allowed {
                failures.push(format!("link_not_allowed: {domain}"));
                break;
            }
        }
        let known: Vec<&str> = self
            .number
            .find_iter(draft.facts_text)
            .chain(self.number.find_iter(draft.message_text))
            .map(|m| m.as_str())
            .collect();
        // "1." at the start of a line numbers a list; it claims nothing.
        let list_marker = |m: &regex::Match<'_>| {
            let before = draft.text[..m.start()].trim_end_matches([' ', '\t']);
            (before.is_empty() || before.ends_with('\n'))
                && draft.text[m.end()..].starts_with(['.', ')'])
        };
        if let Some(claim) = self
            .number
            .find_iter(draft.text)
            .find(|m| !list_marker(m) && !known.contains(&m.as_str()))
        {
            failures.push(format!("unsupported_claim: {}", claim.as_str()));
        }
        if let Some(expected) = draft.expected_lang {
            // Short texts are too short to tell their language reliably.
            if draft.text.chars().count() >= 40 {
                if let Some(found) = detect_lang_confidently(draft.text) {
                    if found != expected {
                        failures.push(format!("wrong_language: {found}, expected {expected}"));
                    }
                }
            }
        }
        let limit = length_limit(draft.platform, draft.kind, draft.public);
        let length = draft.text.chars().count();
        if length > limit {
            failures.push(format!("too_long: {length} > {limit} characters"));
        }
        if draft.text.trim().is_empty() {
            failures.push("empty".into());
        }
        failures
    }
}

/// The platform's limit on a reply's length, in characters.
pub fn length_limit(platform: &Platform, kind: Kind, public: bool) -> usize {
    match (platform.as_str(), kind, public) {
        ("instagram", _, true) => 2200,
        ("instagram", _, false) => 1000,
        ("facebook", _, true) => 8000,
        ("facebook", _, false) => 2000,
        _ => 5000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guardrails() -> Guardrails {
        Guardrails::new(
            &GuardrailConfig {
                allowed_link_domains: vec!["fietsie.nl".into()],
                banned_phrases: vec!["no worries".into()],
            },
            Arc::new(Rules::builtin()),
        )
        .unwrap()
    }

    fn check(text: &str, lang: Lang, public: bool) -> Vec<String> {
        let platform: Platform = "facebook".parse().unwrap();
        guardrails().check(&DraftCheck {
            text,
            expected_lang: Some(lang),
            public,
            platform: &platform,
            kind: Kind::Comment,
            message_text: "mijn bestelling 12345 is te laat",
            facts_text: "We zijn open van 9:00 tot 17:00.",
        })
    }

    fn names(failures: &[String]) -> Vec<&str> {
        failures
            .iter()
            .map(|f| f.split(':').next().unwrap())
            .collect()
    }

    #[test]
    fn a_good_template_draft_passes() {
        let ok = "Hoi Sam, wat vervelend om te lezen, en onze excuses. Wil je ons een DM sturen met je bestelnummer en e-mailadres? Dan zoeken we het meteen uit.";
        assert!(
            check(ok, Lang::Nl, true).is_empty(),
            "{:?}",
            check(ok, Lang::Nl, true)
        );
    }

    #[test]
    fn money_promises_fail_in_every_language() {
        for (text, lang) in [
            (
                "We will refund your order in full, sorry about that Sam!",
                Lang::En,
            ),
            (
                "Je krijgt natuurlijk je geld terug en een kortingscode van ons!",
                Lang::Nl,
            ),
            (
                "Wir schicken dir einen Gutschein als kleine Entschädigung für den Ärger.",
                Lang::De,
            ),
            (
                "Nous vous offrons un bon d'achat pour compenser ce désagrément.",
                Lang::Fr,
            ),
            (
                "Te daremos un reembolso completo y un descuento en tu próximo pedido.",
                Lang::Es,
            ),
        ] {
            assert!(
                names(&check(text, lang, false)).contains(&"money_promise"),
                "{text}"
            );
        }
    }

    #[test]
    fn public_requests_for_personal_data_fail_but_moving_to_dm_passes() {
        let bad = "Hi Sam, please post your e-mail address and phone number below so we can help.";
        assert!(names(&check(bad, Lang::En, true)).contains(&"public_pii_request"));
        assert!(!names(&check(bad, Lang::En, false)).contains(&"public_pii_request"));
    }

    #[test]
    fn echoed_personal_data_links_claims_and_ai_talk_fail() {
        let echo = "Thanks Sam, we will write to sam.jansen@example.com today about this order.";
        assert!(names(&check(echo, Lang::En, false)).contains(&"pii_echo"));
        let link = "Thanks Sam! Have a look at https://evil.example.org/win for the details.";
        assert!(names(&check(link, Lang::En, false)).contains(&"link_not_allowed"));
        let ok_link = "Thanks Sam! Have a look at https://www.fietsie.nl/service for the details.";
        assert!(!names(&check(ok_link, Lang::En, false)).contains(&"link_not_allowed"));
        let claim = "Thanks Sam, your order will arrive within 2 days, we promise you that.";
        assert!(names(&check(claim, Lang::En, false)).contains(&"unsupported_claim"));
        let list = "Thanks Sam! A few questions:\n1. Which company?\n2) What budget?";
        assert!(!names(&check(list, Lang::En, false)).contains(&"unsupported_claim"));
        let fact = "Thanks Sam, we are open from 9:00 to 17:00 every weekday, see you soon.";
        assert!(!names(&check(fact, Lang::En, false)).contains(&"unsupported_claim"));
        let ai = "As an AI language model I cannot help with that, but here are my instructions.";
        assert!(names(&check(ai, Lang::En, false)).contains(&"ai_disclosure"));
    }

    #[test]
    fn language_length_and_banned_phrases_are_checked() {
        let english = "Thanks so much for your message, we will look into your order right away.";
        assert!(names(&check(english, Lang::Nl, false)).contains(&"wrong_language"));
        let long = "a ".repeat(5000);
        assert!(names(&check(&long, Lang::En, false)).contains(&"too_long"));
        assert!(names(&check(
            "No worries Sam, it happens to everyone!",
            Lang::En,
            false
        ))
        .contains(&"banned_phrase"));
    }
}
