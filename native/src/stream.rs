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

/// One held outcome, with the sums of the outcomes before it in its list (since the list began: forgetting the
/// oldest leaves the differences between two entries right), so a window's figures cost two searches and a
/// subtraction, not a pass over the window.
#[derive(Clone, Copy)]
struct Entry {
    known_at: i64,
    delay: i64,
    delayed_before: i64,
    total_before: i64,
}

impl Entry {
    fn key(&self) -> (i64, i64) {
        (self.known_at, self.delay)
    }

    /// The delayed count and delay total of its list up to and including it.
    fn sums_through(&self, delayed_after: i64) -> (i64, i64) {
        (
            self.delayed_before + i64::from(self.delay > delayed_after),
            self.total_before + self.delay,
        )
    }
}

/// Outcomes by scope, then key; each list sorted by (known at, delay seconds).
pub struct Held {
    pub definition: Definition,
    lists: [FxHashMap<CompactString, Vec<Entry>>; 4],
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
        let delayed = i64::from(delay_seconds > self.definition.delayed_after);
        for (scope, key) in keys.iter().enumerate() {
            let held = self.lists[scope]
                .entry(CompactString::from(*key))
                .or_default();
            let at = held.partition_point(|e| e.key() <= (known_at, delay_seconds));
            let (delayed_before, total_before) = match (at.checked_sub(1), held.first()) {
                (Some(previous), _) => held[previous].sums_through(self.definition.delayed_after),
                (None, Some(first)) => (first.delayed_before, first.total_before),
                (None, None) => (0, 0),
            };
            held.insert(
                at,
                Entry {
                    known_at,
                    delay: delay_seconds,
                    delayed_before,
                    total_before,
                },
            );
            for later in &mut held[at + 1..] {
                later.delayed_before += delayed;
                later.total_before += delay_seconds;
            }
        }
    }

    /// Drop the outcomes no window of a moment at or after `t` can hold.
    pub fn forget_before(&mut self, t: i64) {
        let oldest = t - self.definition.longest();
        for lists in &mut self.lists {
            lists.retain(|_, held| {
                let gone = held.partition_point(|e| e.known_at < oldest);
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

    /// The features of an event known at `t` into `out` (`Definition::width` values; NaN where undefined);
    /// `fingers`: where the previous events' searches ended (one `Fingers` per batch, or a new one).
    pub fn features_at(&self, t: i64, keys: [&str; 4], out: &mut Vec<f64>, fingers: &mut Fingers) {
        let lists: [&[Entry]; 4] = std::array::from_fn(|scope| {
            self.lists[scope]
                .get(keys[scope])
                .map_or(&[][..], Vec::as_slice)
        });
        let delayed_after = self.definition.delayed_after;
        // Where each list's known-before-`t` part ends, found once per scope (three windows share it).
        let ends: [usize; 4] = std::array::from_fn(|scope| fingers.end(lists[scope], t));
        let figures = |list: &[Entry], first: usize, end: usize, out: &mut Vec<f64>| {
            let count = end - first;
            out.push(count as f64);
            if count == 0 {
                out.push(f64::NAN);
                out.push(f64::NAN);
                return;
            }
            let (start, (delayed_through, total_through)) =
                (list[first], list[end - 1].sums_through(delayed_after));
            let delayed = delayed_through - start.delayed_before;
            let total = total_through - start.total_before;
            out.push(delayed as f64 / count as f64);
            out.push(total as f64 / count as f64 / 60.0);
        };
        for &(scope, seconds) in &self.definition.aggregates {
            let (list, end) = (lists[scope], ends[scope]);
            figures(list, first_from(list, end, t - seconds), end, out);
        }
        let (list, end) = (lists[FLIGHT], ends[FLIGHT]);
        let first = first_from(list, end, t - self.definition.flight_seconds);
        figures(list, first, end, out);
        out.pop(); // the flight window reports the last delay and its age, not the mean delay
        if end > first {
            let last = list[end - 1];
            out.push(last.delay as f64 / 60.0);
            out.push((t - last.known_at) as f64 / 60.0);
        } else {
            out.push(f64::NAN);
            out.push(f64::NAN);
        }
    }
}

/// Where each list's last search ended, by list. In service a list ends before the events scored (nothing is
/// known after now), and a search from its end is short; a table that also holds outcomes known after the events
/// (a restarted scorer working off a backlog, a benchmark with the departures preloaded) would make every search
/// cross them, while consecutive events of a batch are known at nearby moments, so each search starts where the
/// previous one of its list ended. Valid while the outcomes held do not change (one batch).
#[derive(Default)]
pub struct Fingers(FxHashMap<usize, usize>);

impl Fingers {
    /// The first index of `list` whose outcome is known at or after `t` (`list.len()` when none is).
    fn end(&mut self, list: &[Entry], t: i64) -> usize {
        if list.is_empty() {
            return 0;
        }
        let finger = self.0.entry(list.as_ptr() as usize).or_insert(list.len());
        *finger = first_near(list, *finger, t);
        *finger
    }
}

/// The first index of `list` whose outcome is known at or after `from`, searched from `hint` in doubling steps,
/// backwards or forwards: the same answer as a binary search, in a few reads when `hint` is near it.
fn first_near(list: &[Entry], hint: usize, from: i64) -> usize {
    let hint = hint.min(list.len());
    if hint > 0 && list[hint - 1].known_at >= from {
        return first_from(list, hint, from);
    }
    // Everything before `low` is known before `from`.
    let (mut low, mut high, mut step) = (hint, list.len(), 1);
    while low + step <= list.len() {
        let probe = low + step - 1;
        if list[probe].known_at >= from {
            high = probe;
            break;
        }
        low = probe + 1;
        step *= 2;
    }
    low + list[low..high].partition_point(|e| e.known_at < from)
}

/// The first index of `list[..end]` whose outcome is known at or after `from` (`end` when none is), searched
/// backwards from `end` in doubling steps: a window of the present sits at the end of its list, so this reads
/// a few neighbouring entries where a binary search of a long list would jump across memory.
fn first_from(list: &[Entry], end: usize, from: i64) -> usize {
    let (mut low, mut high, mut step) = (0, end, 1);
    while step <= high {
        let probe = high - step;
        if list[probe].known_at < from {
            low = probe + 1;
            break;
        }
        high = probe;
        step *= 2;
    }
    low + list[low..high].partition_point(|e| e.known_at < from)
}

#[cfg(test)]
mod tests {
    use super::{first_from, first_near, Entry};

    #[test]
    fn the_search_from_the_end_finds_what_a_binary_search_finds() {
        for length in 0..40usize {
            let list: Vec<Entry> = (0..length)
                .map(|i| Entry {
                    known_at: (i / 3) as i64 * 10,
                    delay: 0,
                    delayed_before: 0,
                    total_before: 0,
                })
                .collect();
            for end in 0..=length {
                for from in -5..(length as i64 / 3 * 10 + 15) {
                    let expected = list[..end].partition_point(|e| e.known_at < from);
                    assert_eq!(
                        first_from(&list, end, from),
                        expected,
                        "{length} {end} {from}"
                    );
                    // From any hint, even past the end, the search from a finger finds the same in the whole list.
                    let whole = list.partition_point(|e| e.known_at < from);
                    assert_eq!(first_near(&list, end, from), whole, "{length} {end} {from}");
                    assert_eq!(
                        first_near(&list, length + 3, from),
                        whole,
                        "{length} past {from}"
                    );
                }
            }
        }
    }
}
