//! Time in workflows: delays (calendar days keep the wall-clock time in the run's zone, as
//! sequences do) and the trigger's send window, in the lead's zone or a fallback.

use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::schedule::{self, ScheduleError, SendWindow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Minutes,
    Hours,
    Days,
}

/// `{"amount": 3, "unit": "days"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    pub amount: u32,
    pub unit: Unit,
}

/// The longest delay a node may ask for.
pub const MAX_DELAY_DAYS: u32 = 365;

impl Delay {
    pub fn is_valid(&self) -> bool {
        let days = match self.unit {
            Unit::Minutes => self.amount / (24 * 60),
            Unit::Hours => self.amount / 24,
            Unit::Days => self.amount,
        };
        days <= MAX_DELAY_DAYS
    }

    /// The instant `self` after `from`: minutes and hours are elapsed time; days move the
    /// calendar date in `zone` and keep the local time (23 or 25 hours across DST).
    pub fn after(&self, from: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match self.unit {
            Unit::Minutes => from + Duration::minutes(i64::from(self.amount)),
            Unit::Hours => from + Duration::hours(i64::from(self.amount)),
            Unit::Days => {
                let local = from.with_timezone(&zone).naive_local();
                match local.checked_add_days(Days::new(u64::from(self.amount))) {
                    Some(moved) => schedule::resolve(zone, moved),
                    None => from + Duration::days(i64::from(self.amount)),
                }
            }
        }
    }
}

/// The trigger's send window: `{"tz": "lead" | "<IANA>", "fallback_tz", "days": [1..7]
/// (ISO, Monday = 1), "start": "09:00", "end": "17:00"}`. With `tz: "lead"` the zone is the
/// lead's `custom_fields.timezone`, else `fallback_tz`, else UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    #[serde(default = "lead_zone")]
    pub tz: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_tz: Option<String>,
    pub days: Vec<u8>,
    pub start: String,
    pub end: String,
}

fn lead_zone() -> String {
    "lead".into()
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WindowConfig {
    fn window_in(&self, zone: &str) -> Result<SendWindow, ScheduleError> {
        let days = self
            .days
            .iter()
            .map(|d| match d {
                1..=7 => Ok(WEEKDAYS[usize::from(d - 1)].to_owned()),
                other => Err(ScheduleError::UnknownWeekday(other.to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        SendWindow::parse(&days, &self.start, &self.end, zone)
    }

    /// Checks the window once with its fallback zone (activation refuses a bad one).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        self.window_in(self.fallback_tz.as_deref().unwrap_or("UTC"))?;
        if self.tz != "lead" {
            self.window_in(&self.tz)?;
        }
        Ok(())
    }

    /// The window for one lead: its own zone when asked for and valid, else the fallback.
    pub fn for_lead(&self, lead_zone: Option<&str>) -> Option<SendWindow> {
        let fallback = self.fallback_tz.as_deref().unwrap_or("UTC");
        let zone = if self.tz == "lead" {
            lead_zone
                .filter(|z| schedule::parse_zone(z).is_ok())
                .unwrap_or(fallback)
        } else {
            self.tz.as_str()
        };
        self.window_in(zone).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn days_keep_the_wall_clock_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Berlin moves to summer time on 2026-03-29.
        let three_days = Delay {
            amount: 3,
            unit: Unit::Days,
        };
        assert_eq!(
            three_days.after(utc("2026-03-27T09:00:00Z"), berlin),
            utc("2026-03-30T08:00:00Z")
        );
        let hours = Delay {
            amount: 72,
            unit: Unit::Hours,
        };
        assert_eq!(
            hours.after(utc("2026-03-27T09:00:00Z"), berlin),
            utc("2026-03-30T09:00:00Z")
        );
    }

    #[test]
    fn the_window_uses_the_lead_zone_then_the_fallback() {
        let config: WindowConfig = serde_json::from_value(serde_json::json!({
            "tz": "lead", "fallback_tz": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"
        }))
        .unwrap();
        config.validate().unwrap();
        let saturday = utc("2026-12-05T12:00:00Z");
        let berlin = config.for_lead(None).unwrap();
        assert_eq!(berlin.next_open(saturday), utc("2026-12-07T08:00:00Z"));
        let ny = config.for_lead(Some("America/New_York")).unwrap();
        assert_eq!(ny.next_open(saturday), utc("2026-12-07T14:00:00Z"));
        let bogus = config.for_lead(Some("Mars/Olympus")).unwrap();
        assert_eq!(bogus, berlin);
        let too_long = Delay {
            amount: 400,
            unit: Unit::Days,
        };
        assert!(!too_long.is_valid());
    }

    #[test]
    fn a_bad_window_is_refused() {
        let config: WindowConfig = serde_json::from_value(serde_json::json!({
            "days": [0], "start": "09:00", "end": "17:00"
        }))
        .unwrap();
        assert!(config.validate().is_err());
    }
}
