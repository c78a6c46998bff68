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
