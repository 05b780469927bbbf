//! A prediction as JSON bytes, byte for byte what the Python path writes with orjson
//! (`consumer.encoding.encode_predictions`); tests compare the two.

use crate::calendar::{self, civil_from_days};
use crate::event::Event;
use crate::model::Score;

/// What is the same for every prediction of a batch by one model, already as JSON text.
pub struct Constants<'a> {
    pub threshold: &'a [u8],
    pub model_version: &'a [u8],
    pub scored_at: &'a [u8],
    pub terms: &'a [Vec<u8>],   // each encoder column's contribution
    pub flagged: &'a [Vec<u8>], // each flagged feature's name
}

/// The stream features a prediction carries, and whether the departures were read to their end before it.
pub struct Carried<'a> {
    pub values: &'a [f64],
    pub current: bool,
}

pub struct Source<'a> {
    pub topic: Option<&'a str>,
    pub partition: Option<i64>,
    pub offset: Option<i64>,
    pub timestamp_ms: i64,
}

pub fn prediction(
    out: &mut Vec<u8>,
    event: &Event,
    score: &Score,
    source: &Source,
    carried: Option<&Carried>,
    c: &Constants,
) {
    out.extend_from_slice(b"{\"flight_id\":");
    string(out, event.resolved_id());
    out.extend_from_slice(b",\"delay_probability\":");
    float(out, score.probability);
    out.extend_from_slice(b",\"delayed\":");
    out.extend_from_slice(if score.delayed { b"true" } else { b"false" });
    out.extend_from_slice(b",\"threshold\":");
    out.extend_from_slice(c.threshold);
    out.extend_from_slice(b",\"model_version\":");
    out.extend_from_slice(c.model_version);
    out.extend_from_slice(b",\"top_contributions\":[");
    join(
        out,
        score
            .top_columns()
            .iter()
            .map(|&column| c.terms[column].as_slice()),
    );
    out.extend_from_slice(b"],\"unseen_categories\":[");
    let unseen = c
        .flagged
        .iter()
        .enumerate()
        .filter(|(position, _)| score.unseen & 1 << position != 0);
    join(out, unseen.map(|(_, name)| name.as_slice()));
    out.extend_from_slice(b"],\"scheduled_departure\":\"");
    event.write_departure(out);
    out.extend_from_slice(b"\",\"event_time\":\"");
    utc_millis(out, source.timestamp_ms);
    out.extend_from_slice(b"\",\"scored_at\":");
    out.extend_from_slice(c.scored_at);
    out.extend_from_slice(b",\"source\":{\"topic\":");
    match source.topic {
        Some(topic) => string(out, topic),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"partition\":");
    optional_int(out, source.partition);
    out.extend_from_slice(b",\"offset\":");
    optional_int(out, source.offset);
    out.push(b'}');
    if let Some(carried) = carried {
        out.extend_from_slice(b",\"stream_features\":[");
        for (i, &value) in carried.values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if value.is_finite() {
                float(out, value);
            } else {
                out.extend_from_slice(b"null");
            }
        }
        out.extend_from_slice(b"],\"stream_features_current\":");
        out.extend_from_slice(if carried.current { b"true" } else { b"false" });
    }
    out.push(b'}');
}

fn join<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
}

pub fn string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

/// The shortest text that reads back as the same float, as orjson writes a finite float.
pub fn float(out: &mut Vec<u8>, value: f64) {
    if let Some(whole) = small_whole(value) {
        // What ryu writes for a whole number below 1e15 (a count, most often), without its digit search.
        out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
        out.extend_from_slice(b".0");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    out.extend_from_slice(buffer.format(value).as_bytes());
}

/// `value` as an integer when it is a whole number ryu writes as `<digits>.0`: below 1e15 in size, and not -0.0.
fn small_whole(value: f64) -> Option<i64> {
    let whole =
        value.abs() < 1e15 && value.fract() == 0.0 && !(value == 0.0 && value.is_sign_negative());
    whole.then_some(value as i64)
}

fn optional_int(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        Some(number) => out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// `value` in exactly `width` decimal digits, zero-padded (`value` below `10^width`), as `{:0width$}` writes it
/// without the formatter's machinery.
pub fn padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    let mut rest = value;
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    debug_assert_eq!(rest, 0, "{value} has more than {width} digits");
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm000]Z` for milliseconds since the epoch, as orjson writes a UTC datetime.
pub fn utc_millis(out: &mut Vec<u8>, millis: i64) {
    let seconds = millis.div_euclid(1000);
    let fraction = millis.rem_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    calendar::write_timestamp(
        out,
        year as u64,
        [month, day, hour as u32, minute as u32, second as u32],
    );
    if fraction > 0 {
        out.push(b'.');
        padded(out, fraction as u64, 3);
        out.extend_from_slice(b"000");
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::float;

    fn ryu(value: f64) -> String {
        ryu::Buffer::new().format(value).to_string()
    }

    fn written(value: f64) -> String {
        let mut out = Vec::new();
        float(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn whole_numbers_are_written_as_ryu_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            12.0,
            1e14,
            1e15 - 1.0,
            1e15,
            1e16,
            -1e15,
            2f64.powi(53),
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let scale = 10f64.powi((state % 18) as i32);
            let value = ((state >> 11) as f64 / (1u64 << 53) as f64 * scale).trunc();
            values.push(if state & 1 == 0 { value } else { -value });
            values.push(value + 0.5);
            values.push(f64::from_bits(state) % 1e17);
        }
        for value in values.into_iter().filter(|v| v.is_finite()) {
            assert_eq!(written(value), ryu(value), "{value:e}");
        }
    }
}
