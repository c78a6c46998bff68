//! A transparent fallback classifier for when the model is not loaded: cue
//! words are counted per class, weighted, and turned into probabilities with
//! a softmax. Crude on purpose; every weight is here to read.

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::{Flag, Intent, Scored, Sentiment};

use super::Rules;
use crate::text::lexicon::rules::{self as lexicon, table_keywords, Keywords, LEAD_RULE};
use crate::text::{compile_keywords, normalize};

/// The heuristic's guess at intent and sentiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Heuristic {
    pub intent: Scored<Intent>,
    pub sentiment: Scored<Sentiment>,
}

struct Cues {
    complaint: Regex,
    praise: Regex,
    question: Regex,
    feedback: Regex,
    troll: Regex,
    sarcasm: Regex,
    banter: Regex,
    enthusiasm: Regex,
    rules: Rules,
}

static CUES: LazyLock<Cues> = LazyLock::new(|| {
    let compile = |name: &str, table: Keywords| {
        compile_keywords(name, table_keywords(table)).expect("built-in heuristic cues compile")
    };
    Cues {
        complaint: compile("heuristic.complaint", lexicon::COMPLAINT),
        praise: compile("heuristic.praise", lexicon::PRAISE),
        question: compile("heuristic.question", lexicon::QUESTION),
        feedback: compile("heuristic.feedback", lexicon::FEEDBACK),
        troll: compile("heuristic.troll", lexicon::TROLL),
        sarcasm: compile("heuristic.sarcasm", lexicon::SARCASM),
        banter: compile("heuristic.banter", lexicon::BANTER),
        enthusiasm: compile("heuristic.enthusiasm", lexicon::ENTHUSIASM),
        rules: Rules::builtin(),
    }
});

/// More than a few cues of one kind says little more than a few.
const CAP: usize = 3;
/// What "nothing recognised" weighs against the cue classes.
const OTHER_PRIOR: f32 = 1.0;
const NEUTRAL_PRIOR: f32 = 1.0;

/// The first insult or swear word in `text` (the troll cues), if any: words
/// a reply must never repeat, however warm the message around them.
pub fn insult(text: &str) -> Option<String> {
    CUES.troll
        .find(&normalize(text))
        .map(|m| m.as_str().to_owned())
}

/// The first words of thanks that mean the opposite ("thanks for
/// nothing", a slow clap), if any: a complaint in praise's clothes.
pub fn sarcasm(text: &str) -> Option<String> {
    CUES.sarcasm
        .find(&normalize(text))
        .map(|m| m.as_str().to_owned())
}

/// The first words that make a comment banter about the brand's advert or
/// post ("who's here after the ad?"), if any.
pub fn banter(text: &str) -> Option<String> {
    CUES.banter
        .find(&normalize(text))
        .map(|m| m.as_str().to_owned())
}

/// The first words of a fan's hyperbole ("this burger slaps", "kapot
/// lekker"), if any.
pub fn enthusiasm(text: &str) -> Option<String> {
    CUES.enthusiasm
        .find(&normalize(text))
        .map(|m| m.as_str().to_owned())
}

/// The first complaint cue ("broken", "te laat", "nie angekommen") outside
/// a fan's hyperbole, if any: "kapot lekker" names nothing broken.
pub fn complaint_words(text: &str) -> Option<String> {
    let norm = normalize(text);
    let outside = CUES.enthusiasm.replace_all(&norm, " ");
    CUES.complaint.find(&outside).map(|m| m.as_str().to_owned())
}

/// Guesses intent and sentiment from keyword cues in nl, en, de, fr and es.
/// Deterministic, and the probabilities of each sum to 1.
pub fn heuristic(text: &str) -> Heuristic {
    let cues = &*CUES;
    let norm = normalize(text);
    let hits = cues.rules.scan_normalized(text, &norm);
    let fired = |pred: &dyn Fn(&str, Flag) -> bool| {
        hits.iter()
            .filter(|h| pred(&h.name, h.flag))
            .count()
            .min(CAP) as f32
    };

    let count = |re: &Regex| re.find_iter(&norm).take(CAP).count() as f32;
    // "niet goed", "not great", "no me gusta": praise words turned around.
    let (mut praise, mut negated_praise) = (0.0f32, 0.0f32);
    for m in cues.praise.find_iter(&norm).take(CAP) {
        let negated = cues
            .rules
            .negation
            .as_ref()
            .is_some_and(|n| n.negated_nearby(&norm, m.start(), 2));
        if negated {
            negated_praise += 1.0;
        } else {
            praise += 1.0;
        }
    }
    let complaint = count(&cues.complaint) + negated_praise;
    let feedback = count(&cues.feedback);
    let question_words = count(&cues.question);
    let question_mark = if norm.contains(['?', '¿']) { 1.0 } else { 0.0 };
    let troll = count(&cues.troll);
    let lead = fired(&|name, _| name == LEAD_RULE);
    let spam = fired(&|_, flag| flag == Flag::Spam);
    let hate = fired(&|_, flag| flag == Flag::Hate);
    let threat = fired(&|_, flag| flag == Flag::Threat);
    let legal = fired(&|_, flag| flag == Flag::Legal);

    let intent_logit = |intent: Intent| match intent {
        Intent::Complaint => 1.6 * complaint + 0.8 * legal,
        Intent::Feedback => 1.3 * feedback,
        Intent::Question => 1.5 * question_mark + 0.5 * question_words,
        Intent::Praise => 1.2 * praise,
        Intent::Lead => 2.2 * lead,
        Intent::Troll => 1.2 * troll + 1.5 * hate + 1.0 * threat,
        Intent::Spam => 2.5 * spam,
        Intent::Other => OTHER_PRIOR,
    };
    let sentiment_logit = |sentiment: Sentiment| match sentiment {
        Sentiment::Negative => 1.2 * complaint + 0.8 * troll + 2.0 * (hate + threat) + 0.5 * legal,
        Sentiment::Neutral => {
            NEUTRAL_PRIOR + 0.3 * (question_mark + question_words) + 0.5 * (lead + spam)
        }
        Sentiment::Positive => 1.2 * praise,
    };

    Heuristic {
        intent: scored(Intent::ALL, intent_logit),
        sentiment: scored(Sentiment::ALL, sentiment_logit),
    }
}

fn scored<L: Ord + Copy>(classes: &[L], logit: impl Fn(L) -> f32) -> Scored<L> {
    let logits: Vec<f32> = classes.iter().map(|c| logit(*c)).collect();
    Scored::from_probs(classes, &softmax(&logits))
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(text: &str) -> Intent {
        heuristic(text).intent.label
    }

    fn sentiment(text: &str) -> Sentiment {
        heuristic(text).sentiment.label
    }

    #[test]
    fn probabilities_sum_to_one_and_are_deterministic() {
        for text in [
            "",
            "Top!",
            "Wanneer komt mijn pakket?",
            "🔥🔥🔥",
            "x".repeat(10_000).as_str(),
        ] {
            let h = heuristic(text);
            let sum: f32 = h.intent.scores.values().sum();
            assert!((sum - 1.0).abs() < 1e-4, "{text}: {sum}");
            let sum: f32 = h.sentiment.scores.values().sum();
            assert!((sum - 1.0).abs() < 1e-4, "{text}: {sum}");
            assert_eq!(h, heuristic(text));
        }
    }

    #[test]
    fn complaints() {
        for text in [
            "Mijn bestelling is nog steeds niet aangekomen, echt een schande",
            "The product arrived broken and I want a refund",
            "Das Paket ist kaputt angekommen, totale Frechheit",
            "Colis arrivé cassé, je veux être remboursé",
            "El pedido llegó roto, quiero un reembolso",
            "Niet goed, slecht geholpen",
        ] {
            assert_eq!(intent(text), Intent::Complaint, "{text}");
            assert_eq!(sentiment(text), Sentiment::Negative, "{text}");
        }
    }

    #[test]
    fn praise() {
        for text in [
            "Geweldig product, dank jullie wel!",
            "Love it, amazing service ❤️",
            "Super, vielen Dank! 😍",
            "Merci, c'est génial 👏",
            "¡Me encanta, gracias! 🔥",
        ] {
            assert_eq!(intent(text), Intent::Praise, "{text}");
            assert_eq!(sentiment(text), Sentiment::Positive, "{text}");
        }
    }

    #[test]
    fn questions() {
        for text in [
            "Wanneer zijn jullie weer open?",
            "How long does shipping take?",
            "Wann kommt die neue Kollektion?",
            "Quand est-ce que vous livrez?",
            "¿Cuándo abrís la tienda?",
        ] {
            assert_eq!(intent(text), Intent::Question, "{text}");
            assert_eq!(sentiment(text), Sentiment::Neutral, "{text}");
        }
    }

    #[test]
    fn leads_spam_trolls_feedback_and_other() {
        assert_eq!(
            intent("Wij zoeken een samenwerking met jullie merk"),
            Intent::Lead
        );
        assert_eq!(
            intent("Nous cherchons un partenariat avec votre marque"),
            Intent::Lead
        );
        assert_ne!(intent("Geen interesse in een samenwerking"), Intent::Lead);
        assert_eq!(intent("Buy cheap followers at bit.ly/xyz"), Intent::Spam);
        assert_eq!(intent("lol wat een clowns 🤡 boeien"), Intent::Troll);
        assert_eq!(
            intent("Het zou fijn zijn als jullie ook een vegan optie hebben, een suggestie"),
            Intent::Feedback
        );
        assert_eq!(intent("Ok"), Intent::Other);
    }
}
