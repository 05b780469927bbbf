//! When a flight event was known: the compiled twin of `training.departures_table.known_at` for the records it
//! can decide for certain (no header of the name, or one holding plain decimal digits); every other record is
//! left to the reference, which stays the definition (tests hold the two equal).

/// The header's value as the reference reads it, where that reading is certain: `-`? then 1 to 18 ASCII
/// digits. `None` for anything else (whitespace, underscores, a sign `+`, longer numbers), which Python's
/// `int` may read otherwise.
pub fn plain_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
    Some(if negative { -value } else { value })
}

/// The moment (UTC milliseconds) an event is known at: the header's value when it holds one within
/// `first..=last`, else the record's timestamp brought within them.
pub fn chosen_millis(sent: Option<i64>, timestamp: i64, first: i64, last: i64) -> i64 {
    match sent {
        Some(sent) if (first..=last).contains(&sent) => sent,
        _ => timestamp.clamp(first, last),
    }
}
