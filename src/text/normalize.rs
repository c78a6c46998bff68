//! Text normalisation shared by every keyword rule, the heuristic and the
//! keyword patterns themselves, so a lexicon entry and a message are compared
//! in the same form.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Lowercases, strips diacritics and folds whitespace.
///
/// Beyond the plain NFD-and-drop-marks recipe this uses NFKD, so styled
/// letters (`𝗶𝗴𝗻𝗼𝗿𝗲`, full-width `ｉｇｎｏｒｅ`, ligatures) fold to ASCII and
/// cannot be used to slip past the injection or spam rules. It also drops
/// invisible characters (zero-width spaces, soft hyphens, bidi controls) that
/// are inserted inside words for the same purpose, folds `ß`/`æ`/`œ`/`ø` that
/// have no decomposition, and unifies typographic quotes and dashes.
///
/// A run of whitespace becomes one space, or one `\n` when it contained a line
/// break: line structure is kept because role markers (`SYSTEM:` at the start
/// of a line) and sentence boundaries depend on it.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut folder = Folder {
        out: &mut out,
        pending: None,
    };
    for c in text.chars() {
        // Decomposing char by char equals NFKD here: the only difference,
        // the canonical reordering of combining marks, is moot once they are
        // dropped. ASCII never decomposes, which keeps the common case fast.
        if c.is_ascii() {
            folder.push(c);
        } else {
            decompose_compatible(c, |d| folder.push(d));
        }
    }
    out
}

struct Folder<'a> {
    out: &'a mut String,
    /// Whitespace is emitted lazily so runs collapse and the ends are trimmed.
    pending: Option<char>,
}

impl Folder<'_> {
    fn push(&mut self, c: char) {
        let Folder { out, pending } = self;
        if c.is_ascii_alphanumeric() {
            if let Some(ws) = pending.take() {
                if !out.is_empty() {
                    out.push(ws);
                }
            }
            out.push(c.to_ascii_lowercase());
            return;
        }
        if c.is_whitespace() {
            let this = if is_line_break(c) { '\n' } else { ' ' };
            *pending = Some(match pending {
                Some('\n') => '\n',
                _ => this,
            });
            return;
        }
        if is_combining_mark(c) || is_invisible(c) || c.is_control() {
            return;
        }
        if let Some(ws) = pending.take() {
            if !out.is_empty() {
                out.push(ws);
            }
        }
        match fold_special(c) {
            Some(s) => out.push_str(s),
            None => {
                for lc in c.to_lowercase() {
                    // Lowercasing `İ` yields `i` plus a combining dot.
                    if !is_combining_mark(lc) {
                        out.push(lc);
                    }
                }
            }
        }
    }
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Unicode's default-ignorable code points (DerivedCoreProperties): what a
/// renderer shows as nothing. A list that misses one lets it split
/// "re\u{e0066}fund" on the page-invisible tag characters, say.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Letters without a canonical decomposition, and punctuation that comes in
/// typographic variants, mapped to what people type on a plain keyboard.
fn fold_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' => "d",
        'ı' => "i",
        '‘' | '’' | '‚' | '‛' | '′' | '`' | '´' => "'",
        '“' | '”' | '„' | '‟' | '«' | '»' | '″' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn lowercases_strips_diacritics_and_folds_whitespace() {
        assert_eq!(normalize("  Crème   BRÛLÉE\t!  "), "creme brulee !");
        assert_eq!(normalize("Großhandel"), "grosshandel");
        assert_eq!(normalize("Rückbuchung"), "ruckbuchung");
        assert_eq!(normalize("colaboración"), "colaboracion");
        assert_eq!(normalize("pas intéressé"), "pas interesse");
        assert_eq!(normalize("suïcidaal"), "suicidaal");
        assert_eq!(normalize("cœur"), "coeur");
    }

    #[test]
    fn keeps_line_breaks_as_single_newlines() {
        assert_eq!(normalize("a \r\n\n  b c"), "a\nb c");
        assert_eq!(normalize("\n\nSYSTEM: x"), "system: x");
    }

    #[test]
    fn defeats_obfuscation() {
        assert_eq!(normalize("ig\u{200b}nore"), "ignore");
        assert_eq!(normalize("ｉｇｎｏｒｅ"), "ignore");
        assert_eq!(normalize("𝗶𝗴𝗻𝗼𝗿𝗲"), "ignore");
        assert_eq!(normalize("I’ll"), "i'll");
        assert_eq!(normalize("İstanbul"), "istanbul");
        // Every default-ignorable kind: Arabic letter mark, Hangul fillers,
        // tag characters ("ASCII smuggling"), musical formatting.
        for hidden in [
            '\u{61c}',
            '\u{115f}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{e0066}',
            '\u{1d173}',
        ] {
            assert_eq!(
                normalize(&format!("re{hidden}fund")),
                "refund",
                "{hidden:?}"
            );
        }
    }

    #[test]
    fn keeps_emoji_but_drops_variation_selectors() {
        assert_eq!(normalize("Top ❤️😍"), "top ❤😍");
    }

    #[test]
    fn handles_empty_and_odd_input() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{0} \u{feff} "), "");
        assert_eq!(normalize("\u{301}"), "");
    }
}
