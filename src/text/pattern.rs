//! The small keyword language every word list in replyd is written in (the
//! lexicons, `[rules]` extras, `[guardrails] banned_phrases`, the facts
//! file's keywords), and its compiled matcher.
//!
//! Brands write keywords, not regexes, so the syntax stays tiny:
//!
//! | syntax        | meaning                                                  |
//! |---------------|----------------------------------------------------------|
//! | `word`        | the whole word, after [`normalize`] (case, accents)      |
//! | `sponsor*`    | any continuation: sponsoring, sponsordeal, sponsorship   |
//! | `*handel`     | any start: groothandel                                   |
//! | `a b`         | the words in a row; punctuation between them is allowed  |
//! | `a .. b`      | up to three other words in between                       |
//! | `(a\|b c)`    | alternatives                                             |
//! | `(a )?b`      | an optional group                                        |
//! | `'` and `-`   | optional: `i'll` also finds `ill`, `e-mail` `email`      |
//! | `re:…`        | a raw regex, matched against the normalised text         |
//!
//! [`normalize`]: super::normalize

use regex::{Regex, RegexBuilder};

use super::normalize::normalize;

// The character classes are ASCII on purpose: normalised text is nearly all
// ASCII, and Unicode `\w`/`\W` make the automata of a few hundred keywords
// so large that the regex engine falls off its DFA and compiles for seconds.
// A non-ASCII letter left after normalisation simply counts as a separator.

/// Between the words of a phrase: spaces and punctuation.
const SEPARATOR: &str = r"[^0-9a-z_]+";
/// The rest of a word after a `*` stem.
const WORD_REST: &str = r"[0-9a-z_]*";
/// ` .. `: up to three more words (normalised whitespace is ` ` or `\n`).
const GAP: &str = r"(?:[^ \n]+[ \n]+){0,3}?";

/// Translates one keyword into regex source, or says why it is not valid.
fn keyword_to_regex(keyword: &str) -> Result<String, String> {
    let trimmed = keyword.trim();
    if let Some(raw) = trimmed.strip_prefix("re:") {
        if raw.trim().is_empty() {
            return Err("empty regex".into());
        }
        return Ok(raw.to_owned());
    }
    let kw = normalize(trimmed);
    if kw.is_empty() {
        return Err("empty keyword".into());
    }
    if !kw.chars().any(is_literal) {
        return Err("has no literal text, it would match anything".into());
    }
    let chars: Vec<char> = kw.chars().collect();
    let mut out = String::with_capacity(kw.len() * 3);
    if starts_with_word(&chars) {
        out.push_str(r"(?-u:\b)");
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\n' => {
                out.push_str(SEPARATOR);
                if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                    match chars.get(i + 3) {
                        Some(' ') | Some('\n') => {
                            out.push_str(GAP);
                            i += 4;
                            continue;
                        }
                        None => return Err("`..` needs a word after it".into()),
                        _ => {}
                    }
                }
            }
            '.' if i == 0 && chars.get(1) == Some(&'.') => {
                return Err("`..` needs a word before it".into());
            }
            '*' => out.push_str(WORD_REST),
            '(' => {
                depth += 1;
                out.push_str("(?:");
            }
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| "unbalanced `)`".to_string())?;
                out.push(')');
                if chars.get(i + 1) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
            }
            '|' if depth == 0 => {
                return Err("alternatives need parentheses: `(a|b)`".into());
            }
            '|' => out.push('|'),
            '\'' => out.push_str("'?"),
            '-' => out.push_str("[- ]?"),
            _ => {
                let mut buf = [0u8; 4];
                out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
        i += 1;
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    if ends_with_word(&chars) {
        out.push_str(r"(?-u:\b)");
    }
    Ok(out)
}

fn is_literal(c: char) -> bool {
    !matches!(c, '*' | '(' | ')' | '|' | '.' | '\'' | '-') && !c.is_whitespace()
}

/// Word boundaries are ASCII (`(?-u:\b)`) because the normalised text is
/// nearly all ASCII and Unicode boundaries would keep the regex engine off its
/// fast DFA path; a keyword starting with another character gets none.
fn starts_with_word(chars: &[char]) -> bool {
    chars
        .iter()
        .find(|c| **c != '(')
        .is_some_and(|c| c.is_ascii_alphanumeric())
}

fn ends_with_word(chars: &[char]) -> bool {
    chars
        .iter()
        .rev()
        .find(|c| **c != ')')
        .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A keyword list that does not compile, naming the list and the keyword.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    // Worded as they were when the rules layer alone compiled keywords, so
    // what `replyd check` prints for a bad keyword anywhere stays the same.
    #[error("rules: rule `{rule}`: bad keyword `{keyword}`: {reason}")]
    BadKeyword {
        rule: String,
        keyword: String,
        reason: String,
    },
    #[error("rules: rule `{rule}` is too large to compile: {reason}")]
    TooLarge { rule: String, reason: String },
}

/// Compiles the keywords of one rule into one regex, and returns its source
/// too, for a [`regex::RegexSet`] of many rules. Errors name the keyword at
/// fault.
pub fn compile_rule<'a>(
    rule: &str,
    keywords: impl Iterator<Item = &'a str>,
) -> Result<(String, Regex), PatternError> {
    let mut parts = Vec::new();
    for kw in keywords {
        let source = keyword_to_regex(kw).map_err(|reason| PatternError::BadKeyword {
            rule: rule.to_owned(),
            keyword: kw.to_owned(),
            reason,
        })?;
        parts.push((kw, source));
    }
    let source = parts
        .iter()
        .map(|(_, s)| format!("(?:{s})"))
        .collect::<Vec<_>>()
        .join("|");
    let build = |src: &str| RegexBuilder::new(src).size_limit(32 << 20).build();
    match build(&source) {
        Ok(regex) if !regex.is_match("") => Ok((source, regex)),
        outcome => {
            // Find the keyword at fault, so the error can name it.
            for (kw, src) in &parts {
                let reason = match build(src) {
                    Err(e) => e.to_string(),
                    Ok(r) if r.is_match("") => "matches empty text".to_owned(),
                    Ok(_) => continue,
                };
                return Err(PatternError::BadKeyword {
                    rule: rule.to_owned(),
                    keyword: (*kw).to_owned(),
                    reason,
                });
            }
            Err(PatternError::TooLarge {
                rule: rule.to_owned(),
                reason: outcome
                    .err()
                    .map_or_else(|| "matches empty text".to_owned(), |e| e.to_string()),
            })
        }
    }
}

/// Compiles keywords into one regex over [`normalize`]d text, for a module's
/// own cue list.
pub fn compile_keywords<'a>(
    name: &str,
    keywords: impl IntoIterator<Item = &'a str>,
) -> Result<Regex, PatternError> {
    Ok(compile_rule(name, keywords.into_iter())?.1)
}

/// Keywords compiled into one matcher: the guardrails' lists and the facts
/// file's keywords, found in text already [`normalize`]d.
#[derive(Debug, Clone)]
pub struct KeywordList {
    regex: Regex,
}

impl KeywordList {
    /// `name` only labels errors.
    pub fn new<S: AsRef<str>>(name: &str, keywords: &[S]) -> Result<KeywordList, PatternError> {
        if keywords.is_empty() {
            let never = Regex::new(r"[^\s\S]").expect("valid regex");
            return Ok(KeywordList { regex: never });
        }
        let (_, regex) = compile_rule(name, keywords.iter().map(|k| k.as_ref()))?;
        Ok(KeywordList { regex })
    }

    /// The first match in text that is already [`normalize`]d.
    pub fn find<'t>(&self, normalized: &'t str) -> Option<&'t str> {
        self.regex.find(normalized).map(|m| m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::keyword_to_regex;
    use regex::Regex;

    fn matches(keyword: &str, text: &str) -> bool {
        let src = keyword_to_regex(keyword).expect("valid keyword");
        Regex::new(&src)
            .expect("compiles")
            .is_match(&super::normalize(text))
    }

    #[test]
    fn whole_words_by_default() {
        assert!(matches("b2b", "Doen jullie B2B?"));
        assert!(!matches("ocu", "focus"));
        assert!(matches("sue", "I will sue."));
        assert!(!matches("sue", "issue"));
    }

    #[test]
    fn stars_match_inflections_and_compounds() {
        assert!(matches("samenwerk*", "samenwerkingsverband"));
        assert!(matches("*handel", "groothandel"));
        assert!(matches("sponsor*", "Sponsordeal?"));
        assert!(!matches("sponsor*", "cosponsor"));
    }

    #[test]
    fn spaces_allow_punctuation_and_gaps_allow_words() {
        assert!(matches("ich weiss wo du wohnst", "Ich weiß, wo du wohnst"));
        assert!(matches("ik maak je .. af", "ik maak je helemaal af"));
        assert!(matches("ik maak je .. af", "ik maak je af"));
        assert!(!matches(
            "ik maak je .. af",
            "ik maak je een twee drie vier af"
        ));
    }

    #[test]
    fn alternatives_apostrophes_and_hyphens() {
        assert!(matches("(i'll|i will) kill (you|u)", "ill kill u"));
        assert!(matches("self-harm", "self harm"));
        assert!(matches("self-harm", "selfharm"));
        assert!(matches("bit.ly", "see bit.ly/x"));
        assert!(!matches("bit.ly", "bitxly"));
    }

    #[test]
    fn rejects_bad_keywords() {
        for bad in [
            "", "   ", "*", "(a|b", "a)", "a|b", ".. x", "x ..", "re:", "(|)",
        ] {
            assert!(keyword_to_regex(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
