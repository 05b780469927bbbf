//! The stream features' outcomes held by scope and key, and the features of a flight event known at a moment:
//! the compiled twin of `training.stream_features.StreamState`, which stays the reference (tests hold the two
//! equal value for value). The windows, scopes and the delay rule come from Python at construction, so this
//! file states none of them.

use compact_str::CompactString;
use rustc_hash::FxHashMap;

pub const AIRLINE: usize = 0;
pub const AIRPORT: usize = 1;
pub const DESTINATION: usize = 2;
pub const FLIGHT: usize = 3;
pub const SCOPES: [&str; 4] = ["airline", "airport", "destination", "flight"];

/// The windows, in the order of `STREAM_FEATURE_NAMES`: aggregate windows (count, share delayed, mean delay),
/// then the flight window (count, share delayed, last delay, its age).
pub struct Definition {
    pub aggregates: Vec<(usize, i64)>, // (scope, seconds)
    pub flight_seconds: i64,
    pub delayed_after: i64,
    pub airport_key: CompactString,
}

impl Definition {
    pub fn width(&self) -> usize {
        self.aggregates.len() * 3 + 4
    }

    fn longest(&self) -> i64 {
        self.aggregates
            .iter()
            .map(|&(_, seconds)| seconds)
            .fold(self.flight_seconds, i64::max)
    }
}

/// Outcomes as (known at, delay seconds), each list sorted, by scope, then key.
pub struct Held {
    pub definition: Definition,
    lists: [FxHashMap<CompactString, Vec<(i64, i64)>>; 4],
}

impl Held {
    pub fn new(definition: Definition) -> Held {
        Held {
            definition,
            lists: Default::default(),
        }
    }

    /// Outcomes held, each counted once (under its airport-wide key).
    pub fn len(&self) -> usize {
        self.lists[AIRPORT].values().map(Vec::len).sum()
    }

    pub fn add(&mut self, known_at: i64, keys: [&str; 4], delay_seconds: i64) {
        let entry = (known_at, delay_seconds);
        for (scope, key) in keys.iter().enumerate() {
            let held = self.lists[scope]
                .entry(CompactString::from(*key))
                .or_default();
            let at = held.partition_point(|e| *e <= entry);
            held.insert(at, entry);
        }
    }

    /// Drop the outcomes no window of a moment at or after `t` can hold.
    pub fn forget_before(&mut self, t: i64) {
        let oldest = t - self.definition.longest();
        for lists in &mut self.lists {
            lists.retain(|_, held| {
                let gone = held.partition_point(|e| e.0 < oldest);
                held.drain(..gone);
                !held.is_empty()
            });
        }
    }

    /// The keys of a flight in each scope, airport-wide included.
    pub fn keys<'k>(
        &'k self,
        airline: &'k str,
        destination: &'k str,
        flight: &'k str,
    ) -> [&'k str; 4] {
        let mut keys = [""; 4];
        keys[AIRLINE] = airline;
        keys[AIRPORT] = self.definition.airport_key.as_str();
        keys[DESTINATION] = destination;
        keys[FLIGHT] = flight;
        keys
    }

    /// The features of an event known at `t` into `out` (`Definition::width` values; NaN where undefined).
    pub fn features_at(&self, t: i64, keys: [&str; 4], out: &mut Vec<f64>) {
        let held = |scope: usize| -> &[(i64, i64)] {
            self.lists[scope]
                .get(keys[scope])
                .map_or(&[], |v| v.as_slice())
        };
        let delayed_after = self.definition.delayed_after;
        let window = |list: &[(i64, i64)], seconds: i64| -> (usize, usize) {
            let end = list.partition_point(|e| e.0 < t);
            let first = list.partition_point(|e| e.0 < t - seconds);
            (first, end.max(first))
        };
        let figures = |list: &[(i64, i64)], (first, end): (usize, usize), out: &mut Vec<f64>| {
            let count = end - first;
            let inside = &list[first..end];
            let delayed = inside.iter().filter(|e| e.1 > delayed_after).count();
            let total: i64 = inside.iter().map(|e| e.1).sum();
            out.push(count as f64);
            if count == 0 {
                out.push(f64::NAN);
                out.push(f64::NAN);
            } else {
                out.push(delayed as f64 / count as f64);
                out.push(total as f64 / count as f64 / 60.0);
            }
        };
        for &(scope, seconds) in &self.definition.aggregates {
            let list = held(scope);
            figures(list, window(list, seconds), out);
        }
        let list = held(FLIGHT);
        let (first, end) = window(list, self.definition.flight_seconds);
        figures(list, (first, end), out);
        out.pop(); // the flight window reports the last delay and its age, not the mean delay
        if end > first {
            let (known, delay) = list[end - 1];
            out.push(delay as f64 / 60.0);
            out.push((t - known) as f64 / 60.0);
        } else {
            out.push(f64::NAN);
            out.push(f64::NAN);
        }
    }
}
