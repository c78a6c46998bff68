//! `[sla]`: the response-time target per platform and the business hours
//! it counts in, which order the review queue.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// Minutes from a message to its answer, for a platform not in
    /// `platforms`.
    pub default_minutes: u32,
    /// Minutes per platform (`facebook = 30`).
    pub platforms: BTreeMap<String, u32>,
    /// When set, only time inside these hours counts against the target.
    pub business_hours: Option<BusinessHoursConfig>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            default_minutes: 60,
            platforms: BTreeMap::new(),
            business_hours: None,
        }
    }
}

impl SlaConfig {
    /// The target for a platform, in minutes.
    pub fn minutes_for(&self, platform: &str) -> u32 {
        self.platforms
            .get(platform)
            .copied()
            .unwrap_or(self.default_minutes)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursConfig {
    /// `["mon", "tue", "wed", "thu", "fri"]` by default.
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    /// `"09:00"`.
    pub start: String,
    /// `"17:30"`; after `start`.
    pub end: String,
    /// A fixed offset from UTC: `"UTC"`, `"+01:00"`, `"-05:00"`. Named
    /// zones and daylight saving time are not followed.
    #[serde(default = "utc")]
    pub timezone: String,
}

fn weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}

fn utc() -> String {
    "UTC".into()
}

const MINUTE: i64 = 60_000;

/// Business hours, parsed: weekdays (0 = Monday), minutes of the day, and
/// the fixed offset from UTC in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    pub(crate) days: [bool; 7],
    pub(crate) start_min: i64,
    pub(crate) end_min: i64,
    pub(crate) offset_ms: i64,
}

impl Hours {
    /// Checks every field; an error names the key under `[sla.business_hours]`.
    pub fn parse(cfg: &BusinessHoursConfig) -> Result<Hours, (String, String)> {
        let key = |k: &str| format!("sla.business_hours.{k}");
        let mut days = [false; 7];
        if cfg.days.is_empty() {
            return Err((key("days"), "must name at least one day".into()));
        }
        for (i, day) in cfg.days.iter().enumerate() {
            let n = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| {
                    (
                        format!("sla.business_hours.days[{i}]"),
                        format!("`{day}` is not one of mon, tue, wed, thu, fri, sat, sun"),
                    )
                })?;
            days[n] = true;
        }
        let start_min = clock(&cfg.start)
            .ok_or_else(|| (key("start"), "must be a time like \"09:00\"".into()))?;
        let end_min = clock(&cfg.end).ok_or_else(|| {
            (
                key("end"),
                "must be a time like \"17:30\" (24:00 for midnight)".into(),
            )
        })?;
        if end_min <= start_min {
            return Err((key("end"), "must be after start".into()));
        }
        let offset_ms = offset(&cfg.timezone).ok_or_else(|| {
            (
                key("timezone"),
                format!(
                    "`{}` is not a fixed UTC offset like \"UTC\" or \"+01:00\" (named zones such as Europe/Amsterdam are not supported)",
                    cfg.timezone
                ),
            )
        })?;
        Ok(Hours {
            days,
            start_min,
            end_min,
            offset_ms,
        })
    }
}

/// `HH:MM` as minutes of the day; `24:00` is the day's end.
fn clock(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// `UTC`, `Z`, `+01:00`, `-05:30` as ms east of UTC.
fn offset(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Some(0);
    }
    let s = s.strip_prefix("UTC").unwrap_or(s);
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m) * MINUTE)
}
