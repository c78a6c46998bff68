//! The review queue's order: how urgent a held item is and when its answer
//! is due against the response-time target (`[sla]`), counting only
//! business hours when they are set. Pure functions of stored timestamps
//! and a given `now`, so the order is the same for every reader.

use serde::Serialize;

pub use crate::config::Hours;
pub use crate::domain::Priority;

use crate::config::SlaConfig;

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// When an answer to a message that arrived at `start` (ms) is due: the
/// target's minutes later, counting only time inside business hours when
/// there are some.
pub fn due_at(start: i64, minutes: u32, hours: Option<&Hours>) -> i64 {
    let mut remaining = i64::from(minutes) * MINUTE;
    let Some(h) = hours else {
        return start + remaining;
    };
    // Work in the business's local time, a fixed offset from UTC.
    let mut at = start + h.offset_ms;
    // At most a week without a business day is checked per round: `days`
    // is never empty, so a year of rounds is plenty for any target.
    for _ in 0..(366 * 8) {
        let midnight = at.div_euclid(DAY) * DAY;
        // 1970-01-01 was a Thursday (3 counting from Monday = 0).
        let weekday = ((at.div_euclid(DAY) + 3).rem_euclid(7)) as usize;
        if h.days[weekday] {
            let open = midnight + h.start_min * MINUTE;
            let close = midnight + h.end_min * MINUTE;
            at = at.max(open);
            if at < close {
                let left = close - at;
                if remaining <= left {
                    return at + remaining - h.offset_ms;
                }
                remaining -= left;
            }
        }
        at = midnight + DAY;
    }
    at - h.offset_ms
}

/// Where a held item stands: its rank, when it is due and whether that has
/// passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub priority: Priority,
    pub due_at: i64,
    pub overdue: bool,
}

/// The standing of an item from `platform` flagged `flags`, written at
/// `created_at` by the platform's clock (if it said) and received at
/// `received_at`: the earlier counts, as the customer has waited since.
pub fn standing<S: AsRef<str>>(
    cfg: &SlaConfig,
    hours: Option<&Hours>,
    platform: &str,
    flags: &[S],
    created_at: Option<i64>,
    received_at: i64,
    now: i64,
) -> Standing {
    let start = created_at.map_or(received_at, |c| c.min(received_at));
    let due_at = due_at(start, cfg.minutes_for(platform), hours);
    Standing {
        priority: Priority::of_flags(flags),
        due_at,
        overdue: now >= due_at,
    }
}

/// The queue's sort key: rank, then due time (the least time left first),
/// then age (held earliest first), then id for a stable order.
pub fn sort_key(s: &Standing, held_at: i64, id: &str) -> (u8, i64, i64, String) {
    (s.priority.rank(), s.due_at, held_at, id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BusinessHoursConfig;

    // Monday 2026-03-02 00:00 UTC.
    const MONDAY: i64 = 1_772_409_600_000;
    const HOUR: i64 = 3_600_000;

    fn hours(days: &[&str], start: &str, end: &str, tz: &str) -> Hours {
        Hours::parse(&BusinessHoursConfig {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            timezone: tz.into(),
        })
        .unwrap()
    }

    #[test]
    fn monday_is_a_monday() {
        let date = chrono::DateTime::from_timestamp_millis(MONDAY).unwrap();
        assert_eq!(
            date.format("%a %F %T").to_string(),
            "Mon 2026-03-02 00:00:00"
        );
    }

    #[test]
    fn without_business_hours_the_target_runs_around_the_clock() {
        assert_eq!(due_at(MONDAY, 30, None), MONDAY + 30 * MINUTE);
        assert_eq!(due_at(MONDAY + 23 * HOUR, 120, None), MONDAY + 25 * HOUR);
    }

    #[test]
    fn time_outside_business_hours_does_not_count() {
        let week = hours(
            &["mon", "tue", "wed", "thu", "fri"],
            "09:00",
            "17:30",
            "UTC",
        );
        // Inside hours: plain addition.
        assert_eq!(
            due_at(MONDAY + 10 * HOUR, 60, Some(&week)),
            MONDAY + 11 * HOUR
        );
        // Before opening: the clock starts at 09:00.
        assert_eq!(
            due_at(MONDAY + 2 * HOUR, 60, Some(&week)),
            MONDAY + 10 * HOUR
        );
        // Across closing: 30 minutes Monday, 30 Tuesday morning.
        assert_eq!(
            due_at(MONDAY + 17 * HOUR, 60, Some(&week)),
            MONDAY + 24 * HOUR + 9 * HOUR + 30 * MINUTE
        );
        // Friday evening waits for Monday.
        let friday_evening = MONDAY + 4 * 24 * HOUR + 20 * HOUR;
        assert_eq!(
            due_at(friday_evening, 60, Some(&week)),
            MONDAY + 7 * 24 * HOUR + 10 * HOUR
        );
        // Exactly at closing time is still due that day.
        assert_eq!(
            due_at(MONDAY + 17 * HOUR, 30, Some(&week)),
            MONDAY + 17 * HOUR + 30 * MINUTE
        );
    }

    #[test]
    fn a_fixed_offset_moves_the_hours() {
        // 09:00 at +01:00 is 08:00 UTC.
        let amsterdam = hours(&["mon"], "09:00", "17:00", "+01:00");
        assert_eq!(due_at(MONDAY, 60, Some(&amsterdam)), MONDAY + 9 * HOUR);
        // Sunday 23:30 UTC is already Monday 00:30 at +01:00.
        let sunday_late = MONDAY - 30 * MINUTE;
        assert_eq!(due_at(sunday_late, 60, Some(&amsterdam)), MONDAY + 9 * HOUR);
        let new_york = hours(&["mon"], "09:00", "17:00", "-05:00");
        assert_eq!(due_at(MONDAY, 60, Some(&new_york)), MONDAY + 15 * HOUR);
    }

    #[test]
    fn bad_business_hours_name_their_key() {
        let bad = |days: &[&str], start: &str, end: &str, tz: &str| {
            Hours::parse(&BusinessHoursConfig {
                days: days.iter().map(|d| d.to_string()).collect(),
                start: start.into(),
                end: end.into(),
                timezone: tz.into(),
            })
            .unwrap_err()
            .0
        };
        assert_eq!(
            bad(&["mon", "funday"], "09:00", "17:00", "UTC"),
            "sla.business_hours.days[1]"
        );
        assert_eq!(bad(&[], "09:00", "17:00", "UTC"), "sla.business_hours.days");
        assert_eq!(
            bad(&["mon"], "9am", "17:00", "UTC"),
            "sla.business_hours.start"
        );
        assert_eq!(
            bad(&["mon"], "09:00", "25:00", "UTC"),
            "sla.business_hours.end"
        );
        assert_eq!(
            bad(&["mon"], "17:00", "09:00", "UTC"),
            "sla.business_hours.end"
        );
        assert_eq!(
            bad(&["mon"], "09:00", "17:00", "Europe/Amsterdam"),
            "sla.business_hours.timezone"
        );
    }

    #[test]
    fn the_queue_orders_by_rank_then_time_left_then_age() {
        let cfg = SlaConfig {
            default_minutes: 60,
            platforms: [("facebook".to_owned(), 30)].into(),
            business_hours: None,
        };
        let none: [&str; 0] = [];
        let now = MONDAY + 12 * HOUR;
        let mut items = vec![
            // (id, platform, flags, received, held)
            ("calm-old", "shop", vec![], now - 50 * MINUTE, 1),
            ("calm-fb", "facebook", vec![], now - 25 * MINUTE, 2),
            ("calm-new", "shop", vec![], now - 5 * MINUTE, 3),
            ("pii", "shop", vec!["pii"], now - MINUTE, 4),
            ("lead", "shop", vec!["lead"], now - 2 * HOUR, 5),
            ("press", "shop", vec!["press"], now, 6),
            (
                "selfharm",
                "shop",
                vec!["self_harm", "pii"],
                now - MINUTE,
                7,
            ),
        ];
        items.sort_by_key(|(id, platform, flags, received, held)| {
            let s = standing(&cfg, None, platform, flags, None, *received, now);
            sort_key(&s, *held, id)
        });
        let order: Vec<&str> = items.iter().map(|i| i.0).collect();
        // A lead flag is no risk: overdue two hours, it leads the calm ones.
        assert_eq!(
            order,
            ["selfharm", "press", "pii", "lead", "calm-fb", "calm-old", "calm-new"]
        );
        let overdue = standing(&cfg, None, "shop", &none, None, now - 2 * HOUR, now);
        assert!(overdue.overdue);
        assert_eq!(overdue.due_at, now - HOUR);
        // The platform's own time counts when it is earlier than receipt.
        let s = standing(&cfg, None, "facebook", &none, Some(now - HOUR), now, now);
        assert!(s.overdue, "{s:?}");
        assert_eq!(s.due_at, now - 30 * MINUTE);
        // A platform clock ahead of ours does not buy time.
        let s = standing(&cfg, None, "facebook", &none, Some(now + HOUR), now, now);
        assert_eq!(s.due_at, now + 30 * MINUTE);
    }
}
