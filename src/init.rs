//! `replyd init`: a first `replyd.toml` for a brand, from three answers
//! (its name, the languages it writes in, the platforms replyd connects to
//! itself).
//!
//! The file is cut from `replyd.example.toml`, so every key and the reason
//! for it are written once: init swaps the example brand's own values for
//! the answers and leaves everything else as the example explains it.

use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::config::MetaPlatform;
use crate::domain::Lang;

const EXAMPLE: &str = include_str!("../replyd.example.toml");

/// The platforms replyd connects to without a bridge of the brand's own.
const CONNECTED: [MetaPlatform; 2] = [MetaPlatform::Facebook, MetaPlatform::Instagram];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown language `{0}`: replyd writes {valid}", valid = names(Lang::ALL))]
    UnknownLanguage(String),
    #[error("no language given: name at least one of {}", names(Lang::ALL))]
    NoLanguage,
    #[error(
        "unknown platform `{0}`: replyd connects {valid} itself; any other platform posts its \
         messages to POST /v1/messages and takes its actions through a [[connectors.webhook]] \
         (explained in the written file)",
        valid = names(&CONNECTED)
    )]
    UnknownPlatform(String),
    #[error("the brand name must be one line of at most 100 characters")]
    BrandName,
    #[error("standard input is not a terminal, so nothing can be asked: pass {0}, or --yes to take the defaults")]
    NotInteractive(String),
    #[error("reading an answer: {0}")]
    Prompt(#[source] std::io::Error),
}

/// What the written file is tailored to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Empty: replies are worded without a name.
    pub brand_name: String,
    pub languages: Vec<Lang>,
    pub platforms: Vec<MetaPlatform>,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            brand_name: String::new(),
            languages: vec![Lang::En],
            platforms: Vec::new(),
        }
    }
}

/// The answers as given on the command line; `None` is not given.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub brand_name: Option<String>,
    pub languages: Option<String>,
    pub platforms: Option<String>,
}

fn names<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Items of a list as people type them: `nl,en`, `nl, en` or `nl en`.
fn items(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split([',', ' ', '\t'])
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
}

pub fn parse_brand_name(name: &str) -> Result<String, InitError> {
    let name = name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(InitError::BrandName);
    }
    Ok(name.to_owned())
}

/// Languages by code (`nl`) or tag (`nl-BE`), each once, in the order given.
pub fn parse_languages(list: &str) -> Result<Vec<Lang>, InitError> {
    let mut languages = Vec::new();
    for item in items(list) {
        let lang = Lang::from_tag(&item).ok_or(InitError::UnknownLanguage(item))?;
        if !languages.contains(&lang) {
            languages.push(lang);
        }
    }
    if languages.is_empty() {
        return Err(InitError::NoLanguage);
    }
    Ok(languages)
}

/// Platforms replyd connects itself, each once; an empty list is none.
pub fn parse_platforms(list: &str) -> Result<Vec<MetaPlatform>, InitError> {
    let mut platforms = Vec::new();
    for item in items(list) {
        let platform = CONNECTED
            .into_iter()
            .find(|p| p.as_str() == item)
            .ok_or(InitError::UnknownPlatform(item))?;
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    Ok(platforms)
}

/// The answers from the flags, asking on `terminal` (a prompt on stderr,
/// an answer on stdin) for whatever they leave open. Without a terminal,
/// the open questions take their defaults only when `defaults` says so, so
/// a script never writes a file it did not mean to.
pub fn answers(
    given: &Given,
    defaults: bool,
    terminal: Option<&mut dyn BufRead>,
) -> Result<Answers, InitError> {
    let fallback = Answers::default();
    let open: Vec<&str> = [
        (given.brand_name.is_none(), "--brand-name"),
        (given.languages.is_none(), "--languages"),
        (given.platforms.is_none(), "--platforms"),
    ]
    .into_iter()
    .filter_map(|(open, flag)| open.then_some(flag))
    .collect();
    let mut terminal = match terminal {
        _ if defaults || open.is_empty() => None,
        Some(terminal) => Some(terminal),
        None => return Err(InitError::NotInteractive(open.join(", "))),
    };
    let brand_name = settle(
        &given.brand_name,
        &mut terminal,
        "Brand name, as replies should say it (empty: replies name no brand)",
        "",
        parse_brand_name,
    )?
    .unwrap_or(fallback.brand_name);
    let languages = settle(
        &given.languages,
        &mut terminal,
        &format!(
            "Languages the brand writes in, of {} (customers are answered in their own)",
            names(Lang::ALL)
        ),
        &names(&fallback.languages),
        parse_languages,
    )?
    .unwrap_or(fallback.languages);
    let platforms = settle(
        &given.platforms,
        &mut terminal,
        &format!(
            "Platforms replyd connects to itself, of {} (empty: none yet)",
            names(&CONNECTED)
        ),
        "",
        parse_platforms,
    )?
    .unwrap_or(fallback.platforms);
    Ok(Answers {
        brand_name,
        languages,
        platforms,
    })
}

/// One answer: the flag's value, else what the terminal answers, parsed;
/// none when neither gives one (the default applies). A typo at a terminal
/// is asked again there, not by running init again; a bad flag is an error.
fn settle<T>(
    given: &Option<String>,
    terminal: &mut Option<&mut dyn BufRead>,
    question: &str,
    default: &str,
    parse: fn(&str) -> Result<T, InitError>,
) -> Result<Option<T>, InitError> {
    if let Some(value) = given {
        return parse(value).map(Some);
    }
    let Some(input) = terminal.as_deref_mut() else {
        return Ok(None);
    };
    loop {
        match parse(&ask(input, question, default)?) {
            Ok(value) => return Ok(Some(value)),
            Err(e) => eprintln!("{e}"),
        }
    }
}

fn ask(input: &mut dyn BufRead, question: &str, default: &str) -> Result<String, InitError> {
    let mut err = std::io::stderr().lock();
    let shown = if default.is_empty() {
        String::new()
    } else {
        format!(" [{default}]")
    };
    write!(err, "{question}{shown}: ")
        .and_then(|()| err.flush())
        .map_err(InitError::Prompt)?;
    let mut line = String::new();
    if input.read_line(&mut line).map_err(InitError::Prompt)? == 0 {
        return Err(InitError::Prompt(std::io::ErrorKind::UnexpectedEof.into()));
    }
    let line = line.trim();
    Ok(if line.is_empty() { default } else { line }.to_owned())
}

/// The example's own values and passages, each replaced once. A change to
/// the example that drops one fails the tests, not a user's init.
fn replace_once(text: &mut String, from: &str, to: &str) {
    assert_eq!(
        text.matches(from).count(),
        1,
        "replyd.example.toml no longer holds `{from}` once; update src/init.rs"
    );
    *text = text.replacen(from, to, 1);
}

/// The file for `answers`: the example with the brand's answers in place
/// of the example brand's.
pub fn render(answers: &Answers) -> String {
    let mut text = EXAMPLE.to_owned();
    let brand = &answers.brand_name;
    let languages = names(&answers.languages);
    let platforms = if answers.platforms.is_empty() {
        "none yet".to_owned()
    } else {
        names(&answers.platforms)
    };
    replace_once(
        &mut text,
        "# replyd configuration. Copy to replyd.toml (read from the working directory\n\
         # by default, or pass --config FILE).",
        &format!(
            "# replyd configuration, written by `replyd init` for {}\n\
             # (languages: {languages}; platforms: {platforms}). `replyd check` says what\n\
             # it turns on and what is missing: run it after every change. replyd\n\
             # reads ./replyd.toml by default, or the file --config names.",
            if brand.is_empty() {
                "a brand without a name"
            } else {
                brand
            }
        ),
    );

    let name_line = if brand.is_empty() {
        "# name = \"Your brand\"".to_owned()
    } else {
        format!("name = {}", toml::Value::String(brand.clone()))
    };
    replace_once(&mut text, "name = \"Fietsie\"", &name_line);
    let sign_off = if brand.is_empty() {
        "Team Your brand".to_owned()
    } else {
        format!("Team {brand}")
    };
    replace_once(
        &mut text,
        "# sign_off = \"Team Fietsie\"",
        &format!("# sign_off = {}", toml::Value::String(sign_off)),
    );
    if !answers.languages.contains(&Lang::Nl) {
        replace_once(
            &mut text,
            "dutch_address = \"je\"\n",
            "# The brand writes no Dutch, but Dutch customers are answered in Dutch.\n\
             # dutch_address = \"je\"\n",
        );
    }
    // The example brand's domain: a new brand allows its own, or none, so
    // a link nobody chose holds the draft.
    replace_once(
        &mut text,
        "allowed_link_domains = [\"fietsie.nl\"]",
        "allowed_link_domains = []    # e.g. [\"yourbrand.com\"]",
    );

    let samples_start = text
        .find("#\n# The ids below are those of the samples")
        .expect("replyd.example.toml names the samples' pages; update src/init.rs");
    let samples_end = samples_start
        + text[samples_start..]
            .find("\n\n")
            .expect("a blank line after the Meta pages");
    let pages = meta_pages(&answers.platforms);
    text.replace_range(samples_start..samples_end, &pages);
    text
}

/// Commented `[[meta.pages]]`, one per platform asked for (a Facebook one
/// to show the shape when none was), with why they stay commented.
fn meta_pages(platforms: &[MetaPlatform]) -> String {
    let mut out = String::from(
        "#\n\
         # Commented out until the app secret and each page's token are at hand\n\
         # (README, \"Meta\"): until then these platforms run dry, their actions\n\
         # decided and recorded but not sent, and `replyd check` says so.\n",
    );
    let shown = if platforms.is_empty() {
        &[MetaPlatform::Facebook][..]
    } else {
        platforms
    };
    for (i, platform) in shown.iter().enumerate() {
        let id_hint = match platform {
            MetaPlatform::Facebook => "the Facebook page's numeric id",
            MetaPlatform::Instagram => "the Instagram professional account's numeric id",
        };
        let token_hint = match platform {
            MetaPlatform::Facebook => "a long-lived page access token",
            MetaPlatform::Instagram => "the access token of its linked Facebook page",
        };
        out.push_str(&format!(
            "# [[meta.pages]]\n\
             # id = \"...\"              # {id_hint}\n\
             # platform = \"{platform}\"\n\
             # access_token = \"...\"    # {token_hint}\n"
        ));
        if i == 0 {
            out.push_str(
                "# calls_per_minute = 100  # replaces meta.calls_per_minute for this page\n",
            );
        }
    }
    out.pop();
    out
}

/// Writes `text` to `path`, never over an existing file unless `force`.
pub fn write(path: &Path, text: &str, force: bool) -> Result<(), InitError> {
    let write_error = |source| InitError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Checked and created in one step: nothing can appear in between.
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists(path.to_owned())
        } else {
            write_error(e)
        }
    })?;
    file.write_all(text.as_bytes()).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};

    fn load(text: &str) -> Config {
        Config::from_sources(
            Path::new("replyd.toml"),
            text,
            std::iter::empty(),
            &Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn every_answer_makes_a_file_the_loader_takes() {
        for answers in [
            Answers::default(),
            Answers {
                brand_name: "Bakkerij \"De Korst\" & Zn".into(),
                languages: vec![Lang::Nl, Lang::En],
                platforms: vec![MetaPlatform::Facebook, MetaPlatform::Instagram],
            },
            Answers {
                brand_name: "Vélo".into(),
                languages: vec![Lang::Fr],
                platforms: vec![MetaPlatform::Instagram],
            },
        ] {
            let text = render(&answers);
            let config = load(&text);
            assert_eq!(config.brand.name, answers.brand_name);
            assert!(
                config.llm.is_none(),
                "templates only until an LLM is chosen"
            );
            assert!(config.meta.is_none(), "no page before its token is at hand");
            assert!(config.guardrails.allowed_link_domains.is_empty());
            assert!(!text.contains("Fietsie"), "{text}");
            assert!(!text.contains("tests/fixtures"), "{text}");
            for platform in &answers.platforms {
                assert!(
                    text.contains(&format!("# platform = \"{platform}\"")),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn dutch_address_is_set_only_for_a_brand_that_writes_dutch() {
        let dutch = render(&Answers {
            languages: vec![Lang::Nl],
            ..Answers::default()
        });
        assert!(dutch.contains("\ndutch_address = \"je\""));
        let english = render(&Answers::default());
        assert!(english.contains("\n# dutch_address = \"je\""));
    }

    #[test]
    fn answers_are_checked_and_named() {
        assert_eq!(
            parse_languages("NL, en nl-BE").unwrap(),
            vec![Lang::Nl, Lang::En]
        );
        let err = parse_languages("nl,klingon").unwrap_err().to_string();
        assert!(
            err.contains("`klingon`") && err.contains("nl, en, de, fr, es"),
            "{err}"
        );
        assert!(matches!(parse_languages(" , "), Err(InitError::NoLanguage)));
        assert!(parse_platforms("").unwrap().is_empty());
        let err = parse_platforms("facebok").unwrap_err().to_string();
        assert!(
            err.contains("`facebok`") && err.contains("facebook, instagram"),
            "{err}"
        );
        assert!(parse_brand_name("two\nlines").is_err());
    }

    #[test]
    fn a_terminal_is_asked_what_the_flags_leave_open_until_it_answers_well() {
        let given = Given {
            brand_name: Some("Fietsie".into()),
            ..Given::default()
        };
        let mut typed = std::io::Cursor::new("klingon\nnl,en\n\n");
        let answers = answers(&given, false, Some(&mut typed)).unwrap();
        assert_eq!(answers.brand_name, "Fietsie");
        assert_eq!(answers.languages, vec![Lang::Nl, Lang::En]);
        assert!(answers.platforms.is_empty());
    }

    #[test]
    fn without_a_terminal_open_questions_need_flags_or_yes() {
        let given = Given {
            languages: Some("nl".into()),
            ..Given::default()
        };
        let err = answers(&given, false, None).unwrap_err().to_string();
        assert!(err.contains("--brand-name, --platforms"), "{err}");
        let answers = answers(&given, true, None).unwrap();
        assert_eq!(answers.languages, vec![Lang::Nl]);
        assert_eq!(answers.brand_name, "");
    }
}
