//! The brand's facts file: the answers replyd may give on its own, and the
//! only source of claims a reply may make (see the guardrails).
//!
//! ```toml
//! [[fact]]
//! topic = "opening hours"
//! keywords = ["opening hours", "open*", "openingstijden", "offnungszeit*", "horaire*", "horario*"]
//! [fact.answer]
//! en = "We're open Monday to Saturday from 9:00 to 18:00."
//! nl = "We zijn open van maandag tot en met zaterdag, van 9:00 tot 18:00."
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::domain::Lang;
use crate::text::{normalize, KeywordList};

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("facts file {path}: {message}")]
    File { path: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    #[serde(default)]
    fact: Vec<FactEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactEntry {
    topic: String,
    keywords: Vec<String>,
    answer: BTreeMap<Lang, String>,
}

struct Fact {
    topic: String,
    keywords: KeywordList,
    answers: BTreeMap<Lang, String>,
}

impl Fact {
    /// The answer in `lang`, else in English (which every fact has).
    fn in_lang(&self, lang: Option<Lang>) -> Option<Answer<'_>> {
        let wanted = lang.unwrap_or(Lang::En);
        let (lang, text) = self
            .answers
            .get_key_value(&wanted)
            .or_else(|| self.answers.get_key_value(&Lang::En))?;
        Some(Answer {
            topic: &self.topic,
            text,
            lang: *lang,
        })
    }
}

#[derive(Default)]
pub struct Facts {
    facts: Vec<Fact>,
    /// Every answer, joined: what claims in a draft are checked against.
    all_text: String,
}

/// A fact that answers a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<'a> {
    pub topic: &'a str,
    pub text: &'a str,
    pub lang: Lang,
}

impl Facts {
    pub fn load(path: &Path) -> Result<Facts, FactsError> {
        let error = |message: String| FactsError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Self::parse(&text).map_err(error)
    }

    pub fn parse(text: &str) -> Result<Facts, String> {
        let file: FactsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut facts = Vec::with_capacity(file.fact.len());
        for entry in file.fact {
            if !entry.answer.contains_key(&Lang::En) {
                return Err(format!(
                    "fact `{}` needs an English answer (the fallback)",
                    entry.topic
                ));
            }
            let keywords = KeywordList::new(&format!("fact `{}`", entry.topic), &entry.keywords)
                .map_err(|e| e.to_string())?;
            facts.push(Fact {
                topic: entry.topic,
                keywords,
                answers: entry.answer,
            });
        }
        let all_text = facts
            .iter()
            .flat_map(|f| f.answers.values().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Facts { facts, all_text })
    }

    /// The first fact whose keywords the message mentions, in the message's
    /// language (else English).
    pub fn answer(&self, message: &str, lang: Option<Lang>) -> Option<Answer<'_>> {
        let norm = normalize(message);
        self.facts
            .iter()
            .find(|f| f.keywords.find(&norm).is_some())?
            .in_lang(lang)
    }

    /// The fact named `topic` (`contact`: how customers reach the brand), in
    /// `lang` when the facts file has it, else in English.
    pub fn topic(&self, topic: &str, lang: Option<Lang>) -> Option<Answer<'_>> {
        self.facts.iter().find(|f| f.topic == topic)?.in_lang(lang)
    }

    /// The language an answer given by [`Facts::answer`] is written in:
    /// `wanted` when the facts file has the text in it, else the first
    /// language that has it.
    pub fn language_of(&self, answer: &str, wanted: Option<Lang>) -> Option<Lang> {
        let mut langs = self
            .facts
            .iter()
            .flat_map(|f| f.answers.iter())
            .filter(|(_, text)| text.as_str() == answer)
            .map(|(lang, _)| *lang)
            .peekable();
        let first = *langs.peek()?;
        Some(wanted.filter(|w| langs.any(|l| l == *w)).unwrap_or(first))
    }

    pub fn all_text(&self) -> &str {
        &self.all_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[fact]]
topic = "opening hours"
keywords = ["opening hours", "open*", "openingstijden", "offnungszeit*"]
[fact.answer]
en = "We're open Monday to Saturday from 9:00 to 18:00."
nl = "We zijn open van maandag tot en met zaterdag, van 9:00 tot 18:00."
"#;

    #[test]
    fn finds_the_answer_in_the_message_language() {
        let facts = Facts::parse(FILE).unwrap();
        let answer = facts
            .answer("Wat zijn jullie openingstijden?", Some(Lang::Nl))
            .unwrap();
        assert_eq!(answer.topic, "opening hours");
        assert!(answer.text.starts_with("We zijn open"));
        let german = facts
            .answer("Wie sind die Öffnungszeiten?", Some(Lang::De))
            .unwrap();
        assert_eq!(german.lang, Lang::En, "falls back to English");
        assert!(facts
            .answer("Mijn fiets is kapot", Some(Lang::Nl))
            .is_none());
    }

    #[test]
    fn a_fact_without_english_is_refused() {
        let err = Facts::parse(
            "[[fact]]\ntopic = \"x\"\nkeywords = [\"x\"]\n[fact.answer]\nnl = \"y\"\n",
        )
        .err()
        .unwrap();
        assert!(err.contains("English"), "{err}");
    }
}
