//! Working hours: weekdays and a daily span in an IANA time zone, correct across DST.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Working hours that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// The zone is not an IANA zone name.
    #[error("unknown time zone `{0}`; use an IANA name such as Europe/Paris")]
    Zone(String),
    /// No working day.
    #[error("no working day: name at least one weekday")]
    NoDays,
    /// The day ends before it starts.
    #[error("the working day ends ({end}) before it starts ({start})")]
    Span {
        /// The start.
        start: Time,
        /// The end.
        end: Time,
    },
}

/// The days and hours an account works.
#[derive(Debug, Clone)]
pub struct WorkingHours {
    zone: TimeZone,
    days: [bool; 7],
    start: Time,
    end: Time,
}

impl WorkingHours {
    /// Hours from `start` to `end` on `days`, in `zone`.
    pub fn new(zone: &str, days: &[Weekday], start: Time, end: Time) -> Result<WorkingHours, HoursError> {
        let zone = TimeZone::get(zone).map_err(|_| HoursError::Zone(zone.into()))?;
        if days.is_empty() {
            return Err(HoursError::NoDays);
        }
        if end <= start {
            return Err(HoursError::Span { start, end });
        }
        let mut set = [false; 7];
        for d in days {
            set[d.to_monday_zero_offset() as usize] = true;
        }
        Ok(WorkingHours { zone, days: set, start, end })
    }

    /// The working span of `date`, as instants (a wall time in a DST gap moves forward).
    fn span(&self, date: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.days[date.weekday().to_monday_zero_offset() as usize] {
            return None;
        }
        let at = |t: Time| self.zone.to_timestamp(date.to_datetime(t)).ok();
        Some((at(self.start)?, at(self.end)?))
    }

    /// The date of `t` in the zone of these hours.
    pub fn date_of(&self, t: Timestamp) -> Date {
        t.to_zoned_datetime(self.zone.clone()).date()
    }

    /// Whether `t` lies in working hours.
    pub fn is_open(&self, t: Timestamp) -> bool {
        self.span(self.date_of(t)).is_some_and(|(open, close)| open <= t && t < close)
    }

    /// The first instant at or after `t` in working hours, and the close of that span.
    pub fn next_open(&self, t: Timestamp) -> (Timestamp, Timestamp) {
        let mut date = self.date_of(t);
        // Seven days always hold a working day; eight cover the day `t` is on.
        for _ in 0..8 {
            if let Some((open, close)) = self.span(date)
                && t < close
            {
                return (open.max(t), close);
            }
            date = date.checked_add(1.day()).unwrap_or(date);
        }
        (t, t)
    }
}

/// The days of the week, Monday first.
pub const WEEKDAYS: [jiff::civil::Weekday; 7] = [
    jiff::civil::Weekday::Monday,
    jiff::civil::Weekday::Tuesday,
    jiff::civil::Weekday::Wednesday,
    jiff::civil::Weekday::Thursday,
    jiff::civil::Weekday::Friday,
    jiff::civil::Weekday::Saturday,
    jiff::civil::Weekday::Sunday,
];
