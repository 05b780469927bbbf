//! A logistic model over one-hot categories, served from the same lookup tables the Python scorer indexes
//! (`consumer.scoring._LookupTables`): a feature is a table from an integer (a calendar fact, a category's
//! index in its vocabulary, or a pair of those for a cross) to an encoder column, or `UNKNOWN`.

use compact_str::CompactString;
use rustc_hash::FxHashMap;

use crate::calendar::{fact, Fact};
use crate::event::Event;

pub const UNKNOWN: i64 = -1;
pub const MAX_FEATURES: usize = 64; // a model's features fit in arrays on the stack and in a u64 of bits
pub const MAX_TOP: usize = 8;
const AGAINST: f64 = 1e6; // larger than any term: terms towards the decision sort before those against it

/// Which event field a vocabulary reads.
#[derive(Clone, Copy)]
pub enum Field {
    Airline,
    FlightType,
    Destination,
    Flight, // airline code and flight number, `AAL-226`
}

impl Field {
    pub fn named(name: &str) -> Option<Field> {
        Some(match name {
            "airline" => Field::Airline,
            "flight_type" => Field::FlightType,
            "destination" => Field::Destination,
            "flight" => Field::Flight,
            _ => return None,
        })
    }
}

pub enum Index {
    Calendar(Fact),
    Vocabulary(Field, FxHashMap<CompactString, usize>), // unseen values take the index after the last category
    Cross(usize, usize, usize), // positions of the two features, and the right one's width
}

pub struct Feature {
    pub index: Index,
    pub table: Vec<i64>, // encoder column by index
}

/// A binned stream feature (`training.stream_features.bin_labels`): the value at `position` of an event's
/// stream features falls in bin `i`, the number of `edges` at or below it, or in the missing bin when undefined.
pub struct StreamBins {
    pub position: usize,
    pub edges: Vec<f64>,
    pub by_bin: Vec<i64>, // encoder column by bin, `edges.len() + 1` of them
    pub missing: i64,
}

impl StreamBins {
    fn column(&self, values: &[f64]) -> i64 {
        let value = values[self.position];
        if value.is_nan() {
            self.missing
        } else {
            self.by_bin[self.edges.partition_point(|&edge| edge <= value)]
        }
    }
}

pub struct Model {
    pub features: Vec<Feature>,  // in the encoder's column order
    pub stream: Vec<StreamBins>, // after them, in the same order
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub threshold: f64,
    pub flagged: Vec<usize>, // positions of the features whose unseen categories a prediction names
    pub top: usize,
}

/// One event's score: its probability and decision, the columns of its top terms, and the flagged features
/// it had never seen (bit `i` for `Model::flagged[i]`).
pub struct Score {
    pub probability: f64,
    pub delayed: bool,
    top: [usize; MAX_TOP],
    top_len: usize,
    pub unseen: u32,
}

impl Score {
    pub fn top_columns(&self) -> &[usize] {
        &self.top[..self.top_len]
    }
}

impl Model {
    /// `stream`: the event's stream features, for a model that reads them (`stream` not empty).
    pub fn score(&self, event: &Event, stream: &[f64]) -> Score {
        let count = self.features.len() + self.stream.len();
        let mut indices = [0usize; MAX_FEATURES];
        let mut columns = [UNKNOWN; MAX_FEATURES];
        let mut flight = CompactString::default();
        for (j, feature) in self.features.iter().enumerate() {
            let index = match &feature.index {
                Index::Calendar(which) => fact(&event.local, *which),
                Index::Vocabulary(field, vocabulary) => {
                    let text = match field {
                        Field::Airline => event.airline_name.as_str(),
                        Field::FlightType => event.flight_type.as_str(),
                        Field::Destination => event.destination.as_str(),
                        Field::Flight => {
                            flight.clear();
                            flight.push_str(&event.airline_code);
                            flight.push('-');
                            flight.push_str(&event.flight_number);
                            flight.as_str()
                        }
                    };
                    vocabulary.get(text).copied().unwrap_or(vocabulary.len())
                }
                Index::Cross(left, right, width) => indices[*left] * width + indices[*right],
            };
            indices[j] = index;
            columns[j] = feature.table[index];
        }
        for (k, bins) in self.stream.iter().enumerate() {
            columns[self.features.len() + k] = bins.column(stream);
        }
        // Summed in column order from zero, then the intercept, as scikit-learn's sparse dot product does.
        let mut terms = [0.0f64; MAX_FEATURES];
        let mut decision = 0.0;
        for j in 0..count {
            if columns[j] != UNKNOWN {
                terms[j] = self.coefficients[columns[j] as usize];
            }
            decision += terms[j];
        }
        decision += self.intercept;
        let probability = expit(decision);
        let delayed = probability >= self.threshold;
        let (top, top_len) = self.explain(&columns[..count], &terms[..count], delayed);
        let unseen = self
            .flagged
            .iter()
            .enumerate()
            .filter(|(_, &feature)| columns[feature] == UNKNOWN)
            .fold(0u32, |bits, (position, _)| bits | 1 << position);
        Score {
            probability,
            delayed,
            top,
            top_len,
            unseen,
        }
    }

    /// The `top` known terms, those that pushed towards the decision first, each group largest first, ties in
    /// column order (`consumer.scoring.explanation_order`): the first `top` of a stable sort by that key,
    /// found by selection (a dozen features, three terms).
    fn explain(&self, columns: &[i64], terms: &[f64], delayed: bool) -> ([usize; MAX_TOP], usize) {
        let mut keys = [f64::INFINITY; MAX_FEATURES];
        for (j, key) in keys.iter_mut().enumerate().take(columns.len()) {
            if columns[j] != UNKNOWN {
                let toward = (terms[j] > 0.0) == delayed;
                *key = (if toward { 0.0 } else { AGAINST }) - terms[j].abs();
            }
        }
        let mut top = [0usize; MAX_TOP];
        let mut len = 0;
        let mut taken = 0u64;
        while len < self.top {
            let mut best: Option<usize> = None;
            for j in 0..columns.len() {
                if columns[j] == UNKNOWN || taken & 1 << j != 0 {
                    continue;
                }
                if best.is_none_or(|b| keys[j] < keys[b]) {
                    best = Some(j); // strictly smaller: the earlier column wins a tie, as a stable sort keeps it
                }
            }
            let Some(j) = best else { break };
            taken |= 1 << j;
            top[len] = columns[j] as usize;
            len += 1;
        }
        (top, len)
    }
}

/// SciPy's `expit` for one float64: `1 / (1 + exp(-x))` on the C library's `exp`, as Python's `math.exp` is.
fn expit(x: f64) -> f64 {
    let e = (-x).exp();
    if e.is_infinite() {
        0.0
    } else {
        1.0 / (1.0 + e)
    }
}
