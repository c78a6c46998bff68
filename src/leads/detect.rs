//! Is this message a sales lead? A transparent score from the rules layer's
//! hits, context cues and the classifier's probability for the `lead`
//! intent; every point of it is given as a reason.
//!
//! | signal                                               | weight            |
//! |------------------------------------------------------|-------------------|
//! | a collaboration keyword (`lead.keyword`, lead rules) | +0.45, +0.10 more |
//! | the author speaks for a business or as a creator     | +0.25             |
//! | it asks to do business (stock, quote, sponsor, meet) | +0.25             |
//! | the classifier's p(lead)                             | +0.55 × p         |
//! | an existing partnership (complaint, question, praise)| −0.60             |
//! | buying for oneself or a party                        | −0.50             |
//! | a complaint                                          | −0.40             |
//! | a collaboration keyword negated elsewhere            | −0.40             |
//! | addressed to someone else (`@friend you should...`)  | −0.50             |
//!
//! Vetoes, whatever the score: spam (the spam signal wins over collaboration
//! words: "Collab? DM us to promote your page"), hate, threats, trolls, and a
//! collaboration keyword that is only ever negated ("geen interesse in een
//! samenwerking").

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::domain::{Classification, Flag, Intent};
use crate::text::lexicon::leads as cues;
use crate::text::{compile_keywords, normalize};

const KEYWORD: f64 = 0.45;
const SECOND_KEYWORD: f64 = 0.10;
const BUSINESS: f64 = 0.25;
const PROPOSAL: f64 = 0.25;
const MODEL: f64 = 0.55;
const EXISTING: f64 = -0.60;
const PERSONAL: f64 = -0.50;
const COMPLAINT: f64 = -0.40;
const NEGATED: f64 = -0.40;
const TAGGED: f64 = -0.50;

/// The rules layer's name for a negated collaboration keyword.
const LEAD_NEGATED: &str = "lead.negated";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub is_lead: bool,
    /// 0..1.
    pub score: f64,
    /// Each signal that counted, with its weight, or the veto.
    pub reasons: Vec<String>,
}

struct Cues {
    business: Regex,
    proposal: Regex,
    existing: Regex,
    personal: Regex,
}

static CUES: LazyLock<Cues> = LazyLock::new(|| {
    let compile = |name: &str, table: &'static [&'static str]| {
        compile_keywords(name, table.iter().copied()).expect("built-in lead cues compile")
    };
    Cues {
        business: compile("lead.business", cues::BUSINESS),
        proposal: compile("lead.proposal", cues::PROPOSAL),
        existing: compile("lead.existing", cues::EXISTING),
        personal: compile("lead.personal", cues::PERSONAL),
    }
});

/// Scores `text` with its classification; a lead at or above `min_score`.
/// `own_handles` are the brand's own @handles: a message opening by tagging
/// one is addressed to the brand.
pub fn detect(text: &str, c: &Classification, min_score: f64, own_handles: &[String]) -> Detection {
    let mut reasons = Vec::new();
    let veto = |reason: &str| Detection {
        is_lead: false,
        score: 0.0,
        reasons: vec![reason.to_owned()],
    };
    if c.intent.label == Intent::Spam || c.has_flag(Flag::Spam) {
        return veto("spam: the spam signal wins over collaboration words");
    }
    if c.has_flag(Flag::Hate) || c.has_flag(Flag::Threat) || c.intent.label == Intent::Troll {
        return veto("hate, threat or troll: not a lead");
    }
    let keywords: Vec<&str> = c
        .rules
        .iter()
        .filter(|h| h.flag == Flag::Lead && h.name != LEAD_NEGATED)
        .map(|h| h.matched.as_str())
        .collect();
    let negated = c.rules.iter().any(|h| h.name == LEAD_NEGATED);
    if negated && keywords.is_empty() {
        return veto("negated interest in a collaboration");
    }

    let mut score = 0.0;
    let mut add = |weight: f64, why: String| {
        score += weight;
        reasons.push(format!("{why} ({weight:+.2})"));
    };
    if let Some(first) = keywords.first() {
        add(KEYWORD, format!("collaboration keyword `{first}`"));
    }
    if let Some(second) = keywords.get(1) {
        add(SECOND_KEYWORD, format!("collaboration keyword `{second}`"));
    }
    let norm = normalize(text);
    let cues = &*CUES;
    let cue = |re: &Regex| re.find(&norm).map(|m| m.as_str().trim().to_owned());
    if let Some(m) = cue(&cues.business) {
        add(BUSINESS, format!("speaks for a business: `{m}`"));
    }
    if let Some(m) = cue(&cues.proposal) {
        add(PROPOSAL, format!("asks to do business: `{m}`"));
    }
    let p = f64::from(c.intent.prob(Intent::Lead));
    add(MODEL * p, format!("{} p(lead) = {p:.2}", c.classifier));
    if let Some(m) = cue(&cues.existing) {
        add(EXISTING, format!("an existing partnership: `{m}`"));
    }
    if let Some(m) = cue(&cues.personal) {
        add(PERSONAL, format!("buying for oneself: `{m}`"));
    }
    if let Some(tag) = someone_else_tagged(&norm, own_handles) {
        add(TAGGED, format!("addressed to someone else: `{tag}`"));
    }
    if negated {
        add(NEGATED, "a collaboration keyword is negated".to_owned());
    }
    if c.intent.label == Intent::Complaint {
        add(COMPLAINT, "a complaint".to_owned());
    }
    let score = score.clamp(0.0, 1.0);
    Detection {
        is_lead: score >= min_score,
        score: (score * 1000.0).round() / 1000.0,
        reasons,
    }
}

/// The first of the @handles the (normalised) message opens with that is
/// not the brand's own: "@jan you should stock these" is a tip to a friend,
/// "@fietsie we'd like to stock your bikes" a lead.
fn someone_else_tagged<'t>(norm: &'t str, own_handles: &[String]) -> Option<&'t str> {
    let handle_end = |c: char| !(c.is_ascii_alphanumeric() || c == '_');
    norm.split_whitespace()
        .take_while(|word| word.starts_with('@'))
        .map(|word| word.trim_end_matches(handle_end))
        .filter(|tag| tag.len() > 1)
        .find(|tag| {
            !own_handles
                .iter()
                .any(|own| normalize(own.trim_start_matches('@')) == tag[1..])
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::rules::Rules;
    use crate::classify::{Classifier, RulesClassifier};
    use std::sync::Arc;

    fn classify(text: &str) -> Classification {
        let classifier = RulesClassifier::new(Arc::new(Rules::builtin()));
        futures::executor::block_on(classifier.classify(text, None)).unwrap()
    }

    fn is_lead(text: &str) -> bool {
        detect(text, &classify(text), 0.5, &[]).is_lead
    }

    #[test]
    fn leads_in_every_language() {
        for text in [
            "Wij zoeken een samenwerking met jullie merk voor onze nieuwe winkel",
            "Is een samenwerkingsverband met ons bureau bespreekbaar?",
            "Wij zijn een webshop en willen graag wederverkoper worden",
            "Hebben jullie een groothandel? Wij hebben een cadeauwinkel.",
            "We'd love to collab with your brand, I'm a creator on TikTok",
            "We run three cafés and would like to become a reseller. Could you send a trade price list?",
            "Wir suchen eine Kooperation mit Ihrer Marke für unser Stadtfest",
            "Wir sind an einer Partnerschaft interessiert, unser Laden in Köln",
            "Nous cherchons un partenariat avec votre marque pour notre festival",
            "Buscamos una colaboración con vuestra marca, tenemos una tienda en Sevilla",
            "¿Os interesa un patrocinio para nuestro club?",
            "Collab? I'm a creator (40k) and love your mugs",
            "Sponsordeal voor ons korfbaltoernooi, interesse?",
        ] {
            assert!(is_lead(text), "{text}: {:?}", detect(text, &classify(text), 0.5, &[]));
        }
    }

    #[test]
    fn negatives_in_every_language() {
        for text in [
            "Geen interesse in een samenwerking, waar blijft mijn pakket?",
            "Not interested in a partnership, I want my refund",
            "Kein Interesse an einer Kooperation, wo ist meine Bestellung?",
            "Pas intéressé par un partenariat, je veux être remboursé",
            "No me interesa colaborar, ¿dónde está mi pedido?",
            "Jullie samenwerking met dat oliebedrijf is schandalig, ik zeg op",
            "Your partnership with that betting site is disgusting",
            "Eure Partnerschaft mit diesem Konzern ist peinlich",
            "Votre partenariat avec cette marque est honteux",
            "Vuestro patrocinio a ese equipo es una vergüenza",
            "Collab? DM us to promote your page to 50k followers",
            "Samenwerken? Gratis volgers voor je pagina, stuur ons een dm voor de prijs",
            "Wat een mooie fiets!",
        ] {
            assert!(
                !is_lead(text),
                "{text}: {:?}",
                detect(text, &classify(text), 0.5, &[])
            );
        }
    }

    #[test]
    fn reasons_name_the_keyword_and_the_model() {
        let text = "Wij hebben een winkel en zoeken een samenwerking";
        let d = detect(text, &classify(text), 0.5, &[]);
        assert!(d.is_lead);
        assert!(
            d.reasons.iter().any(|r| r.contains("samenwerking")),
            "{d:?}"
        );
        assert!(d.reasons.iter().any(|r| r.contains("p(lead)")), "{d:?}");
        let spam = "Collab? DM us to promote your page";
        let d = detect(spam, &classify(spam), 0.5, &[]);
        assert!(d.reasons[0].contains("spam"), "{d:?}");
    }

    #[test]
    fn a_tag_of_the_brand_itself_does_not_count_against_a_lead() {
        let own = ["@Fietsie".to_owned(), "fietsie.nl".to_owned()];
        let text = "@fietsie, wij hebben een winkel en zoeken een samenwerking";
        let tagged = |text: &str, own: &[String]| {
            detect(text, &classify(text), 0.5, own)
                .reasons
                .into_iter()
                .find(|r| r.contains("addressed to someone else"))
        };
        assert_eq!(tagged(text, &own), None);
        assert!(detect(text, &classify(text), 0.5, &own).is_lead);
        assert_eq!(
            tagged("@fietsie.nl wij zoeken een samenwerking", &own),
            None
        );
        // Unconfigured, the brand is someone else too.
        assert!(tagged(text, &[]).unwrap().contains("`@fietsie`"));
        // The brand tagged beside a friend: the friend counts.
        let both = "@fietsie @jan_b jullie moeten echt gaan samenwerken";
        assert!(tagged(both, &own).unwrap().contains("`@jan_b`"));
        assert_eq!(tagged("Wij zoeken een samenwerking @jan", &own), None);
    }
}
