//! Leads as sales takes them away: the CSV export (`replyd leads export`
//! and `GET /v1/leads.csv`) and the dates people type to choose them.

use crate::store::leads::StoredLead;

/// `2026-01-01` (midnight UTC) or an RFC 3339 time, as ms since the epoch.
pub fn parse_date(s: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis()
        })
        .map_err(|_| "expected a date (2026-01-01) or an RFC 3339 time".to_owned())
}

/// The start of an export as people type it: `7d` (the last seven days),
/// `12h`, `today`, `yesterday` (from midnight UTC), a date or an RFC 3339
/// time. `now` is in milliseconds since the epoch.
pub fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    let day = 86_400_000;
    let midnight = now - now.rem_euclid(day);
    match s {
        "today" => return Ok(midnight),
        "yesterday" => return Ok(midnight - day),
        _ => {}
    }
    let relative = |unit: char, millis: i64| {
        s.strip_suffix(unit)
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| now - i64::from(n) * millis)
    };
    if let Some(at) = relative('d', day).or_else(|| relative('h', 3_600_000)) {
        return Ok(at);
    }
    parse_date(s).map_err(|_| {
        "expected 7d, 12h, today, yesterday, a date (2026-01-01) or an RFC 3339 time".to_owned()
    })
}

/// The end of a range: a bare date includes that whole day (`until=2026-01-31`
/// means up to the end of January 31st), as people mean it; a time is exact.
pub fn parse_until(s: &str) -> Result<i64, String> {
    let at = parse_date(s)?;
    let bare_date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    Ok(if bare_date { at + 86_400_000 } else { at })
}

/// Each lead with the text of the message it was detected in: sales reads
/// what the prospect wrote, not only who they are.
pub async fn with_source_text(
    conn: &mut sqlx::AnyConnection,
    items: Vec<StoredLead>,
) -> Result<Vec<(StoredLead, String)>, crate::store::StoreError> {
    let mut rows = Vec::with_capacity(items.len());
    for lead in items {
        let text = crate::store::messages::get(conn, &lead.message_id)
            .await
            .map(|m| m.text)
            .unwrap_or_default();
        rows.push((lead, text));
    }
    Ok(rows)
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "status",
    "score",
    "platform",
    "author_id",
    "author_name",
    "email",
    "website",
    "owner",
    "notes",
    "message_id",
    "thread_id",
    "lang",
    "reasons",
    "kind",
    "message_text",
];

/// One row per lead; times in RFC 3339, reasons joined by `; `; `kind` is
/// how the lead came in (dm, comment, review, mention).
pub fn to_csv(rows: &[(StoredLead, String)]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for (l, text) in rows {
        let created = chrono::DateTime::from_timestamp_millis(l.created_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let fields = [
            l.id.to_string(),
            created,
            l.status.to_string(),
            format!("{:.3}", l.score),
            l.platform.to_string(),
            l.author_id.clone(),
            l.author_name.clone().unwrap_or_default(),
            l.email.clone().unwrap_or_default(),
            l.website.clone().unwrap_or_default(),
            l.owner.clone().unwrap_or_default(),
            l.notes.clone().unwrap_or_default(),
            l.message_id.to_string(),
            l.thread_id.clone().unwrap_or_default(),
            l.lang.map(|x| x.to_string()).unwrap_or_default(),
            l.reasons.join("; "),
            l.kind.map(|k| k.to_string()).unwrap_or_default(),
            text.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Quotes every field, so a spreadsheet whose separator is `;` (the Dutch
/// and German default) still reads `a;=1+1` as one cell, not as `a` and a
/// formula. A field whose first visible character is `=`, `+`, `-` or `@`,
/// or that starts with a tab or carriage return, is prefixed with `'`: a
/// spreadsheet may skip leading blanks and line breaks and run the formula
/// behind them (OWASP's CSV injection list).
fn csv_field(value: &str) -> String {
    let formula = value
        .trim_start_matches([' ', '\n', '\u{a0}'])
        .starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_what_people_type() {
        // 2026-03-10T15:30:00Z
        let now = 1_773_156_600_000;
        let day = 86_400_000;
        assert_eq!(parse_since("7d", now), Ok(now - 7 * day));
        assert_eq!(parse_since("12h", now), Ok(now - 12 * 3_600_000));
        assert_eq!(parse_since("today", now), Ok(1_773_100_800_000));
        assert_eq!(parse_since("yesterday", now), Ok(1_773_100_800_000 - day));
        assert_eq!(parse_since("2026-03-01", now), parse_date("2026-03-01"));
        for bad in ["last week", "7 days", "-3d", ""] {
            let err = parse_since(bad, now).unwrap_err();
            assert!(
                err.contains("7d") && err.contains("yesterday"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn csv_cells_a_semicolon_spreadsheet_would_split_stay_one_cell() {
        assert_eq!(csv_field("a;=1+1"), "\"a;=1+1\"");
    }

    #[test]
    fn csv_formulas_behind_blanks_tabs_and_line_breaks_are_defused() {
        assert_eq!(csv_field("\t=1+1"), "\"'\t=1+1\"");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(csv_field("  =1+1"), "\"'  =1+1\"");
        assert_eq!(csv_field("\n\n@SUM(A1)"), "\"'\n\n@SUM(A1)\"");
        assert_eq!(csv_field("a\tb"), "\"a\tb\"");
        assert_eq!(csv_field("a -b"), "\"a -b\"");
    }

    #[test]
    fn dates_parse_as_days_or_times() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_date("yesterday").is_err());
        // A day given as the end of a range is included whole.
        assert_eq!(parse_until("1970-01-01").unwrap(), 86_400_000);
        assert_eq!(parse_until("1970-01-01T00:00:01Z").unwrap(), 1000);
    }
}
