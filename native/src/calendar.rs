//! Calendar facts of a naive local time: the integers the model's calendar tables are indexed by.
//! The Python path computes the same with numpy's datetime64 (`training.features.calendar`); a test holds
//! the two equal on every dataset row.

use crate::write::padded;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl LocalTime {
    /// `YYYY-MM-DDTHH:MM:SS`.
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        let t = self;
        write_timestamp(
            out,
            t.year as u64,
            [t.month, t.day, t.hour, t.minute, t.second],
        );
    }
}

/// `YYYY-MM-DDTHH:MM:SS` from a year (0-9999) and [month, day, hour, minute, second].
pub fn write_timestamp(out: &mut Vec<u8>, year: u64, rest: [u32; 5]) {
    padded(out, year, 4);
    for (separator, value) in [b'-', b'-', b'T', b':', b':'].into_iter().zip(rest) {
        out.push(separator);
        padded(out, u64::from(value), 2);
    }
}

pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (the inverse of `days_from_civil`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The integer each calendar table is indexed by (see `Fact`).
pub fn fact(local: &LocalTime, fact: Fact) -> usize {
    match fact {
        Fact::Month => local.month as usize,
        Fact::DayOfYear => {
            (days_from_civil(local.year, local.month, local.day)
                - days_from_civil(local.year, 1, 1)
                + 1) as usize
        }
        Fact::Weekday => {
            (days_from_civil(local.year, local.month, local.day) + 3).rem_euclid(7) as usize
        }
        Fact::Hour => local.hour as usize,
        Fact::MonthDay => (local.month * 100 + local.day) as usize,
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Fact {
    Month,
    DayOfYear,
    Weekday, // 0 = Monday
    Hour,
    MonthDay, // month * 100 + day
}

impl Fact {
    pub fn named(name: &str) -> Option<Fact> {
        Some(match name {
            "month" => Fact::Month,
            "day_of_year" => Fact::DayOfYear,
            "weekday" => Fact::Weekday,
            "hour" => Fact::Hour,
            "month_day" => Fact::MonthDay,
            _ => return None,
        })
    }

    /// The largest value the fact takes: a table must have an entry for it.
    pub fn largest(self) -> usize {
        match self {
            Fact::Month => 12,
            Fact::DayOfYear => 366,
            Fact::Weekday => 6,
            Fact::Hour => 23,
            Fact::MonthDay => 1231,
        }
    }
}
