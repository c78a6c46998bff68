//! The rules layer: explicit, configurable checks that run beside the model
//! and name every rule that fires.
//!
//! * Personal data (`pii.*`) is found on the original text, validated in code
//!   (IBAN mod-97, Luhn, phone shapes) and always reported masked.
//! * Everything else is keyword rules matched on [`normalize`]d text, so case,
//!   accents and typographic tricks do not matter. The keywords live in
//!   per-language tables in `text/lexicon/rules.rs`, in the syntax of
//!   `text/pattern.rs`.
//! * Lead keywords that are negated in their clause ("geen interesse in een
//!   samenwerking") are reported as `lead.negated` instead of `lead.keyword`.
//!
//! Configuration is the `[rules]` TOML section:
//!
//! ```toml
//! [rules]
//! disable = ["spam.link", "legal.police_report", "press"]  # rule names or whole categories
//! disable_keywords = ["offerte*", "presupuesto*"]          # built-in entries, verbatim
//! extra_lead = ["joint venture", "white label*", "franchise*"]
//! extra_spam = ["onlyfans"]
//! extra_negation = ["liever niet"]                          # phrases that negate a lead
//!
//! [[rules.custom]]
//! name = "brand.competitor"
//! flag = "lead"
//! keywords = ["(acme|globex) .. (cheaper|goedkoper)"]
//! ```

mod heuristic;
mod pii;

use std::collections::BTreeSet;

use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::domain::{Flag, RuleHit};

pub use crate::config::{CustomRule, RulesConfig};
pub use heuristic::{banter, complaint_words, enthusiasm, heuristic, insult, sarcasm, Heuristic};

use crate::text::lexicon::rules::{
    self as lexicon, table_keywords, Category, CATEGORIES, LEAD_NEGATED,
};
use crate::text::normalize;
use crate::text::pattern::{compile_keywords, compile_rule, PatternError};
use pii::PiiKind;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error("rules: `disable` names unknown rule `{name}` (known: {known})")]
    UnknownRule { name: String, known: String },
    #[error("rules: `disable_keywords` entry `{0}` is not a built-in keyword")]
    UnknownKeyword(String),
    #[error("rules: custom rule `{name}`: {reason}")]
    BadCustomRule { name: String, reason: String },
}

/// The compiled rules. Build once with [`Rules::new`] and share: it is
/// `Send + Sync`, and a scan is one normalisation plus a few regex passes.
#[derive(Debug)]
pub struct Rules {
    pii: Vec<PiiKind>,
    /// One pass over the text tells which keyword rules match at all.
    set: RegexSet,
    keyword_rules: Vec<KeywordRule>,
    negation: Option<Negation>,
}

#[derive(Debug)]
struct KeywordRule {
    name: String,
    flag: Flag,
    regex: Regex,
}

impl Rules {
    /// The built-in rules without configuration.
    pub fn builtin() -> Rules {
        // The built-in lexicon is static and covered by tests, so this cannot
        // fail at run time.
        Rules::new(&RulesConfig::default()).expect("built-in rules compile")
    }

    pub fn new(cfg: &RulesConfig) -> Result<Rules, RulesError> {
        check_disable(cfg)?;
        let dropped = check_disable_keywords(cfg)?;

        let pii = PiiKind::ALL
            .into_iter()
            .filter(|k| !cfg.is_disabled(k.rule_name()))
            .collect();

        let mut defs: Vec<(String, Flag, Vec<String>)> = Vec::new();
        for cat in CATEGORIES {
            collect_category(cat, cfg, &dropped, &mut defs);
        }
        for custom in &cfg.custom {
            check_custom(custom, &defs)?;
            defs.push((custom.name.clone(), custom.flag, custom.keywords.clone()));
        }

        let mut keyword_rules = Vec::with_capacity(defs.len());
        let mut sources = Vec::with_capacity(defs.len());
        for (name, flag, keywords) in defs {
            let (source, regex) = compile_rule(&name, keywords.iter().map(String::as_str))?;
            sources.push(source);
            keyword_rules.push(KeywordRule { name, flag, regex });
        }
        let set = RegexSetBuilder::new(&sources)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| PatternError::TooLarge {
                rule: "(all rules)".into(),
                reason: e.to_string(),
            })?;

        let negation = if cfg.is_disabled(LEAD_NEGATED) {
            None
        } else {
            Some(Negation::new(&cfg.extra_negation)?)
        };

        Ok(Rules {
            pii,
            set,
            keyword_rules,
            negation,
        })
    }

    /// Every rule that fires on `text`: personal data first, in text order,
    /// then keyword rules in lexicon order, each at most once (with its first
    /// match). Personal data in `matched` is masked.
    pub fn scan(&self, text: &str) -> Vec<RuleHit> {
        self.scan_normalized(text, &normalize(text))
    }

    fn scan_normalized(&self, text: &str, norm: &str) -> Vec<RuleHit> {
        let mut hits: Vec<RuleHit> = Vec::new();
        if !self.pii.is_empty() {
            for span in pii::find_all(text) {
                if self.pii.contains(&span.kind) {
                    let hit = span.hit(text);
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
        }
        let mut negated_lead: Option<RuleHit> = None;
        for idx in self.set.matches(norm).iter() {
            let Some(rule) = self.keyword_rules.get(idx) else {
                continue;
            };
            match (&self.negation, rule.flag) {
                (Some(negation), Flag::Lead) => {
                    let mut plain = None;
                    for m in rule.regex.find_iter(norm) {
                        if !negation.negates(norm, m.start()) {
                            plain = Some(m.as_str());
                            break;
                        }
                        if negated_lead.is_none() {
                            negated_lead = Some(hit(LEAD_NEGATED, Flag::Lead, m.as_str()));
                        }
                    }
                    if let Some(matched) = plain {
                        hits.push(hit(&rule.name, rule.flag, matched));
                    }
                }
                _ => {
                    if let Some(m) = rule.regex.find(norm) {
                        hits.push(hit(&rule.name, rule.flag, m.as_str()));
                    }
                }
            }
        }
        hits.extend(negated_lead);
        hits
    }

    /// The distinct flags of `hits`, in the order of [`Flag`]'s declaration.
    ///
    /// `lead.negated` is reported so the decision shows it, but it does not
    /// raise the lead flag by itself: "geen interesse in een samenwerking" is
    /// not a lead.
    pub fn flags(hits: &[RuleHit]) -> Vec<Flag> {
        hits.iter()
            .filter(|h| h.name != LEAD_NEGATED)
            .map(|h| h.flag)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The names of the rules this instance can fire, e.g. for a settings page.
    pub fn rule_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.pii.iter().map(|k| k.rule_name()).collect();
        names.extend(self.keyword_rules.iter().map(|r| r.name.as_str()));
        if self.negation.is_some() {
            names.push(LEAD_NEGATED);
        }
        names
    }
}

/// Replaces each piece of personal data with `[email]`, `[phone]`, `[iban]`,
/// `[card]` or `[address]`. Independent of any configuration, so that what is
/// stored or logged is always masked.
pub fn mask_pii(text: &str) -> String {
    pii::mask(text)
}

/// The personal data in `text` as masked hits; meant for outgoing drafts.
pub fn contains_pii(text: &str) -> Vec<RuleHit> {
    let mut hits: Vec<RuleHit> = Vec::new();
    for span in pii::find_all(text) {
        let hit = span.hit(text);
        if !hits.contains(&hit) {
            hits.push(hit);
        }
    }
    hits
}

fn hit(name: &str, flag: Flag, matched: &str) -> RuleHit {
    RuleHit {
        name: name.to_owned(),
        flag,
        matched: display_match(matched),
    }
}

/// Keeps the stored match short, and masked: a gap pattern or a brand's raw
/// regex can span personal data.
fn display_match(matched: &str) -> String {
    const MAX_CHARS: usize = 80;
    let trimmed = matched.trim();
    let short = match trimmed.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => &trimmed[..at],
        None => trimmed,
    };
    if short.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        pii::mask(short)
    } else {
        short.to_owned()
    }
}

// ---------------------------------------------------------------- building

fn all_rule_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = PiiKind::ALL.iter().map(|k| k.rule_name()).collect();
    for cat in CATEGORIES {
        names.extend(cat.rules.iter().map(|r| r.name));
        if !cat.rules.iter().any(|r| r.name == cat.extra_rule) {
            names.push(cat.extra_rule);
        }
    }
    names.push(LEAD_NEGATED);
    names
}

fn check_disable(cfg: &RulesConfig) -> Result<(), RulesError> {
    let names = all_rule_names();
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.key).chain(["pii"]).collect();
    for d in &cfg.disable {
        let custom = cfg.custom.iter().any(|c| &c.name == d);
        if !custom && !names.contains(&d.as_str()) && !categories.contains(&d.as_str()) {
            return Err(RulesError::UnknownRule {
                name: d.clone(),
                known: categories
                    .iter()
                    .chain(names.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

fn check_disable_keywords(cfg: &RulesConfig) -> Result<Vec<&str>, RulesError> {
    let builtin: BTreeSet<&str> = CATEGORIES
        .iter()
        .flat_map(|c| c.rules)
        .flat_map(|r| r.keywords.iter())
        .flat_map(|(_, kws)| kws.iter().copied())
        .collect();
    cfg.disable_keywords
        .iter()
        .map(|k| {
            builtin
                .get(k.trim())
                .copied()
                .ok_or_else(|| RulesError::UnknownKeyword(k.clone()))
        })
        .collect()
}

fn collect_category(
    cat: &Category,
    cfg: &RulesConfig,
    dropped: &[&str],
    defs: &mut Vec<(String, Flag, Vec<String>)>,
) {
    let extras = cfg.extras(cat.key);
    let mut extras_placed = false;
    for rule in cat.rules {
        if cfg.is_disabled(rule.name) {
            extras_placed |= rule.name == cat.extra_rule;
            continue;
        }
        let mut keywords: Vec<String> = table_keywords(rule.keywords)
            .filter(|k| !dropped.contains(k))
            .map(str::to_owned)
            .collect();
        if rule.name == cat.extra_rule {
            keywords.extend(extras.iter().cloned());
            extras_placed = true;
        }
        if !keywords.is_empty() {
            defs.push((rule.name.to_owned(), rule.flag, keywords));
        }
    }
    if !extras_placed && !extras.is_empty() && !cfg.is_disabled(cat.extra_rule) {
        defs.push((cat.extra_rule.to_owned(), cat.flag, extras.to_vec()));
    }
}

fn check_custom(
    custom: &CustomRule,
    defs: &[(String, Flag, Vec<String>)],
) -> Result<(), RulesError> {
    let bad = |reason: &str| {
        Err(RulesError::BadCustomRule {
            name: custom.name.clone(),
            reason: reason.to_owned(),
        })
    };
    let name = custom.name.as_str();
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if !well_formed {
        return bad("name must be dotted lowercase words, e.g. `brand.competitor`");
    }
    if all_rule_names().contains(&name) || defs.iter().any(|(n, _, _)| n == name) {
        return bad("name is already taken");
    }
    if custom.keywords.is_empty() {
        return bad("has no keywords");
    }
    Ok(())
}

// ---------------------------------------------------------------- negation

/// Decides whether a lead keyword is negated within its clause.
#[derive(Debug)]
struct Negation {
    /// "geen interesse", "not interested": anywhere earlier in the clause.
    strong: Regex,
    /// "geen", "not": only among the two words right before the keyword, so
    /// "is there no way to become a reseller?" still counts as a lead.
    weak: Regex,
    clause_break: Regex,
}

impl Negation {
    const WEAK_WINDOW_WORDS: usize = 2;

    fn new(extra: &[String]) -> Result<Negation, RulesError> {
        let strong = table_keywords(lexicon::NEGATION_STRONG)
            .map(|k| -> &str { k })
            .chain(extra.iter().map(String::as_str));
        Ok(Negation {
            strong: compile_keywords(LEAD_NEGATED, strong)?,
            weak: compile_keywords(LEAD_NEGATED, table_keywords(lexicon::NEGATION_WEAK))?,
            clause_break: compile_keywords(LEAD_NEGATED, table_keywords(lexicon::CLAUSE_BREAK))?,
        })
    }

    fn negates(&self, norm: &str, at: usize) -> bool {
        let clause = self.clause_before(norm, at);
        self.strong.is_match(clause) || self.weak_near(clause, Self::WEAK_WINDOW_WORDS)
    }

    /// Whether one of the `words` words right before `at` is a negation.
    fn negated_nearby(&self, norm: &str, at: usize, words: usize) -> bool {
        self.weak_near(self.clause_before(norm, at), words)
    }

    /// The text from the start of the clause that contains `at` up to `at`.
    fn clause_before<'a>(&self, norm: &'a str, at: usize) -> &'a str {
        let Some(before) = norm.get(..at) else {
            return "";
        };
        let clause_start = before
            .rfind(['.', '!', '?', ';', ',', ':', '\n'])
            .map_or(0, |i| i + 1);
        let clause = &before[clause_start..];
        match self.clause_break.find_iter(clause).last() {
            Some(m) => &clause[m.end()..],
            None => clause,
        }
    }

    fn weak_near(&self, clause: &str, words: usize) -> bool {
        let near = clause.trim_end();
        let start = near
            .char_indices()
            .rev()
            .filter(|(_, c)| c.is_whitespace())
            .nth(words.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        self.weak.is_match(&near[start..])
    }
}

#[cfg(test)]
mod tests;
