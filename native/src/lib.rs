//! The scorer's compiled lane. `Validator.split` decodes and checks a batch's values, keeping the events it can
//! decide for certain and deferring every other record to the Python path; `Model.predict` scores the kept
//! events and writes their predictions as JSON bytes. Python (`consumer.native_lane`) builds both from the
//! same tables and rules the Python path uses, and stays the reference: tests hold the two to the same
//! verdicts, events, probabilities and bytes.

mod calendar;
mod event;
mod known;
mod model;
mod stream;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use compact_str::CompactString;
use rustc_hash::{FxHashMap, FxHashSet};

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use calendar::Fact;
use event::{Event, Rules};
use model::{Feature, Field, Index, StreamBins, MAX_FEATURES, MAX_TOP, UNKNOWN};

const MEMO_LIMIT: usize = 50_000;
// Timestamps this lane writes as `event_time`: 1970-01-01 up to the end of year 9999.
const LAST_MILLIS: i64 = 253_402_300_799_999;

#[pyclass(frozen)]
struct Validator {
    max_bytes: usize,
    first_year: i32,
    last_year: i32,
    known_airlines: FxHashSet<CompactString>,
    hour_offset: Py<PyAny>,
    offsets: Mutex<FxHashMap<CompactString, Option<CompactString>>>,
}

#[pymethods]
impl Validator {
    /// `hour_offset(text)`: Santiago's offset (`-03:00`) for every local time in the hour `YYYY-MM-DD?HH`, or
    /// None when it changes within the hour; asked once per hour and remembered.
    #[new]
    fn new(
        max_bytes: usize,
        first_year: i32,
        last_year: i32,
        known_airlines: HashSet<String>,
        hour_offset: Py<PyAny>,
    ) -> Self {
        let known_airlines = known_airlines
            .iter()
            .map(|name| CompactString::from(name.as_str()))
            .collect();
        Validator {
            max_bytes,
            first_year,
            last_year,
            known_airlines,
            hour_offset,
            offsets: Mutex::default(),
        }
    }

    /// Split a batch: the events kept here, and the positions left to the Python path.
    fn split(
        &self,
        py: Python<'_>,
        values: Vec<Option<Bound<'_, PyBytes>>>,
        keys: Vec<Option<Bound<'_, PyBytes>>>,
        timestamps: Vec<i64>,
    ) -> PyResult<Batch> {
        if values.len() != keys.len() || values.len() != timestamps.len() {
            return Err(PyValueError::new_err(
                "values, keys and timestamps differ in length",
            ));
        }
        let mut offsets = self
            .offsets
            .lock()
            .map_err(|_| PyValueError::new_err("offset memo poisoned"))?;
        let mut failure: Option<PyErr> = None;
        let mut hour_offset = |hour: &str| -> Option<CompactString> {
            if let Some(known) = offsets.get(hour) {
                return known.clone();
            }
            let answer = match self
                .hour_offset
                .call1(py, (hour,))
                .and_then(|a| a.extract::<Option<String>>(py))
            {
                Ok(answer) => answer.map(CompactString::from),
                Err(error) => {
                    failure.get_or_insert(error);
                    return None;
                }
            };
            if offsets.len() >= MEMO_LIMIT {
                offsets.clear();
            }
            offsets.insert(CompactString::from(hour), answer.clone());
            answer
        };
        let known_airline = |name: &str| self.known_airlines.contains(name);
        let mut rules = Rules {
            max_bytes: self.max_bytes,
            first_year: self.first_year,
            last_year: self.last_year,
            known_airline: &known_airline,
            hour_offset: &mut hour_offset,
        };
        let mut batch = Batch {
            events: Vec::new(),
            positions: Vec::new(),
            deferred: Vec::new(),
        };
        for (position, (value, key)) in values.iter().zip(&keys).enumerate() {
            let writable = (0..=LAST_MILLIS).contains(&timestamps[position]);
            let event = match value {
                Some(value) if writable => event::decode(
                    value.as_bytes(),
                    key.as_ref().map(|k| k.as_bytes()),
                    &mut rules,
                ),
                _ => None,
            };
            match event {
                Some(event) => {
                    batch.events.push(event);
                    batch.positions.push(position);
                }
                None => batch.deferred.push(position),
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(batch),
        }
    }
}

/// The events `Validator.split` kept, with their positions in the batch, and the positions it deferred.
#[pyclass(frozen)]
struct Batch {
    events: Vec<Event>,
    positions: Vec<usize>,
    deferred: Vec<usize>,
}

#[pymethods]
impl Batch {
    #[getter]
    fn positions(&self) -> Vec<usize> {
        self.positions.clone()
    }

    #[getter]
    fn deferred(&self) -> Vec<usize> {
        self.deferred.clone()
    }

    fn __len__(&self) -> usize {
        self.events.len()
    }

    /// The kept events column by column, named as `consumer.columnar.Columns` names its fields.
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        fn texts<'e>(
            events: &'e [Event],
            field: impl Fn(&'e Event) -> &'e CompactString,
        ) -> Vec<&'e str> {
            events.iter().map(|e| field(e).as_str()).collect()
        }
        fn optional<'e>(
            events: &'e [Event],
            field: impl Fn(&'e Event) -> &'e Option<CompactString>,
        ) -> Vec<Option<&'e str>> {
            events.iter().map(|e| field(e).as_deref()).collect()
        }
        let events = &self.events;
        let iso = |e: &Event, offset: bool| {
            let mut out = Vec::new();
            if offset {
                e.write_departure(&mut out)
            } else {
                e.local.write_iso(&mut out)
            }
            String::from_utf8(out).expect("ISO text is ASCII")
        };
        let columns = PyDict::new(py);
        columns.set_item("rows", self.positions.clone())?;
        columns.set_item("flight_id", optional(events, |e| &e.flight_id))?;
        columns.set_item(
            "departure",
            events.iter().map(|e| iso(e, true)).collect::<Vec<_>>(),
        )?;
        columns.set_item(
            "wall",
            events.iter().map(|e| iso(e, false)).collect::<Vec<_>>(),
        )?;
        columns.set_item("airline_name", texts(events, |e| &e.airline_name))?;
        columns.set_item("airline_code", texts(events, |e| &e.airline_code))?;
        columns.set_item("flight_number", texts(events, |e| &e.flight_number))?;
        columns.set_item("flight_type", texts(events, |e| &e.flight_type))?;
        columns.set_item("destination", texts(events, |e| &e.destination))?;
        columns.set_item("origin_city", optional(events, |e| &e.origin_city))?;
        columns.set_item(
            "destination_city",
            optional(events, |e| &e.destination_city),
        )?;
        columns.set_item("month", events.iter().map(|e| e.month).collect::<Vec<_>>())?;
        Ok(columns)
    }
}

#[pyclass(frozen)]
struct Model {
    model: model::Model,
    terms: Vec<Vec<u8>>,
    flagged: Vec<Vec<u8>>,
    threshold: Vec<u8>,
    version: Vec<u8>,
    stream_width: usize,
}

#[pymethods]
impl Model {
    /// `features`, in the encoder's column order: `("calendar", fact, None, table)`,
    /// `("vocabulary", field, {category: index}, table)` or `("cross", left, right, table)` (positions of the
    /// two features it combines). `terms`: each column's contribution as JSON; `flagged`: (feature position,
    /// name as JSON) of the features whose unseen categories a prediction names; `threshold` and `version`
    /// as a float and as JSON.
    /// A version that reads stream features gives `stream`: per binned feature (its position among the stream
    /// features, its inner edges, the encoder column of each bin, that of the missing bin), in the encoder's
    /// column order after `features`; and `stream_width`: how many stream features the definition has, as each
    /// prediction carries them all (in the definition's order).
    /// Keyword arguments only: two neighbours of the same type (the JSON of the threshold and of the version)
    /// cannot be swapped by position.
    #[new]
    #[pyo3(signature = (*, features, coefficients, intercept, threshold, threshold_json, version_json, terms, flagged, top, stream=Vec::new(), stream_width=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        features: Vec<Bound<'_, PyTuple>>,
        coefficients: Vec<f64>,
        intercept: f64,
        threshold: f64,
        threshold_json: Vec<u8>,
        version_json: Vec<u8>,
        terms: Vec<Vec<u8>>,
        flagged: Vec<(usize, Vec<u8>)>,
        top: usize,
        stream: Vec<(usize, Vec<f64>, Vec<i64>, i64)>,
        stream_width: usize,
    ) -> PyResult<Self> {
        let mut built: Vec<Feature> = Vec::with_capacity(features.len());
        for spec in &features {
            built.push(feature(spec, &built)?);
        }
        let columns = coefficients.len();
        let outside = |c: i64| c != UNKNOWN && !(0..columns as i64).contains(&c);
        for (position, feature) in built.iter().enumerate() {
            if feature.table.iter().any(|&c| outside(c)) {
                return Err(PyValueError::new_err(format!(
                    "feature {position}: a column beyond the coefficients"
                )));
            }
        }
        let mut bins = Vec::with_capacity(stream.len());
        for (position, edges, by_bin, missing) in stream {
            if position >= stream_width
                || by_bin.len() != edges.len() + 1
                || edges
                    .windows(2)
                    .any(|pair| pair[0] >= pair[1] || pair[1].is_nan())
                || edges.iter().any(|e| e.is_nan())
                || by_bin.iter().chain([&missing]).any(|&c| outside(c))
            {
                return Err(PyValueError::new_err(format!(
                    "stream feature {position}: its bins do not fit (within the width, increasing edges, a column per bin)"
                )));
            }
            bins.push(StreamBins {
                position,
                edges,
                by_bin,
                missing,
            });
        }
        if terms.len() != columns || flagged.iter().any(|(f, _)| *f >= built.len()) {
            return Err(PyValueError::new_err(
                "terms or flagged features do not fit the tables",
            ));
        }
        if built.len() + bins.len() > MAX_FEATURES || flagged.len() > 32 || top > MAX_TOP {
            return Err(PyValueError::new_err(format!(
                "at most {MAX_FEATURES} features, 32 flagged and a top of {MAX_TOP} (got {}, {}, {top})",
                built.len() + bins.len(),
                flagged.len()
            )));
        }
        let names = flagged.iter().map(|(_, name)| name.clone()).collect();
        let model = model::Model {
            features: built,
            stream: bins,
            coefficients,
            intercept,
            threshold,
            flagged: flagged.into_iter().map(|(f, _)| f).collect(),
            top,
        };
        Ok(Model {
            model,
            terms,
            flagged: names,
            threshold: threshold_json,
            version: version_json,
            stream_width,
        })
    }

    /// ((key, value) pairs of the predictions, probabilities) of a batch's kept events; `topics`, `partitions`,
    /// `offsets` and `timestamps` have one item per record of the whole batch, `scored_at` is JSON. A version
    /// that reads stream features needs `stream`: the outcomes held, when each kept event was known (seconds of
    /// Santiago's wall clock), and whether the departures were read to their end before the batch.
    #[pyo3(signature = (batch, topics, partitions, offsets, timestamps, scored_at, stream=None))]
    #[allow(clippy::too_many_arguments)]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        batch: &Batch,
        topics: Vec<Option<Bound<'py, PyString>>>,
        partitions: Vec<Option<i64>>,
        offsets: Vec<Option<i64>>,
        timestamps: Vec<i64>,
        scored_at: Vec<u8>,
        stream: Option<(PyRef<'py, StreamState>, Vec<i64>, bool)>,
    ) -> PyResult<(Bound<'py, PyList>, Vec<f64>)> {
        let reads = !self.model.stream.is_empty();
        let stream = match stream {
            Some((state, known, current)) if reads => {
                if known.len() != batch.events.len() {
                    return Err(PyValueError::new_err("one moment per kept event is needed"));
                }
                if state.held.definition.width() != self.stream_width {
                    return Err(PyValueError::new_err(
                        "the stream state's features differ in number from the model's",
                    ));
                }
                Some((state, known, current))
            }
            None if reads => {
                return Err(PyValueError::new_err(
                    "this version reads stream features: the outcomes held are needed",
                ))
            }
            _ => None,
        };
        let records = topics.len();
        if partitions.len() != records || offsets.len() != records || timestamps.len() != records {
            return Err(PyValueError::new_err(
                "topics, partitions, offsets and timestamps differ in length",
            ));
        }
        if batch.positions.iter().any(|&p| p >= records) {
            return Err(PyValueError::new_err(
                "a kept event beyond the records given",
            ));
        }
        let constants = write::Constants {
            threshold: &self.threshold,
            model_version: &self.version,
            scored_at: &scored_at,
            terms: &self.terms,
            flagged: &self.flagged,
        };
        let mut values: Vec<f64> = Vec::with_capacity(self.stream_width);
        let mut flight = CompactString::default();
        let mut pairs = Vec::with_capacity(batch.events.len());
        let mut probabilities = Vec::with_capacity(batch.events.len());
        let mut out = Vec::with_capacity(512);
        let mut fingers = stream::Fingers::default();
        let topics: Vec<Option<&str>> = topics
            .iter()
            .map(|topic| topic.as_ref().map(|t| t.to_str()).transpose())
            .collect::<PyResult<_>>()?;
        for (i, (event, &position)) in batch.events.iter().zip(&batch.positions).enumerate() {
            values.clear();
            if let Some((state, known, _)) = &stream {
                // Kept events' airline, destination, code and number carry no surrounding blanks (the
                // validator keeps only known airlines and plain codes), so they are the stream keys as they are.
                flight.clear();
                flight.push_str(&event.airline_code);
                flight.push('-');
                flight.push_str(&event.flight_number);
                let held = &state.held;
                let keys = held.keys(&event.airline_name, &event.destination, &flight);
                held.features_at(known[i], keys, &mut values, &mut fingers);
            }
            let carried = stream.as_ref().map(|(_, _, current)| write::Carried {
                values: &values,
                current: *current,
            });
            let score = self.model.score(event, &values);
            let source = write::Source {
                topic: topics[position],
                partition: partitions[position],
                offset: offsets[position],
                timestamp_ms: timestamps[position],
            };
            out.clear();
            write::prediction(
                &mut out,
                event,
                &score,
                &source,
                carried.as_ref(),
                &constants,
            );
            probabilities.push(score.probability);
            let key = PyBytes::new(py, event.resolved_id().as_bytes());
            pairs.push(PyTuple::new(py, [key, PyBytes::new(py, &out)])?);
        }
        Ok((PyList::new(py, pairs)?, probabilities))
    }
}

/// The outcomes the stream features come from (`training.stream_features.StreamState`'s compiled twin).
#[pyclass]
struct StreamState {
    held: stream::Held,
}

#[pymethods]
impl StreamState {
    /// `aggregates`: (scope name, seconds) per window, in `STREAM_FEATURE_NAMES` order; `flight_seconds`: the
    /// same flight's window; an outcome is delayed beyond `delayed_after` seconds; `airport_key`: the one key of
    /// the airport-wide scope.
    #[new]
    #[pyo3(signature = (*, aggregates, flight_seconds, delayed_after, airport_key))]
    fn new(
        aggregates: Vec<(String, i64)>,
        flight_seconds: i64,
        delayed_after: i64,
        airport_key: String,
    ) -> PyResult<Self> {
        let mut windows = Vec::with_capacity(aggregates.len());
        for (scope, seconds) in aggregates {
            let Some(index) = stream::SCOPES.iter().position(|s| *s == scope) else {
                return Err(PyValueError::new_err(format!("no scope {scope:?}")));
            };
            if index == stream::FLIGHT || seconds <= 0 {
                return Err(PyValueError::new_err(format!(
                    "an aggregate window of {scope:?} over {seconds} s"
                )));
            }
            windows.push((index, seconds));
        }
        if flight_seconds <= 0 {
            return Err(PyValueError::new_err("the flight window must be positive"));
        }
        Ok(StreamState {
            held: stream::Held::new(stream::Definition {
                aggregates: windows,
                flight_seconds,
                delayed_after,
                airport_key: CompactString::from(airport_key),
            }),
        })
    }

    fn __len__(&self) -> usize {
        self.held.len()
    }

    /// Hold an outcome known at `known_at` (seconds) of the flight with these keys.
    fn add(
        &mut self,
        known_at: i64,
        airline: &str,
        destination: &str,
        flight: &str,
        delay_seconds: i64,
    ) {
        let airport = self.held.definition.airport_key.clone();
        let keys = [airline, airport.as_str(), destination, flight];
        self.held.add(known_at, keys, delay_seconds);
    }

    fn forget_before(&mut self, t: i64) {
        self.held.forget_before(t);
    }

    /// The stream features of a flight event known at `t`, NaN where undefined.
    fn features_at(&self, t: i64, airline: &str, destination: &str, flight: &str) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.held.definition.width());
        let keys = self.held.keys(airline, destination, flight);
        self.held
            .features_at(t, keys, &mut out, &mut stream::Fingers::default());
        out
    }
}

/// When each record's event was known, in Santiago wall-clock seconds (`training.departures_table.known_at`'s
/// compiled twin): what the header's name, the moments a datetime holds and Santiago's offset per UTC hour are
/// comes from Python, so this states none of them.
#[pyclass(frozen)]
struct KnownAt {
    header: String,
    first: i64,
    last: i64,
    hour_offset: Py<PyAny>,
    offsets: Mutex<FxHashMap<i64, Option<i64>>>,
}

/// A record's header value, if it has exactly one of the name (a value of None is no value, as in the
/// reference); `Err(())` when the reference must decide.
fn header_value(headers: &Bound<'_, PyAny>, name: &str) -> Result<Option<i64>, ()> {
    if headers.is_none() {
        return Ok(None);
    }
    let list = headers.cast::<PyList>().map_err(|_| ())?;
    let mut found: Option<i64> = None;
    let mut seen = 0;
    for item in list.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| ())?;
        if pair.len() != 2 {
            return Err(());
        }
        let key = pair.get_item(0).map_err(|_| ())?;
        let key = key.cast::<PyString>().map_err(|_| ())?;
        if key.to_str().map_err(|_| ())? != name {
            continue;
        }
        let value = pair.get_item(1).map_err(|_| ())?;
        if value.is_none() {
            continue;
        }
        seen += 1;
        let text: &[u8] = if let Ok(bytes) = value.cast::<PyBytes>() {
            bytes.as_bytes()
        } else {
            value
                .cast::<PyString>()
                .map_err(|_| ())?
                .to_str()
                .map_err(|_| ())?
                .as_bytes()
        };
        found = Some(known::plain_integer(text).ok_or(())?);
    }
    if seen > 1 {
        return Err(());
    }
    Ok(found)
}

#[pymethods]
impl KnownAt {
    /// `header`: the simulated clock's header; `first`, `last`: the milliseconds a datetime in Santiago holds;
    /// `hour_offset(hour)`: Santiago's offset in seconds over the UTC hour (seconds since 1970 // 3600), or None
    /// when it changes within it; asked once per hour and remembered.
    #[new]
    fn new(header: String, first: i64, last: i64, hour_offset: Py<PyAny>) -> Self {
        KnownAt {
            header,
            first,
            last,
            hour_offset,
            offsets: Mutex::default(),
        }
    }

    /// (moments, deferred) of the records at `positions`, `timestamps` being every record's: the moment of each,
    /// and the indexes into `positions` whose moment the reference must compute (0 here).
    fn moments(
        &self,
        py: Python<'_>,
        records: &Bound<'_, PyList>,
        positions: Vec<usize>,
        timestamps: Vec<i64>,
    ) -> PyResult<(Vec<i64>, Vec<usize>)> {
        let mut offsets = self
            .offsets
            .lock()
            .map_err(|_| PyValueError::new_err("offset memo poisoned"))?;
        let mut moments = Vec::with_capacity(positions.len());
        let mut deferred = Vec::new();
        for (index, &position) in positions.iter().enumerate() {
            let timestamp = *timestamps
                .get(position)
                .ok_or_else(|| PyValueError::new_err("a position beyond the timestamps"))?;
            let headers = records
                .get_item(position)?
                .call_method0(intern!(py, "headers"))?;
            let Ok(sent) = header_value(&headers, &self.header) else {
                moments.push(0);
                deferred.push(index);
                continue;
            };
            let millis = known::chosen_millis(sent, timestamp, self.first, self.last);
            let seconds = millis.div_euclid(1000);
            let hour = seconds.div_euclid(3600);
            let offset = match offsets.get(&hour) {
                Some(&offset) => offset,
                None => {
                    let offset: Option<i64> = self.hour_offset.call1(py, (hour,))?.extract(py)?;
                    if offsets.len() >= MEMO_LIMIT {
                        offsets.clear();
                    }
                    offsets.insert(hour, offset);
                    offset
                }
            };
            match offset {
                Some(offset) => moments.push(seconds + offset),
                None => {
                    moments.push(0);
                    deferred.push(index);
                }
            }
        }
        Ok((moments, deferred))
    }
}

fn feature(spec: &Bound<'_, PyTuple>, before: &[Feature]) -> PyResult<Feature> {
    let (kind, first, second, table): (String, Bound<'_, PyAny>, Bound<'_, PyAny>, Vec<i64>) =
        spec.extract()?;
    let bad = |why: String| PyValueError::new_err(format!("feature {}: {why}", before.len()));
    let index = match kind.as_str() {
        "calendar" => {
            let name: String = first.extract()?;
            let fact =
                Fact::named(&name).ok_or_else(|| bad(format!("no calendar fact {name:?}")))?;
            if table.len() <= fact.largest() {
                return Err(bad(format!(
                    "the table of {name} is shorter than its values"
                )));
            }
            Index::Calendar(fact)
        }
        "vocabulary" => {
            let name: String = first.extract()?;
            let field =
                Field::named(&name).ok_or_else(|| bad(format!("no event field {name:?}")))?;
            let vocabulary: HashMap<String, usize> = second.extract()?;
            let vocabulary: FxHashMap<CompactString, usize> = vocabulary
                .into_iter()
                .map(|(category, index)| (CompactString::from(category), index))
                .collect();
            if table.len() != vocabulary.len() + 1
                || vocabulary.values().any(|&i| i >= vocabulary.len())
            {
                return Err(bad(
                    "the table must have one entry per category, then the unseen one".into(),
                ));
            }
            Index::Vocabulary(field, vocabulary)
        }
        "cross" => {
            let (left, right): (usize, usize) = (first.extract()?, second.extract()?);
            let (Some(l), Some(r)) = (before.get(left), before.get(right)) else {
                return Err(bad("a cross of features not defined before it".into()));
            };
            if table.len() != l.table.len() * r.table.len() {
                return Err(bad("a cross table must have an entry per pair".into()));
            }
            Index::Cross(left, right, r.table.len())
        }
        other => return Err(bad(format!("unknown kind {other:?}"))),
    };
    Ok(Feature { index, table })
}

#[pymodule]
fn flightdelay_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Validator>()?;
    module.add_class::<Batch>()?;
    module.add_class::<Model>()?;
    module.add_class::<StreamState>()?;
    module.add_class::<KnownAt>()?;
    Ok(())
}
