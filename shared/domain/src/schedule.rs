//! When scheduled e-mails go out: sequence block timing and send windows, in the recipient
//! workspace's IANA time zone. Pure functions over instants; every result is UTC.
//!
//! - A delay in **days** moves the local calendar date and keeps the local wall-clock time
//!   (what "two days later" means to a person), so it is 23 or 25 hours across a DST change.
//! - A delay in **hours/minutes** is elapsed time.
//! - A local time that does not exist (the spring-forward gap) resolves to the first instant
//!   after the gap; an ambiguous one (the fall-back hour) to its first occurrence.
//! - A time outside the send window moves to the start of the next open window.

use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    UnknownZone(String),
    #[error("unknown weekday {0:?} (use mon, tue, wed, thu, fri, sat, sun)")]
    UnknownWeekday(String),
    #[error("{0:?} is not a time of day (use HH:MM)")]
    BadTime(String),
    #[error("the window must open before it closes and on at least one weekday")]
    EmptyWindow,
    #[error("a delay must be between 0 and 365 days")]
    DelayTooLong,
}

pub fn parse_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownZone(name.to_owned()))
}

/// Weekdays and hours during which mail may go out, in one time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendWindow {
    /// Monday first.
    pub days: [bool; 7],
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub zone: Tz,
}

fn parse_weekday(text: &str) -> Result<Weekday, ScheduleError> {
    let day = match text.trim().to_ascii_lowercase().get(..3) {
        Some("mon") => Weekday::Mon,
        Some("tue") => Weekday::Tue,
        Some("wed") => Weekday::Wed,
        Some("thu") => Weekday::Thu,
        Some("fri") => Weekday::Fri,
        Some("sat") => Weekday::Sat,
        Some("sun") => Weekday::Sun,
        _ => return Err(ScheduleError::UnknownWeekday(text.to_owned())),
    };
    Ok(day)
}

fn parse_time(text: &str) -> Result<NaiveTime, ScheduleError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| ScheduleError::BadTime(text.to_owned()))
}

impl SendWindow {
    pub fn parse(
        weekdays: &[String],
        opens: &str,
        closes: &str,
        zone: &str,
    ) -> Result<Self, ScheduleError> {
        let mut days = [false; 7];
        for day in weekdays {
            days[parse_weekday(day)?.num_days_from_monday() as usize] = true;
        }
        let window = SendWindow {
            days,
            opens: parse_time(opens)?,
            closes: parse_time(closes)?,
            zone: parse_zone(zone)?,
        };
        if window.opens >= window.closes || !window.days.contains(&true) {
            return Err(ScheduleError::EmptyWindow);
        }
        Ok(window)
    }

    /// The first instant at or after `at` inside the window.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local_date = at.with_timezone(&self.zone).date_naive();
        // Eight days always contain an open day (at least one weekday is set).
        for offset in 0..8u64 {
            let Some(date) = local_date.checked_add_days(Days::new(offset)) else {
                break;
            };
            if !self.days[date.weekday().num_days_from_monday() as usize] {
                continue;
            }
            let opens = resolve(self.zone, date.and_time(self.opens));
            let closes = resolve(self.zone, date.and_time(self.closes));
            if at < opens {
                return opens;
            }
            if at < closes {
                return at;
            }
        }
        at
    }

    /// The start of the next window strictly after the day of `at` (a daily cap was reached).
    pub fn next_day_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = at
            .with_timezone(&self.zone)
            .date_naive()
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX);
        self.next_open(resolve(self.zone, tomorrow.and_time(NaiveTime::MIN)))
    }
}

/// A local wall-clock time as an instant: the first instant after a DST gap, the earlier of
/// two in a DST overlap.
pub fn resolve(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // Gaps are at most a few hours; step until the wall clock exists again.
    for _ in 0..(4 * 60) {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// When a block goes out relative to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockTiming {
    After { days: u32, hours: u32, minutes: u32 },
    At(DateTime<Utc>),
}

/// The send instants of a sequence's blocks, the first relative to `start`. Calendar days
/// are counted in the window's zone (UTC without a window).
pub fn plan(
    start: DateTime<Utc>,
    blocks: &[BlockTiming],
    window: Option<&SendWindow>,
) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
    let zone = window.map(|w| w.zone).unwrap_or(Tz::UTC);
    let mut previous = start;
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        let due = match *block {
            BlockTiming::At(at) => at,
            BlockTiming::After {
                days,
                hours,
                minutes,
            } => {
                if days > 365 || hours > 365 * 24 {
                    return Err(ScheduleError::DelayTooLong);
                }
                let local = previous.with_timezone(&zone).naive_local();
                let moved = local
                    .checked_add_days(Days::new(u64::from(days)))
                    .ok_or(ScheduleError::DelayTooLong)?;
                let base = if days == 0 {
                    previous
                } else {
                    resolve(zone, moved)
                };
                base + Duration::hours(i64::from(hours)) + Duration::minutes(i64::from(minutes))
            }
        };
        let due = window.map(|w| w.next_open(due)).unwrap_or(due);
        out.push(due);
        previous = due;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn weekdays_9_to_17(zone: &str) -> SendWindow {
        let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| d.to_string())
            .collect();
        SendWindow::parse(&days, "09:00", "17:00", zone).unwrap()
    }

    #[test]
    fn inside_the_window_is_unchanged_and_outside_moves_to_the_next_opening() {
        let window = weekdays_9_to_17("Europe/Berlin");
        // Wednesday 10:00 Berlin (UTC+1 in winter).
        assert_eq!(
            window.next_open(utc("2026-12-02T09:00:00Z")),
            utc("2026-12-02T09:00:00Z")
        );
        // Wednesday 07:00 Berlin → 09:00 the same day.
        assert_eq!(
            window.next_open(utc("2026-12-02T06:00:00Z")),
            utc("2026-12-02T08:00:00Z")
        );
        // Friday 18:00 Berlin → Monday 09:00.
        assert_eq!(
            window.next_open(utc("2026-12-04T17:00:00Z")),
            utc("2026-12-07T08:00:00Z")
        );
        // Any offset on input: the same instant.
        let offset = DateTime::parse_from_rfc3339("2026-12-02T10:00:00+01:00").unwrap();
        assert_eq!(
            window.next_open(offset.with_timezone(&Utc)),
            utc("2026-12-02T09:00:00Z")
        );
    }

    #[test]
    fn a_sequence_across_spring_forward_keeps_local_times() {
        // US DST starts Sunday 2026-03-08 at 02:00 local.
        let window = weekdays_9_to_17("America/New_York");
        let one_day = BlockTiming::After {
            days: 1,
            hours: 0,
            minutes: 0,
        };
        let start = utc("2026-03-06T15:30:00Z"); // Friday 10:30 EST
        let times = plan(
            start,
            &[
                BlockTiming::After {
                    days: 0,
                    hours: 0,
                    minutes: 0,
                },
                one_day,
                one_day,
            ],
            Some(&window),
        )
        .unwrap();
        assert_eq!(
            times,
            vec![
                utc("2026-03-06T15:30:00Z"), // Friday 10:30 EST (UTC-5)
                utc("2026-03-09T13:00:00Z"), // Saturday moves to Monday 09:00 EDT (UTC-4)
                utc("2026-03-10T13:00:00Z"), // Tuesday 09:00 EDT
            ]
        );
    }

    #[test]
    fn a_day_delay_across_fall_back_is_25_hours_and_an_hour_delay_is_elapsed_time() {
        // EU DST ends Sunday 2026-10-25 at 03:00 local.
        let start = utc("2026-10-24T08:00:00Z"); // Saturday 10:00 CEST (UTC+2)
        let zone_window = SendWindow::parse(
            &["sat".into(), "sun".into(), "mon".into()],
            "00:00",
            "23:59",
            "Europe/Berlin",
        )
        .unwrap();
        let times = plan(
            start,
            &[
                BlockTiming::After {
                    days: 1,
                    hours: 0,
                    minutes: 0,
                },
                BlockTiming::After {
                    days: 0,
                    hours: 24,
                    minutes: 0,
                },
            ],
            Some(&zone_window),
        )
        .unwrap();
        // Sunday 10:00 CET (UTC+1) = 09:00Z: 25 hours later; then exactly 24 hours.
        assert_eq!(
            times,
            vec![utc("2026-10-25T09:00:00Z"), utc("2026-10-26T09:00:00Z")]
        );
    }

    #[test]
    fn local_times_in_the_gap_and_the_overlap_resolve_predictably() {
        let zone = parse_zone("America/New_York").unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve(zone, gap), utc("2026-03-08T07:00:00Z")); // 03:00 EDT
        let overlap = NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(resolve(zone, overlap), utc("2026-11-01T05:30:00Z")); // first 01:30 (EDT)
    }

    #[test]
    fn a_window_opening_in_the_gap_opens_right_after_it() {
        let window =
            SendWindow::parse(&["sun".into()], "02:30", "05:00", "America/New_York").unwrap();
        assert_eq!(
            window.next_open(utc("2026-03-08T05:00:00Z")),
            utc("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn the_next_day_after_a_cap_is_the_next_window() {
        let window = weekdays_9_to_17("Asia/Karachi");
        // Friday 12:00 Karachi → Monday 09:00 Karachi (UTC+5).
        assert_eq!(
            window.next_day_open(utc("2026-12-04T07:00:00Z")),
            utc("2026-12-07T04:00:00Z")
        );
    }

    #[test]
    fn bad_windows_are_refused() {
        assert_eq!(
            SendWindow::parse(&["mon".into()], "09:00", "17:00", "Mars/Olympus"),
            Err(ScheduleError::UnknownZone("Mars/Olympus".into()))
        );
        assert!(matches!(
            SendWindow::parse(&["funday".into()], "09:00", "17:00", "UTC"),
            Err(ScheduleError::UnknownWeekday(_))
        ));
        assert_eq!(
            SendWindow::parse(&["mon".into()], "17:00", "09:00", "UTC"),
            Err(ScheduleError::EmptyWindow)
        );
        assert!(matches!(
            SendWindow::parse(&["mon".into()], "9am", "17:00", "UTC"),
            Err(ScheduleError::BadTime(_))
        ));
    }
}
