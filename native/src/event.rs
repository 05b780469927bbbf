//! One flight event decoded and checked as the contract would, or `None`: the caller then defers the record to
//! the Python path (the columnar validator, then pydantic), which decides and explains. So every check here
//! may refuse more than the contract does, never less; a property test holds the two to the same verdicts.

use std::borrow::Cow;

use compact_str::CompactString;
use serde::Deserialize;
use serde_json::Value;

use crate::calendar::{days_in_month, LocalTime};

/// The canonical field names only: an alias (`OPERA`, `Fecha-I`...), an operated column or any other key
/// makes the record the Python path's to decide.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload<'a> {
    #[serde(borrow, default)]
    flight_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scheduled_departure: Cow<'a, str>,
    #[serde(borrow)]
    airline_name: Cow<'a, str>,
    #[serde(borrow)]
    airline_code: Cow<'a, str>,
    #[serde(borrow)]
    flight_number: Cow<'a, str>,
    #[serde(borrow)]
    flight_type: Cow<'a, str>,
    // Absent means SCEL; null is refused here (the contract's default applies only to a missing key).
    #[serde(borrow, default = "scel")]
    origin: Cow<'a, str>,
    #[serde(borrow, default)]
    origin_city: Option<Cow<'a, str>>,
    #[serde(borrow)]
    destination: Cow<'a, str>,
    #[serde(borrow, default)]
    destination_city: Option<Cow<'a, str>>,
    #[serde(default)]
    month: Option<Value>,
}

fn scel() -> Cow<'static, str> {
    Cow::Borrowed("SCEL")
}

/// An accepted event, normalised as `FlightEvent` normalises it. Its texts are short enough to live inline
/// (`CompactString`), so keeping a batch of events allocates next to nothing.
pub struct Event {
    pub flight_id: Option<CompactString>,
    pub key_id: Option<CompactString>, // the record key's text, when the body names no flight
    pub local: LocalTime,
    pub offset: CompactString, // Santiago's UTC offset at `local`, `-03:00`
    pub airline_name: CompactString,
    pub airline_code: CompactString,
    pub flight_number: CompactString,
    pub flight_type: CompactString,
    pub destination: CompactString,
    pub origin_city: Option<CompactString>,
    pub destination_city: Option<CompactString>,
    pub month: Option<u32>,
}

impl Event {
    /// `FlightEvent.resolved_id`: the body's id, else the key's text (an event with neither is not kept).
    pub fn resolved_id(&self) -> &str {
        self.flight_id
            .as_deref()
            .or(self.key_id.as_deref())
            .unwrap_or_default()
    }

    /// The departure as pydantic writes it: local ISO time with its offset.
    pub fn write_departure(&self, out: &mut Vec<u8>) {
        self.local.write_iso(out);
        out.extend_from_slice(self.offset.as_bytes());
    }
}

/// What the checks need from outside: the years the contract allows, the known airlines, and Santiago's
/// offset for a local hour (`None` when it is ambiguous or skipped: a daylight-saving change).
pub struct Rules<'r> {
    pub max_bytes: usize,
    pub first_year: i32,
    pub last_year: i32,
    pub known_airline: &'r dyn Fn(&str) -> bool,
    pub hour_offset: &'r mut dyn FnMut(&str) -> Option<CompactString>,
}

pub fn decode(value: &[u8], key: Option<&[u8]>, rules: &mut Rules) -> Option<Event> {
    if value.is_empty() || value.len() > rules.max_bytes {
        return None;
    }
    // sonic-rs scans strings with SIMD (a third less time per event than serde_json here) and drives the same
    // serde derive, so the fields and refusals are those of `Payload`; tests hold its verdicts to the contract's.
    let payload: Payload = sonic_rs::from_slice(value).ok()?;
    let airline_name = payload.airline_name;
    if !(rules.known_airline)(&airline_name)
        || !matches(&payload.airline_code, 2, 4, upper_or_digit)
        || !matches(&payload.flight_number, 1, 10, |c| {
            c.is_ascii_alphanumeric() || c == b'.'
        })
        || !matches(&payload.destination, 3, 4, upper_or_digit)
        || !(payload.flight_type == "I" || payload.flight_type == "N")
        || payload.origin != "SCEL"
    {
        return None;
    }
    let flight_id = match payload.flight_id {
        Some(id) if valid_id(&id) => Some(CompactString::from(id.as_ref())),
        Some(_) => return None,
        None => None,
    };
    let origin_city = city(payload.origin_city)?;
    let destination_city = city(payload.destination_city)?;
    let (local, offset) = departure(&payload.scheduled_departure, rules)?;
    let month = match payload.month {
        None | Some(Value::Null) => None,
        Some(raw) => Some(month(&raw, &payload.scheduled_departure)?),
    };
    let key_id = match (&flight_id, key) {
        (Some(_), _) => None,
        // The key names the flight when the body does not; an id derived from the flight is the Python
        // path's to build.
        (None, Some(key)) if !key.is_empty() => {
            Some(CompactString::from(std::str::from_utf8(key).ok()?))
        }
        (None, _) => return None,
    };
    Some(Event {
        flight_id,
        key_id,
        local,
        offset,
        airline_name: CompactString::from(airline_name.as_ref()),
        airline_code: CompactString::from(payload.airline_code.as_ref()),
        flight_number: CompactString::from(payload.flight_number.as_ref()),
        flight_type: CompactString::from(payload.flight_type.as_ref()),
        destination: CompactString::from(payload.destination.as_ref()),
        origin_city,
        destination_city,
        month,
    })
}

fn upper_or_digit(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

fn matches(text: &str, shortest: usize, longest: usize, allowed: impl Fn(u8) -> bool) -> bool {
    (shortest..=longest).contains(&text.len()) && text.bytes().all(allowed)
}

/// Printable ASCII, 1-120 characters, no space at either end.
fn valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 120
        && bytes.iter().all(|b| (0x20..0x7f).contains(b))
        && bytes[0] != b' '
        && bytes[bytes.len() - 1] != b' '
}

/// `Some(None)` for a city not sent, `Some(Some(..))` for one the contract keeps as it is, `None` to defer.
fn city(value: Option<Cow<str>>) -> Option<Option<CompactString>> {
    let Some(text) = value else { return Some(None) };
    let first = text.chars().next()?;
    let last = text.chars().next_back()?;
    (plain_edge(first) && plain_edge(last) && text.chars().count() <= 100)
        .then(|| Some(CompactString::from(text.as_ref())))
}

/// A character no definition of whitespace strips: visible ASCII, or a Latin letter (every one of
/// U+00C0-U+024F but the signs × and ÷ is a letter to Python and to pydantic alike).
fn plain_edge(c: char) -> bool {
    c.is_ascii_graphic() || (('\u{C0}'..='\u{24F}').contains(&c) && c != '\u{D7}' && c != '\u{F7}')
}

/// `YYYY-MM-DD[T ]HH:MM:SS`, naive (Santiago time) or with Santiago's own offset of that hour.
fn departure(text: &str, rules: &mut Rules) -> Option<(LocalTime, CompactString)> {
    let bytes = text.as_bytes();
    if bytes.len() != 19 && bytes.len() != 25 {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        bytes[from..to].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    if bytes[4] != b'-'
        || bytes[7] != b'-'
        || !(bytes[10] == b'T' || bytes[10] == b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let local = LocalTime {
        year: i32::try_from(digits(0, 4)?).ok()?,
        month: digits(5, 7)?,
        day: digits(8, 10)?,
        hour: digits(11, 13)?,
        minute: digits(14, 16)?,
        second: digits(17, 19)?,
    };
    if !(1..=12).contains(&local.month)
        || local.day == 0
        || local.day > days_in_month(local.year, local.month)
        || local.hour > 23
        || local.minute > 59
        || local.second > 59
        || local.year < rules.first_year
        || local.year > rules.last_year
    {
        return None;
    }
    let offset = (rules.hour_offset)(&text[..13])?;
    let sent = &text[19..];
    if !sent.is_empty() && sent != offset {
        return None;
    }
    Some((local, offset))
}

/// A sent month (1-12, as a number or its text) that agrees with the departure: its month, or the next
/// day's (a flight just after midnight may be filed under the day before).
fn month(raw: &Value, departure: &str) -> Option<u32> {
    let month = match raw {
        Value::Number(number) => u32::try_from(number.as_u64()?).ok()?,
        Value::String(text) => {
            let parsed: u32 = text.parse().ok()?;
            (parsed.to_string() == *text).then_some(parsed)?
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    // The departure passed `departure` already, so these fields are digits of a real date.
    let year: i32 = departure[..4].parse().ok()?;
    let scheduled: u32 = departure[5..7].parse().ok()?;
    let day: u32 = departure[8..10].parse().ok()?;
    let next = if day == days_in_month(year, scheduled) {
        scheduled % 12 + 1
    } else {
        scheduled
    };
    (month == scheduled || month == next).then_some(month)
}
