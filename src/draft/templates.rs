//! Reply templates: one TOML file per language in `prompts/replies/`, each
//! key a list of minijinja variants. The defaults are built into the binary;
//! a configured directory replaces any language file it holds.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;
use serde::{Deserialize, Serialize};

use crate::config::{BrandConfig, DutchAddress};
use crate::domain::{Kind, Lang, Platform};

use super::guardrails::linked_hosts;
use crate::classify::rules;

const BUILTIN: &[(Lang, &str)] = &[
    (Lang::En, include_str!("../../prompts/replies/en.toml")),
    (Lang::Nl, include_str!("../../prompts/replies/nl.toml")),
    (Lang::De, include_str!("../../prompts/replies/de.toml")),
    (Lang::Fr, include_str!("../../prompts/replies/fr.toml")),
    (Lang::Es, include_str!("../../prompts/replies/es.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template file {file}: {message}")]
    File { file: String, message: String },
    #[error("template {name} ({lang}) variant {variant}: {message}")]
    Syntax {
        name: String,
        lang: Lang,
        variant: usize,
        message: String,
    },
    #[error("no template `{0}` in English, the fallback language")]
    Missing(String),
    #[error("rendering {name}: {message}")]
    Render { name: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    variants: Vec<String>,
}

/// What a template can refer to.
#[derive(Debug, Clone)]
pub struct DraftContext<'a> {
    pub author_name: Option<&'a str>,
    pub platform: &'a Platform,
    pub kind: Kind,
    /// Picks the variant, so the same message always gets the same draft.
    pub seed: &'a str,
    /// A fact from the facts file, for templates that answer.
    pub answer: Option<&'a str>,
    /// The customer's words; short praise is quoted back.
    pub message_text: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub text: String,
    pub lang: Lang,
    /// `template:<name>#<variant>`.
    pub source: String,
}

pub struct Templates {
    env: Environment<'static>,
    /// Variant counts per (language, name).
    variants: BTreeMap<(Lang, String), usize>,
    brand: BrandConfig,
    /// `question.<name>` templates listed as `questions` to `prequalify.*`.
    questions: Vec<String>,
}

impl Templates {
    pub fn load(dir: Option<&Path>, brand: BrandConfig) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut variants = BTreeMap::new();
        for (lang, builtin) in BUILTIN {
            let file_name = format!("{lang}.toml");
            let (text, origin) = match dir.map(|d| d.join(&file_name)).filter(|p| p.exists()) {
                Some(path) => (
                    std::fs::read_to_string(&path).map_err(|e| TemplateError::File {
                        file: path.display().to_string(),
                        message: e.to_string(),
                    })?,
                    path.display().to_string(),
                ),
                None => ((*builtin).to_owned(), format!("built-in {file_name}")),
            };
            let table: BTreeMap<String, BTreeMap<String, Entry>> =
                toml::from_str(&text).map_err(|e| TemplateError::File {
                    file: origin.clone(),
                    message: e.to_string(),
                })?;
            for (group, entries) in table {
                for (key, entry) in entries {
                    let name = format!("{group}.{key}");
                    for (i, source) in entry.variants.into_iter().enumerate() {
                        env.add_template_owned(format!("{lang}/{name}#{i}"), source)
                            .map_err(|e| TemplateError::Syntax {
                                name: name.clone(),
                                lang: *lang,
                                variant: i,
                                message: e.to_string(),
                            })?;
                        *variants.entry((*lang, name.clone())).or_insert(0) += 1;
                    }
                }
            }
        }
        if let Some(dir) = dir {
            // English is every other language's fallback: a custom `en.toml`
            // lacking a template the playbook uses would fail each message
            // that needs it, so it is refused here, at start.
            let builtin: BTreeMap<String, BTreeMap<String, Entry>> =
                toml::from_str(BUILTIN[0].1).expect("the built-in en.toml parses");
            let missing = builtin.iter().flat_map(|(group, entries)| {
                entries.keys().map(move |key| format!("{group}.{key}"))
            });
            for name in missing {
                if !variants.contains_key(&(Lang::En, name.clone())) {
                    return Err(TemplateError::File {
                        file: dir.join("en.toml").display().to_string(),
                        message: format!(
                            "no `{name}`, which the playbook uses (English is the fallback of every language; copy it from the built-in prompts/replies/en.toml)"
                        ),
                    });
                }
            }
        }
        Ok(Templates {
            env,
            variants,
            brand,
            questions: Vec::new(),
        })
    }

    /// Sets the questions a pre-qualifying message asks (`[leads] questions`);
    /// each must have a `question.<name>` template, at least in English.
    pub fn with_questions(mut self, questions: &[String]) -> Result<Templates, TemplateError> {
        for q in questions {
            let name = format!("question.{q}");
            if !self.variants.contains_key(&(Lang::En, name.clone())) {
                return Err(TemplateError::Missing(name));
            }
        }
        self.questions = questions.to_vec();
        Ok(self)
    }

    /// Renders `name` in `lang`, falling back to English when the language
    /// has no such template.
    pub fn render(
        &self,
        name: &str,
        lang: Option<Lang>,
        ctx: &DraftContext<'_>,
    ) -> Result<Draft, TemplateError> {
        let wanted = lang.unwrap_or(Lang::En);
        let (lang, count) = [wanted, Lang::En]
            .into_iter()
            .find_map(|l| self.variants.get(&(l, name.to_owned())).map(|n| (l, *n)))
            .ok_or_else(|| TemplateError::Missing(name.to_owned()))?;
        let variant = (fnv1a(ctx.seed) % count as u64) as usize;
        let template_name = format!("{lang}/{name}#{variant}");
        let template =
            self.env
                .get_template(&template_name)
                .map_err(|e| TemplateError::Render {
                    name: template_name.clone(),
                    message: e.to_string(),
                })?;
        // Only a pre-qualifying message lists the questions: render them
        // (in the message's language) just for it.
        let questions = if name.starts_with("prequalify.") {
            self.questions
                .iter()
                .map(|q| {
                    self.render(&format!("question.{q}"), Some(lang), ctx)
                        .map(|d| d.text)
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let name_known = greeting_name(ctx.author_name);
        let mut text = template
            .render(self.variables(ctx, name_known.as_deref(), questions))
            .map_err(|e| TemplateError::Render {
                name: template_name.clone(),
                message: e.to_string(),
            })?;
        if name_known.is_none() {
            text = without_name(&text);
        }
        // A question is a part of a message, not a message: no sign-off.
        let part = name.starts_with("question.");
        if let Some(sign_off) = self.brand.sign_off.as_ref().filter(|_| !part) {
            text.push_str("\n– ");
            text.push_str(sign_off);
        }
        Ok(Draft {
            text,
            lang,
            source: format!("template:{name}#{variant}"),
        })
    }
}

/// The variables a reply template (and a saved reply) may use.
pub const VARIABLES: &[&str] = &[
    "name",
    "brand",
    "emoji",
    "formal",
    "channel",
    "platform",
    "answer",
    "quote",
    "questions",
];

/// Why a saved reply's text cannot be rendered as a template: a syntax
/// error, or a variable templates do not have; `Ok` when it renders.
pub fn check_saved_text(source: &str) -> Result<(), String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("saved", source)
        .map_err(|e| format!("the text is not a valid template: {e}"))?;
    let template = env.get_template("saved").map_err(|e| e.to_string())?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(format!(
            "unknown variable{} {} (templates have: {})",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            VARIABLES.join(", ")
        ));
    }
    template
        .render(minijinja::context! {
            name => "Sam",
            brand => "Brand",
            emoji => true,
            formal => false,
            channel => "DM",
            platform => "facebook",
            answer => "an answer",
            quote => "a quote",
            questions => vec!["a question?"],
        })
        .map(|_| ())
        .map_err(|e| format!("the text does not render: {e}"))
}

impl Templates {
    /// What a template or a saved reply may say of the message and the
    /// brand: the same variables for both.
    fn variables(
        &self,
        ctx: &DraftContext<'_>,
        name_known: Option<&str>,
        questions: Vec<String>,
    ) -> minijinja::Value {
        // In a DM the conversation is already private: "send us a message".
        let channel = if ctx.kind == Kind::Dm {
            "message"
        } else {
            self.brand.channel.as_str()
        };
        minijinja::context! {
            name => name_known.unwrap_or(NO_NAME),
            brand => self.brand.name,
            emoji => self.brand.emoji,
            formal => self.brand.dutch_address == DutchAddress::U,
            channel => channel,
            platform => ctx.platform.as_str(),
            answer => ctx.answer.unwrap_or_default(),
            quote => quotable(ctx.message_text),
            questions => questions,
        }
    }

    /// Renders a saved reply's text for a message, with the variables the
    /// templates have (no questions, no sign-off: the person goes on).
    pub fn render_saved(&self, source: &str, ctx: &DraftContext<'_>) -> Result<String, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let name_known = greeting_name(ctx.author_name);
        let text = env
            .render_str(
                source,
                self.variables(ctx, name_known.as_deref(), Vec::new()),
            )
            .map_err(|e| e.to_string())?;
        Ok(if name_known.is_none() {
            without_name(&text)
        } else {
            text
        })
    }
}

/// The first name, as people address each other in comments. None when
/// unknown: "there" reads oddly in other languages, so the greeting goes
/// without (see [`without_name`]).
fn greeting_name(name: Option<&str>) -> Option<String> {
    name.and_then(|n| n.split_whitespace().next())
        .map(|first| first.trim_start_matches('@').to_owned())
        .filter(|first| !first.is_empty())
}

/// Stands in for an unknown name while rendering (a private-use character,
/// never in a template), so [`without_name`] can find where it was.
const NO_NAME: &str = "\u{E000}";

/// The text with the stand-in for an unknown name taken out together with
/// the punctuation that only served it: "Hi NAME, thanks" becomes "Hi,
/// thanks", "Thanks, NAME!" becomes "Thanks!", and a reply that opened
/// with "NAME, we" opens with "We". Every template, in every language,
/// reads without a name this way, and a brand's own templates need no
/// `{% if name %}` around it.
fn without_name(text: &str) -> String {
    let mut text = text
        .replace(&format!(", {NO_NAME}, "), ", ")
        .replace(&format!(", {NO_NAME} "), " ")
        .replace(&format!(", {NO_NAME}"), "")
        .replace(&format!(" {NO_NAME}"), "");
    if let Some(rest) = text.strip_prefix(&format!("{NO_NAME}, ")) {
        let mut chars = rest.chars();
        text = chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
    }
    text.replace(NO_NAME, "")
}

/// Short words of praise, to refer back to in the thank-you ("“Best bike
/// ever!” made our day"). Longer texts, links and domains (spam posing as
/// praise: "Love it! Buy followers at growfast.ru"), mentions and anything
/// with digits (possible personal data) are not quoted, nor is a swear word
/// ("Fucking brilliant bikes"), which the brand would then say itself.
fn quotable(text: &str) -> String {
    let text = text.trim();
    let words = text.split_whitespace().count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let risky = text.contains("http")
        || text.contains('@')
        || text.chars().any(|c| c.is_ascii_digit())
        || !linked_hosts(text).is_empty()
        || rules::insult(text).is_some();
    if (2..=10).contains(&words) && letters >= 8 && text.chars().count() <= 70 && !risky {
        text.to_owned()
    } else {
        String::new()
    }
}

/// A stable hash (unlike `DefaultHasher`, the same across releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_english_file_must_hold_every_template_the_playbook_uses() {
        let dir = tempfile::tempdir().unwrap();
        let full = BUILTIN[0].1;
        std::fs::write(dir.path().join("en.toml"), full).unwrap();
        Templates::load(Some(dir.path()), BrandConfig::default()).unwrap();

        let without_praise = full.replace("[thank.praise]", "[thank.praise_renamed]");
        assert_ne!(without_praise, full, "the built-in file has a thank.praise");
        std::fs::write(dir.path().join("en.toml"), without_praise).unwrap();
        let error = Templates::load(Some(dir.path()), BrandConfig::default())
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("en.toml") && error.contains("`thank.praise`"),
            "{error}"
        );
        // Other languages fall back to English, so they may leave keys out.
        std::fs::write(dir.path().join("en.toml"), full).unwrap();
        std::fs::write(
            dir.path().join("nl.toml"),
            "[thank.praise]\nvariants = [\"Dank je!\"]\n",
        )
        .unwrap();
        Templates::load(Some(dir.path()), BrandConfig::default()).unwrap();
    }

    fn ctx<'a>(platform: &'a Platform, name: Option<&'a str>) -> DraftContext<'a> {
        DraftContext {
            author_name: name,
            platform,
            kind: Kind::Comment,
            seed: "m1",
            answer: None,
            message_text: "Mijn fiets is kapot aangekomen",
        }
    }

    #[test]
    fn every_language_has_every_english_template() {
        let templates = Templates::load(None, BrandConfig::default()).unwrap();
        let english: Vec<&String> = templates
            .variants
            .keys()
            .filter(|(l, _)| *l == Lang::En)
            .map(|(_, n)| n)
            .collect();
        for lang in Lang::ALL {
            for name in &english {
                assert!(
                    templates.variants.contains_key(&(*lang, (*name).clone())),
                    "{lang} lacks {name}"
                );
            }
        }
    }

    #[test]
    fn dutch_form_of_address_follows_the_brand() {
        let platform: Platform = "facebook".parse().unwrap();
        let formal = BrandConfig {
            dutch_address: DutchAddress::U,
            ..BrandConfig::default()
        };
        let u = Templates::load(None, formal).unwrap();
        let draft = u
            .render(
                "acknowledge.complaint",
                Some(Lang::Nl),
                &ctx(&platform, Some("Sanne de Vries")),
            )
            .unwrap();
        assert!(draft.text.contains("uw bestelnummer"), "{}", draft.text);
        assert!(draft.text.contains("Sanne"), "{}", draft.text);
        let je = Templates::load(None, BrandConfig::default()).unwrap();
        let draft = je
            .render(
                "acknowledge.complaint",
                Some(Lang::Nl),
                &ctx(&platform, Some("Sanne")),
            )
            .unwrap();
        assert!(draft.text.contains("je bestelnummer"), "{}", draft.text);
    }

    #[test]
    fn unknown_language_falls_back_to_english() {
        let platform: Platform = "shop".parse().unwrap();
        let templates = Templates::load(None, BrandConfig::default()).unwrap();
        let draft = templates
            .render("thank.praise", None, &ctx(&platform, None))
            .unwrap();
        assert_eq!(draft.lang, Lang::En);
        assert!(draft.source.starts_with("template:thank.praise#"));
    }

    #[test]
    fn a_saved_text_is_checked_like_a_template() {
        assert!(check_saved_text("Hi {{ name }}, thanks from {{ brand }}!").is_ok());
        let unknown = check_saved_text("Hi {{ customer }}").unwrap_err();
        assert!(unknown.contains("`customer`"), "{unknown}");
        let syntax = check_saved_text("Hi {{ name ").unwrap_err();
        assert!(syntax.contains("not a valid template"), "{syntax}");
        let t = Templates::load(None, BrandConfig::default()).unwrap();
        let platform: Platform = "facebook".parse().unwrap();
        let text = t
            .render_saved("Hi {{ name }}!", &ctx(&platform, Some("Sam Jones")))
            .unwrap();
        assert_eq!(text, "Hi Sam!");
    }

    #[test]
    fn a_broken_override_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nl.toml"),
            "[acknowledge.complaint]\nvariants = [\"{{ name \"]\n",
        )
        .unwrap();
        let err = Templates::load(Some(dir.path()), BrandConfig::default())
            .err()
            .expect("broken template rejected")
            .to_string();
        assert!(err.contains("acknowledge.complaint"), "{err}");
    }

    #[test]
    fn praise_naming_a_site_or_swearing_is_not_quoted_back() {
        let platform: Platform = "instagram".parse().unwrap();
        let templates = Templates::load(None, BrandConfig::default()).unwrap();
        for (text, quoted) in [
            ("Love it! Buy followers at growfast.ru", false),
            ("Great bikes, see deals.xyz for cheaper", false),
            ("Fucking brilliant bikes, way better than the rest", false),
            ("Echt kut goed, die nieuwe fiets van jullie", false),
            ("Best bike I ever owned, love it!", true),
        ] {
            let ctx = DraftContext {
                message_text: text,
                ..ctx(&platform, Some("Sanne"))
            };
            for seed in ["a", "b", "c", "d"] {
                let draft = templates
                    .render(
                        "thank.praise",
                        Some(Lang::En),
                        &DraftContext {
                            seed,
                            ..ctx.clone()
                        },
                    )
                    .unwrap();
                if quoted {
                    assert!(draft.text.contains(text), "{}", draft.text);
                } else {
                    assert!(
                        !draft.text.contains(text)
                            && !draft.text.contains(".ru")
                            && !draft.text.contains(".xyz"),
                        "{}",
                        draft.text
                    );
                }
            }
        }
    }

    /// A word list that reads ordinary words as money or links ("l'avoir",
    /// "vale", "e.g.") would hold the brand's own replies.
    /// A seed that picks `variant` of `count`.
    fn seed_for(variant: usize, count: usize) -> String {
        (0..)
            .map(|i| format!("s{i}"))
            .find(|s| fnv1a(s) % count as u64 == variant as u64)
            .unwrap()
    }

    #[test]
    fn every_built_in_template_reads_well_without_a_name() {
        let questions: Vec<String> = ["company", "budget"].map(String::from).to_vec();
        let templates = Templates::load(None, BrandConfig::default())
            .unwrap()
            .with_questions(&questions)
            .unwrap();
        let platform: Platform = "facebook".parse().unwrap();
        for ((lang, name), count) in &templates.variants {
            for variant in 0..*count {
                let seed = seed_for(variant, *count);
                let ctx = DraftContext {
                    seed: &seed,
                    answer: Some("We're open from 9:00 to 18:00."),
                    ..ctx(&platform, None)
                };
                let text = templates.render(name, Some(*lang), &ctx).unwrap().text;
                let at = format!("{lang} {name}#{variant}: {text:?}");
                assert!(!text.contains(NO_NAME), "{at}");
                for artifact in [" ,", ",,", ", ,", ", !", ", .", "  ", "( "] {
                    assert!(!text.contains(artifact), "`{artifact}` in {at}");
                }
                let first = text.chars().next().unwrap();
                assert!(!first.is_lowercase() && first != ',', "{at}");
            }
        }
        assert_eq!(without_name(&format!("{NO_NAME}, thanks!")), "Thanks!");
        // Without a contact route in the facts file, a review's apology
        // points to customer service, never to a DM.
        for lang in Lang::ALL {
            let text = templates
                .render("review.complaint", Some(*lang), &ctx(&platform, None))
                .unwrap()
                .text;
            assert!(!text.contains("DM"), "{lang}: {text}");
        }
        // Without a brand name, the lead's welcome reads without one.
        for lang in Lang::ALL {
            let text = templates
                .render("prequalify.lead", Some(*lang), &ctx(&platform, None))
                .unwrap()
                .text;
            assert!(!text.contains("our team"), "{lang}: {text}");
            assert!(
                !text.contains(" ,") && !text.contains("  "),
                "{lang}: {text}"
            );
        }
        assert_eq!(
            without_name(&format!("Merci beaucoup, {NO_NAME} !")),
            "Merci beaucoup !"
        );
    }

    /// The model reads every outgoing text, templates included: a built-in
    /// apology it takes for hostile would hold every complaint's answer
    /// (one Dutch "wat vervelend" did).
    #[tokio::test]
    async fn every_built_in_template_passes_the_models_reading() {
        use std::sync::Arc;

        use crate::classify::rules::Rules;
        use crate::draft::guardrails::Purpose;

        let config = crate::config::Config::default();
        let rules = Arc::new(Rules::builtin());
        let classifier = crate::app::build_classifier(&config, rules.clone())
            .await
            .expect("the model is fetched (tests/run does it first)");
        let drafter = crate::app::build_drafter(&config, rules, Some(classifier)).unwrap();
        let platform: Platform = "facebook".parse().unwrap();
        for ((lang, name), count) in &drafter.templates.variants {
            for variant in 0..*count {
                let seed = seed_for(variant, *count);
                let ctx = DraftContext {
                    seed: &seed,
                    answer: Some("We're open from 9:00 to 18:00."),
                    message_text: "Fantastic service, great bikes!",
                    ..ctx(&platform, Some("Sanne"))
                };
                let text = drafter
                    .templates
                    .render(name, Some(*lang), &ctx)
                    .unwrap()
                    .text;
                let failures = drafter
                    .model_failures(&text, Purpose::of_template(name))
                    .await
                    .unwrap();
                assert!(
                    failures.is_empty(),
                    "{lang} {name}#{variant}: {failures:?}\n{text}"
                );
            }
        }
    }

    #[test]
    fn every_built_in_template_passes_the_guardrails() {
        use std::sync::Arc;

        use crate::classify::rules::Rules;
        use crate::draft::guardrails::Purpose;
        use crate::draft::guardrails::{DraftCheck, GuardrailConfig, Guardrails};

        let questions: Vec<String> = ["company", "collaboration", "budget", "timeline", "email"]
            .map(String::from)
            .to_vec();
        let templates = Templates::load(None, BrandConfig::default())
            .unwrap()
            .with_questions(&questions)
            .unwrap();
        let guardrails =
            Guardrails::new(&GuardrailConfig::default(), Arc::new(Rules::builtin())).unwrap();
        let platform: Platform = "facebook".parse().unwrap();
        let answer = "We're open from 9:00 to 18:00.";
        for ((lang, name), count) in &templates.variants {
            for variant in 0..*count {
                let seed = seed_for(variant, *count);
                let ctx = DraftContext {
                    seed: &seed,
                    answer: Some(answer),
                    // No thanks of its own: a quote must not do the thanking.
                    message_text: "Fantastic service, great bikes!",
                    ..ctx(&platform, Some("Sanne"))
                };
                let draft = templates.render(name, Some(*lang), &ctx).unwrap();
                let public = ["acknowledge.", "thank.", "answer."]
                    .iter()
                    .any(|p| name.starts_with(p));
                let failures = guardrails.check(&DraftCheck {
                    text: &draft.text,
                    expected_lang: None,
                    public,
                    platform: &platform,
                    kind: Kind::Comment,
                    message_text: ctx.message_text,
                    facts_text: answer,
                    purpose: Purpose::of_template(name),
                });
                assert!(
                    failures.is_empty(),
                    "{lang} {name}#{variant}: {failures:?}\n{}",
                    draft.text
                );
            }
        }
    }
}
