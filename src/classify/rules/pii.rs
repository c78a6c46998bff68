//! Personal data: e-mail addresses, phone numbers, IBANs, card numbers and
//! street addresses. These run on the original text (not the normalised
//! one) because masking must replace exactly the characters the customer
//! typed. Each kind is found by a loose candidate regex and then validated in
//! code (checksums, digit counts, context), which is what keeps order
//! numbers, prices and dates out.

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::{Flag, RuleHit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PiiKind {
    Email,
    Iban,
    Card,
    Address,
    Phone,
}

impl PiiKind {
    /// In detection order: a later kind never claims text an earlier one
    /// took, so the digits of an IBAN are not also read as a phone number.
    pub(crate) const ALL: [PiiKind; 5] = [
        PiiKind::Email,
        PiiKind::Iban,
        PiiKind::Card,
        PiiKind::Address,
        PiiKind::Phone,
    ];

    pub(crate) fn rule_name(self) -> &'static str {
        match self {
            PiiKind::Email => "pii.email",
            PiiKind::Iban => "pii.iban",
            PiiKind::Card => "pii.card",
            PiiKind::Address => "pii.address",
            PiiKind::Phone => "pii.phone",
        }
    }

    fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[email]",
            PiiKind::Iban => "[iban]",
            PiiKind::Card => "[card]",
            PiiKind::Address => "[address]",
            PiiKind::Phone => "[phone]",
        }
    }
}

/// A piece of personal data, as byte offsets into the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
    /// Where the postcode of an address starts, so masking can hide its letters.
    postcode_at: usize,
}

impl PiiSpan {
    fn new(kind: PiiKind, start: usize, end: usize) -> Self {
        PiiSpan {
            kind,
            start,
            end,
            postcode_at: end,
        }
    }

    pub(crate) fn hit(&self, text: &str) -> RuleHit {
        RuleHit {
            name: self.kind.rule_name().to_owned(),
            flag: Flag::Pii,
            matched: self.masked(text),
        }
    }

    /// The span with enough kept to recognise it in a review queue and not
    /// enough to use it.
    fn masked(&self, text: &str) -> String {
        let s = text.get(self.start..self.end).unwrap_or_default();
        match self.kind {
            PiiKind::Email => match s.split_once('@') {
                Some((local, domain)) => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}***@{domain}")
                }
                None => "***".to_owned(),
            },
            PiiKind::Phone => mask_middle(s, 2, 4, |c| c.is_ascii_digit()),
            PiiKind::Card => mask_middle(s, 0, 4, |c| c.is_ascii_digit()),
            PiiKind::Iban => mask_middle(s, 4, 4, |c| c.is_ascii_alphanumeric()),
            PiiKind::Address => {
                let cut = self.postcode_at.saturating_sub(self.start).min(s.len());
                let (street, postcode) = s.split_at(cut);
                let street = mask_middle(street, 0, 0, |c| c.is_ascii_digit());
                let postcode = mask_middle(postcode, 0, 0, |c| c.is_alphanumeric());
                street + &postcode
            }
        }
    }
}

/// Replaces the selected characters with `*`, except the first `keep_first`
/// and last `keep_last` of them; short values are masked whole.
fn mask_middle(
    s: &str,
    keep_first: usize,
    keep_last: usize,
    select: impl Fn(char) -> bool,
) -> String {
    let total = s.chars().filter(|c| select(*c)).count();
    let (keep_first, keep_last) = if total >= keep_first + keep_last + 4 {
        (keep_first, keep_last)
    } else {
        (0, 0)
    };
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if !select(c) {
                return c;
            }
            seen += 1;
            if seen <= keep_first || seen > total - keep_last {
                c
            } else {
                '*'
            }
        })
        .collect()
}

struct Patterns {
    email: Regex,
    iban: Regex,
    card: Regex,
    phone: Regex,
    street: Regex,
    postcode: Regex,
    order_cue: Regex,
    phone_cue: Regex,
    iban_head: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |src: &str| Regex::new(src).expect("built-in PII pattern compiles");
    Patterns {
        email: re(
            r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?-u:\b)",
        ),
        iban: re(r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]){11,32}"),
        card: re(r"(?-u:\b)[0-9](?:[ \-]?[0-9]){12,18}(?-u:\b)"),
        phone: re(r"[+(]?[0-9][0-9 \u{a0}\-./()]*[0-9]"),
        street: re(concat!(
            r"(?i)(?:",
            // Compounds: Kalverstraat 12, Hauptstraße 5a, Hauptstr. 5
            r"\p{L}[\p{L}'’\-]*?(?:straat|laan|weg|plein|gracht|kade|singel|dijk|steeg|markt|dreef|hof|straße|strasse|gasse|allee|platz|damm|ufer|ring|str\.)\s*[0-9]{1,4}(?:\s?[a-z](?-u:\b)|-[0-9]{1,4})?",
            // A name, then the street word: Berliner Straße 12, Kölner Str. 5
            r"|(?-u:\b)(?-i:\p{Lu})[\p{L}'’\-]+\s+(?:straße|strasse|str\.|allee|platz|gasse|damm|chaussee)\s*[0-9]{1,4}(?:\s?[a-z](?-u:\b)|-[0-9]{1,4})?",
            // Street word first, number after the name: Calle Mayor, 5
            r"|(?-u:\b)(?:laan|calle|c/|avda\.?|avenida|plaza|paseo|carrer|camino|carretera|rue|avenue|boulevard|chemin|impasse|quai|place|allée|allee|route|street|road)\s+[\p{L}'’\-. ]{2,40}?,?\s*(?:n[º°o]\.?\s*)?[0-9]{1,4}(?-u:\b)",
            // Number first: 12 rue de la Paix, 12bis avenue Foch
            r"|(?-u:\b)[0-9]{1,4}\s?(?:bis|ter|[a-z])?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|allee|impasse|quai|route)(?-u:\b)",
            // English: 221B Baker Street
            r"|(?-u:\b)[0-9]{1,4}[a-z]?\s+(?:[\p{L}'’\-]+\s+){1,3}(?:street|st\.?|road|rd\.?|lane|drive|avenue|close|way)(?-u:\b)",
            r")"
        )),
        // NL `1234 AB`, BE/DE/FR/ES `1000`/`10115`, UK `SW1A 1AA`.
        postcode: re(
            r"(?i)(?-u:\b)(?:[1-9][0-9]{3}\s?[a-z]{2}|[0-9]{4,5}|[a-z]{1,2}[0-9][a-z0-9]?\s?[0-9][a-z]{2})(?-u:\b)",
        ),
        order_cue: re(
            r"(?i)(?-u:\b)(?:order\w*|bestel\w*|auftrag\w*|commande\w*|pedido\w*|factu\w*|invoice\w*|rechnung\w*|tracking\w*|track|trace|referen\w*|ref|klant\w*|kunden\w*|artikel\w*|article\w*|sku|ean|zending\w*|sendung\w*|colis|env[ií]o\w*|pakket\w*|paket\w*|ticket\w*|case|dossier\w*|transac\w*|iban|kvk|btw|vat|ust|imei|serial\w*|serie\w*|seriennummer)\W{0,4}(?:nr|no|nummer|number|num[eé]ro|id|code)?\.?\W{0,4}(?:(?:is|ist|est|es|was|:)\W{0,3})?$",
        ),
        // The start of an IBAN-like code: its tail is not a phone number even
        // when the checksum (a typo) made it no IBAN.
        iban_head: re(r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?: ?[a-z0-9]{4})*[ \-]?$"),
        phone_cue: re(
            r"(?i)(?-u:\b)(?:tel\w*|t[eé]l[eé]\w*|phone|mobi\w*|gsm|handy|portable|m[oó]vil|whats\s?app|bel|bellen|call|sms|rufnummer)(?-u:\b)[^0-9]{0,16}$",
        ),
    }
});

/// All personal data in `text`, in text order, without overlaps.
pub(crate) fn find_all(text: &str) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    if text.contains('@') {
        let p = &*PATTERNS;
        spans.extend(
            p.email
                .find_iter(text)
                .map(|m| PiiSpan::new(PiiKind::Email, m.start(), m.end())),
        );
    }
    if text.bytes().filter(u8::is_ascii_digit).nth(3).is_some() {
        find_ibans(text, &mut spans);
        find_cards(text, &mut spans);
        find_addresses(text, &mut spans);
        find_phones(text, &mut spans);
    }
    spans.sort_by_key(|s| s.start);
    spans
}

/// `text` with every piece of personal data replaced by a placeholder.
pub(crate) fn mask(text: &str) -> String {
    let spans = find_all(text);
    if spans.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        out.push_str(text.get(at..s.start).unwrap_or_default());
        out.push_str(s.kind.placeholder());
        at = s.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

fn overlaps(spans: &[PiiSpan], start: usize, end: usize) -> bool {
    spans.iter().any(|s| start < s.end && s.start < end)
}

/// Where to look for the next candidate after one failed: past its first
/// token, so a valid value glued behind a look-alike is still found, while
/// every retry makes progress (the scan stays linear on hostile input).
fn after_first_token(text: &str, start: usize) -> usize {
    let rest = text.get(start..).unwrap_or_default();
    let mut chars = rest.char_indices();
    let first_len = chars.next().map_or(1, |(_, c)| c.len_utf8());
    let skip = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(rest.len(), |(i, _)| i)
        .max(first_len);
    start + skip
}

// ---------------------------------------------------------------- IBAN

fn find_ibans(text: &str, spans: &mut Vec<PiiSpan>) {
    let mut pos = 0;
    while let Some(m) = PATTERNS.iban.find_at(text, pos) {
        match iban_len_in(m.as_str()) {
            Some(len) if !overlaps(spans, m.start(), m.start() + len) => {
                spans.push(PiiSpan::new(PiiKind::Iban, m.start(), m.start() + len));
                pos = m.start() + len;
            }
            _ => pos = after_first_token(text, m.start()),
        }
        if pos >= text.len() {
            break;
        }
    }
}

/// The byte length of the valid IBAN at the start of `cand`, if there is one.
/// The candidate regex is greedy, so the country's fixed length decides where
/// the IBAN ends.
fn iban_len_in(cand: &str) -> Option<usize> {
    let country = cand.get(..2)?.to_ascii_uppercase();
    let len = iban_length(&country)?;
    let mut compact = String::with_capacity(len);
    let mut end = None;
    for (i, c) in cand.char_indices() {
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            if compact.len() == len {
                end = Some(i + c.len_utf8());
                break;
            }
        }
    }
    let end = end?;
    // "NL91ABNA0417164300X" is not an IBAN followed by an X.
    if cand[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    iban_checksum_ok(&compact).then_some(end)
}

/// ISO 13616 mod-97 check on an uppercase, space-free IBAN.
pub(crate) fn iban_checksum_ok(iban: &str) -> bool {
    if iban.len() < 15 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for b in tail.bytes().chain(head.bytes()) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'a'..=b'z' => u32::from(b - b'a') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// IBAN lengths of the SEPA countries and their neighbours; an unknown
/// country code is not treated as an IBAN, which keeps product codes out.
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AT", 20),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("CH", 21),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("EE", 20),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IS", 26),
        ("IT", 27),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("MC", 27),
        ("MT", 31),
        ("NL", 18),
        ("NO", 15),
        ("PL", 28),
        ("PT", 25),
        ("RO", 24),
        ("RS", 22),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("TR", 26),
        ("UA", 29),
    ];
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, l)| *l)
}

// ---------------------------------------------------------------- cards

fn find_cards(text: &str, spans: &mut Vec<PiiSpan>) {
    let mut pos = 0;
    while let Some(m) = PATTERNS.card.find_at(text, pos) {
        match card_end_in(text, m.start(), m.end()) {
            Some(end) if !overlaps(spans, m.start(), end) && !after_cue(text, m.start()) => {
                spans.push(PiiSpan::new(PiiKind::Card, m.start(), end));
                pos = end;
            }
            _ => pos = after_first_token(text, m.start()),
        }
        if pos >= text.len() {
            break;
        }
    }
}

/// Where the card number at the start of the candidate `start..end` ends.
/// The candidate takes up to 19 digits, so an expiry or CVV typed behind the
/// number ("4111 1111 1111 1111 12/27") lands in it: shorter candidates that
/// end where a digit group ends are tried too.
fn card_end_in(text: &str, start: usize, end: usize) -> Option<usize> {
    // "+49 151 12345678" can pass Luhn by chance; it is a phone number.
    if text[..start].ends_with('+') || text[..start].trim_end().ends_with('+') {
        return None;
    }
    let mut groups: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut current = Vec::new();
    for (i, b) in text[start..end].bytes().enumerate() {
        if b.is_ascii_digit() {
            current.push(b - b'0');
        } else if !current.is_empty() {
            groups.push((start + i, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        groups.push((end, current));
    }
    let head = &text[floor_char_boundary(text, start.saturating_sub(40))..start];
    let phone_cued = PATTERNS.phone_cue.is_match(head);
    for k in (1..=groups.len()).rev() {
        let digits: Vec<u8> = groups[..k]
            .iter()
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        if digits.len() < 13 {
            break;
        }
        if !is_card_number(&digits) {
            continue;
        }
        // After "tel" or "WhatsApp" a number the phone check accepts is one.
        let as_number: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        if phone_cued && international_ok(&as_number) {
            return None;
        }
        return Some(groups[k - 1].0);
    }
    None
}

/// Luhn alone passes one random number in ten, and IMEIs are Luhn-valid
/// too, so the length must also fit the issuer's prefix.
fn is_card_number(digits: &[u8]) -> bool {
    let prefix = |n: usize| {
        digits
            .iter()
            .take(n)
            .fold(0u32, |acc, d| acc * 10 + u32::from(*d))
    };
    let len = digits.len();
    let issuer_fits = match digits.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        Some(2) => (2221..=2720).contains(&prefix(4)) && len == 16,
        Some(3) => match prefix(2) {
            34 | 37 => len == 15,
            36 | 38 | 30 => (14..=16).contains(&len),
            35 => (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len),
            _ => false,
        },
        Some(5) => match prefix(2) {
            51..=55 => len == 16,
            50 | 56..=59 => (13..=19).contains(&len),
            _ => false,
        },
        Some(6) => (13..=19).contains(&len),
        _ => false,
    };
    issuer_fits && digits.iter().any(|d| *d != digits[0]) && luhn_ok(digits)
}

/// The Luhn check on digit values (0–9).
pub(crate) fn luhn_ok(digits: &[u8]) -> bool {
    if digits.is_empty() || digits.iter().any(|d| *d > 9) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

// ---------------------------------------------------------------- addresses

/// A street with a house number followed closely by a postcode. A street
/// alone is not enough: people name the brand's own shop ("your store on
/// Kalverstraat 12") far more often than they post their own address.
fn find_addresses(text: &str, spans: &mut Vec<PiiSpan>) {
    let p = &*PATTERNS;
    for m in p.street.find_iter(text) {
        let window_end = floor_char_boundary(text, m.end() + 48);
        let Some(window) = text.get(m.end()..window_end) else {
            continue;
        };
        let Some(pc) = p.postcode.find(window) else {
            continue;
        };
        let gap = &window[..pc.start()];
        // The postcode may be on the next line, as on an envelope; then a
        // bare number must be followed by a place name ("1012 Amsterdam",
        // not "2000 likes").
        let next_line = gap.matches('\n').count() == 1
            && !gap.contains(['.', '!', '?'])
            && (pc.as_str().chars().any(|c| c.is_alphabetic())
                || window[pc.end()..].starts_with(|c: char| c == ' ')
                    && window[pc.end()..]
                        .trim_start_matches(' ')
                        .starts_with(char::is_uppercase));
        if gap.len() > 32
            || gap.contains(['\n', '.', '!', '?']) && !gap.trim_end().ends_with(',') && !next_line
        {
            continue;
        }
        let end = m.end() + pc.end();
        if overlaps(spans, m.start(), end) {
            continue;
        }
        spans.push(PiiSpan {
            kind: PiiKind::Address,
            start: m.start(),
            end,
            postcode_at: m.end() + pc.start(),
        });
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

// ---------------------------------------------------------------- phones

/// Phone numbers are the hardest to tell from other numbers, so a candidate
/// run of digits and separators is split into groups and the longest run of
/// consecutive groups that has the shape of a phone number is taken.
fn find_phones(text: &str, spans: &mut Vec<PiiSpan>) {
    for m in PATTERNS.phone.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let before2 = text[..m.start()].chars().rev().nth(1);
        if let Some(c) = before {
            // "#100234", "€0612345678", "ab0612", "1.0612345678"
            if c.is_alphanumeric()
                || "#€$£_@/\\".contains(c)
                || (".,-".contains(c) && before2.is_some_and(|d| d.is_ascii_digit()))
            {
                continue;
            }
        }
        if text[m.end()..].starts_with(|c: char| c.is_alphanumeric() || "%€$£".contains(c)) {
            continue;
        }
        for cluster in clusters(text, m.start(), m.end()) {
            take_phones(text, &cluster, spans);
        }
    }
}

/// A digit run inside a phone candidate, as byte offsets.
#[derive(Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

/// Digit groups of a candidate, split wherever the separator is too long to
/// belong inside one number.
fn clusters(text: &str, start: usize, end: usize) -> Vec<Vec<Group>> {
    let bytes = text.as_bytes();
    let mut out: Vec<Vec<Group>> = Vec::new();
    let mut current: Vec<Group> = Vec::new();
    let mut i = start;
    while i < end {
        if bytes[i].is_ascii_digit() {
            let s = i;
            while i < end && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if let Some(prev) = current.last() {
                if s - prev.end > 3 {
                    out.push(std::mem::take(&mut current));
                }
            }
            current.push(Group { start: s, end: i });
        } else {
            i += 1;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn take_phones(text: &str, groups: &[Group], spans: &mut Vec<PiiSpan>) {
    let mut i = 0;
    while i < groups.len() {
        let longest = (i..groups.len().min(i + 8)).rev().find_map(|j| {
            let (start, end) = phone_span(text, groups, i, j);
            (!overlaps(spans, start, end) && is_phone(text, groups, i, j, start))
                .then_some((j, start, end))
        });
        match longest {
            Some((j, start, end)) => {
                spans.push(PiiSpan::new(PiiKind::Phone, start, end));
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// The byte span of groups `i..=j`, with a leading `+` or `(` included.
fn phone_span(text: &str, groups: &[Group], i: usize, j: usize) -> (usize, usize) {
    let mut start = groups[i].start;
    let head = &text[..start];
    if let Some(c) = head.chars().next_back().filter(|c| *c == '+' || *c == '(') {
        start -= c.len_utf8();
    }
    let mut end = groups[j].end;
    if text[start..].starts_with('(') && text[end..].starts_with(')') {
        end += 1;
    }
    (start, end)
}

fn is_phone(text: &str, groups: &[Group], i: usize, j: usize, start: usize) -> bool {
    let span = &groups[i..=j];
    let seps: Vec<&str> = span
        .windows(2)
        .map(|w| &text[w[0].end..w[1].start])
        .collect();
    if looks_like_date(span, &seps) {
        return false;
    }
    let intl_plus = text[start..].starts_with('+');
    let mut digits = String::new();
    for (k, g) in span.iter().enumerate() {
        let d = &text[g.start..g.end];
        // The trunk zero in "+31 (0)6 …" is not dialled from abroad.
        let is_trunk = k > 0 && d == "0" && seps[k - 1].ends_with('(');
        if !(intl_plus && is_trunk) {
            digits.push_str(d);
        }
    }
    if after_cue(text, start) {
        return false;
    }
    let head = &text[floor_char_boundary(text, start.saturating_sub(40))..start];
    let b = digits.as_bytes();
    if intl_plus || digits.starts_with("00") {
        let n = if intl_plus { &digits[..] } else { &digits[2..] };
        return international_ok(n);
    }
    if b.len() >= 9 && b.len() <= 12 && b[0] == b'0' && b[1] != b'0' {
        return true;
    }
    // Spanish numbers have no trunk zero; nine bare digits are too often an
    // order number, so ask for the usual grouping or a "tel"/"móvil" cue.
    b.len() == 9
        && (b'6'..=b'9').contains(&b[0])
        && (seps.len() >= 2 || PATTERNS.phone_cue.is_match(head))
}

/// Whether the number at `start` is introduced as something else: an order,
/// invoice or customer number, an IMEI, or the tail of an IBAN-like code.
fn after_cue(text: &str, start: usize) -> bool {
    let head = &text[floor_char_boundary(text, start.saturating_sub(40))..start];
    PATTERNS.order_cue.is_match(head) || PATTERNS.iban_head.is_match(head)
}

fn international_ok(n: &str) -> bool {
    let len = n.len();
    if n.starts_with('0') {
        return false;
    }
    let rest = |cc: &str| len - cc.len();
    match () {
        _ if n.starts_with("31") => rest("31") == 9,
        _ if n.starts_with("32") => (8..=9).contains(&rest("32")),
        _ if n.starts_with("33") => rest("33") == 9,
        _ if n.starts_with("34") => rest("34") == 9,
        _ if n.starts_with("44") => (9..=10).contains(&rest("44")),
        _ if n.starts_with("49") => (6..=13).contains(&rest("49")),
        _ => (8..=15).contains(&len),
    }
}

/// 01-02-2024, 1.2.24, 2024-01-31 and 24/12/2023 are dates, not numbers.
fn looks_like_date(span: &[Group], seps: &[&str]) -> bool {
    if span.len() != 3 || !seps.iter().all(|s| matches!(*s, "." | "-" | "/")) {
        return false;
    }
    let lens: Vec<usize> = span.iter().map(|g| g.end - g.start).collect();
    matches!(lens.as_slice(), [1 | 2, 1 | 2, 2 | 4] | [4, 1 | 2, 1 | 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        find_all(text)
            .iter()
            .map(|s| (s.kind.rule_name(), s.hit(text).matched))
            .collect()
    }

    fn has(text: &str, kind: PiiKind) -> bool {
        find_all(text).iter().any(|s| s.kind == kind)
    }

    #[test]
    fn iban_checksum() {
        assert!(iban_checksum_ok("NL91ABNA0417164300"));
        assert!(!iban_checksum_ok("NL91ABNA0417164301"));
        assert!(iban_checksum_ok("DE89370400440532013000"));
        assert!(iban_checksum_ok("BE68539007547034"));
        assert!(iban_checksum_ok("FR1420041010050500013M02606"));
        assert!(iban_checksum_ok("ES9121000418450200051332"));
        assert!(iban_checksum_ok("GB29NWBK60161331926819"));
        assert!(!iban_checksum_ok(""));
        assert!(!iban_checksum_ok("NL91ABNA04171643€0"));
    }

    #[test]
    fn luhn() {
        let d = |s: &str| {
            s.bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect::<Vec<_>>()
        };
        assert!(luhn_ok(&d("4111 1111 1111 1111")));
        assert!(!luhn_ok(&d("4111 1111 1111 1112")));
        assert!(luhn_ok(&d("5500 0000 0000 0004")));
        assert!(luhn_ok(&d("3782 822463 10005")));
        assert!(!luhn_ok(&[]));
    }

    #[test]
    fn finds_ibans_in_text_and_masks_them() {
        assert_eq!(
            kinds("Mijn IBAN: NL91 ABNA 0417 1643 00 graag terugstorten"),
            vec![("pii.iban", "NL91 **** **** **43 00".to_owned())]
        );
        assert!(has("iban nl91abna0417164300.", PiiKind::Iban));
        assert!(has("Konto DE89 3704 0044 0532 0130 00", PiiKind::Iban));
        assert!(!has("NL91ABNA0417164301", PiiKind::Iban));
        assert!(!has("NL91ABNA0417164300X", PiiKind::Iban));
        assert!(!has("art. XX12ABCD12345678901", PiiKind::Iban));
    }

    #[test]
    fn finds_luhn_valid_cards_only() {
        assert_eq!(
            kinds("kaart 4111 1111 1111 1111 exp 12/27"),
            vec![("pii.card", "**** **** **** 1111".to_owned())]
        );
        assert!(has("4111-1111-1111-1111", PiiKind::Card));
        assert!(!has("4111 1111 1111 1112", PiiKind::Card));
        assert!(!has("0000 0000 0000 0000", PiiKind::Card));
        assert!(!has("tracking 1234567890123456", PiiKind::Card));
        assert!(
            !has("IMEI 356938035643809", PiiKind::Card),
            "IMEIs pass Luhn"
        );
        assert!(
            !has("356938035643809", PiiKind::Card),
            "15 digits do not fit JCB"
        );
        assert!(has("Amex 3782 822463 10005", PiiKind::Card));
        assert!(has("5500 0000 0000 0004", PiiKind::Card));
    }

    #[test]
    fn finds_emails() {
        assert_eq!(
            kinds("mail me: jan.jansen+shop@example.com!"),
            vec![("pii.email", "j***@example.com".to_owned())]
        );
        assert!(!has("@example on insta", PiiKind::Email));
        assert!(!has("name@localhost", PiiKind::Email));
    }

    #[test]
    fn finds_phone_numbers_in_five_countries() {
        for text in [
            "bel me op 06-12345678",
            "mijn nummer is 0612345678",
            "+31 6 12345678",
            "+31 (0)6 1234 5678",
            "0031 6 12345678",
            "020 123 4567",
            "GSM 0470 12 34 56",
            "+32 470 12 34 56",
            "02 123 45 67",
            "Ruf an: 0151 12345678",
            "030/12345678",
            "+49 30 1234567",
            "06 12 34 56 78",
            "+33 6 12 34 56 78",
            "06.12.34.56.78",
            "612 345 678",
            "móvil: 612345678",
            "+34 612 34 56 78",
            "07700 900123",
            "+44 7700 900123",
            "+1 415 555 2671",
        ] {
            assert!(has(text, PiiKind::Phone), "{text}: {:?}", kinds(text));
        }
        assert_eq!(
            kinds("06-12345678"),
            vec![("pii.phone", "06-****5678".to_owned())]
        );
    }

    #[test]
    fn order_numbers_prices_dates_and_years_are_not_phones() {
        for text in [
            "bestelling #100234 is niet aangekomen",
            "bestelnummer 4839201",
            "ordernummer 0612345678",
            "Bestellnummer: 612345678",
            "order 612345678",
            "kost € 1.299,00",
            "€0612345678",
            "betaald op 01-02-2024",
            "geleverd 12.03.2024 en 2025",
            "open 09.00-17.30",
            "2019 2020 2021 2022 2023",
            "artikel 123456789",
            "612345678",
            "zip 10115",
            "100% 0612345678x",
            "Mijn klantnummer is 0612345678",
            "IBAN NL91 ABNA 0417 1643 01",
        ] {
            assert!(!has(text, PiiKind::Phone), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn finds_addresses_with_postcodes() {
        for text in [
            "Stuur het naar Kalverstraat 12, 1012 AB Amsterdam",
            "adres: Dorpsweg 3a 1234AB",
            "Rue Neuve 14, 1000 Bruxelles",
            "Meir 1? nee: Leysstraat 28, 2000 Antwerpen",
            "Hauptstraße 5, 10115 Berlin",
            "Lieferung an Hauptstr. 5 10115 Berlin",
            "12 rue de la Paix, 75002 Paris",
            "Calle Mayor, 5, 28013 Madrid",
            "221B Baker Street, London NW1 6XE",
        ] {
            assert!(has(text, PiiKind::Address), "{text}: {:?}", kinds(text));
        }
        assert_eq!(
            kinds("Kalverstraat 12, 1012 AB Amsterdam"),
            vec![("pii.address", "Kalverstraat **, **** **".to_owned())]
        );
    }

    #[test]
    fn a_street_without_postcode_is_not_an_address() {
        assert!(!has(
            "jullie winkel op de Kalverstraat 12 is dicht",
            PiiKind::Address
        ));
        assert!(!has("de weg 12 km lang", PiiKind::Address));
    }

    #[test]
    fn masks_all_kinds_in_place() {
        let text = "Ik ben jan@example.com, 06-12345678, NL91ABNA0417164300, \
                    4111 1111 1111 1111, Kalverstraat 12, 1012 AB Amsterdam.";
        assert_eq!(
            mask(text),
            "Ik ben [email], [phone], [iban], [card], [address] Amsterdam."
        );
        assert_eq!(mask("geen persoonsgegevens"), "geen persoonsgegevens");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "+",
            "(",
            "0",
            "00",
            "+(",
            "@",
            "a@b.c",
            "€€€0612345678€",
            "٠٦١٢٣٤٥٦٧٨",
            "１２３４ ５６７８ ９０",
            "NL",
            "NL91",
            "ß1234 AB",
            "straat 1",
            "é 0612345678 é",
            "0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0",
            "+31 (0)",
            "Straße 5, 1",
        ] {
            let _ = mask(text);
        }
        let long = "1 ".repeat(5000) + &"AB12".repeat(2000) + &"4".repeat(3000);
        let _ = mask(&long);
    }
}
