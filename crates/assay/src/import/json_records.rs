//! The records of a JSON document too large to hold, taken one at a time as it is read.
//!
//! Peer exports hold their records in a top-level array, or in arrays under a few known keys of
//! a top-level object (`{"traces": [...], "observations": [...]}`, `{"post": [...]}`). Each
//! record is parsed whole (so a bad one is rejected alone, by its place) and handed on before
//! the next is read, so memory holds one record, not the document.

use std::io::Read;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{ParseError, Rejection, Sink};

/// Where a record sits: in the array under `key` (empty for a top-level array) at `index`, or
/// the whole top-level object (`index` is `None`: an object with none of the known arrays).
pub(super) struct Place<'k> {
    pub key: &'k str,
    pub index: Option<usize>,
}

impl Place<'_> {
    /// `traces[3]`, `[3]` in a top-level array, or `document`.
    pub fn location(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.key),
            None => "document".to_owned(),
        }
    }
}

/// What is done with each record. An error stops the walk and is its result.
pub(super) type EachRecord<'f> =
    dyn FnMut(&mut dyn Sink, Place<'_>, Value) -> Result<(), ParseError> + 'f;

/// Walks the document read from `input`, handing every record to `each` in the order of the
/// file: the elements of a top-level array, or of the arrays under `lists` in a top-level
/// object (other keys are skipped), or else the top-level object itself. A document that
/// breaks part-way keeps the records before the break and reports it as a rejection at its
/// line and column; one that breaks before any record fails as a whole.
pub(super) fn walk(
    input: impl Read,
    lists: &[&str],
    sink: &mut dyn Sink,
    each: &mut EachRecord<'_>,
) -> Result<(), ParseError> {
    let mut walk = Walk {
        lists,
        sink,
        each,
        records: 0,
        stopped: None,
    };
    let mut de = serde_json::Deserializer::from_reader(input);
    let parsed = TopSeed(&mut walk)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = walk.stopped.take() {
        return Err(e);
    }
    end_of_stream(parsed, walk.records, walk.sink, "document")
}

/// The end of a document parsed as it streams: a syntax or read error after `records` records
/// is a rejection at its line and column (what came before stays); with none before, the
/// input fails as a whole.
pub(super) fn end_of_stream(
    parsed: serde_json::Result<()>,
    records: u64,
    sink: &mut dyn Sink,
    what: &str,
) -> Result<(), ParseError> {
    match parsed {
        Ok(()) => Ok(()),
        Err(e) if records == 0 => Err(ParseError::Input(e.to_string())),
        Err(e) => {
            sink.reject(Rejection {
                location: format!("line {}, column {}", e.line(), e.column()),
                field: None,
                message: format!("{e}; the rest of the {what} was not read"),
            });
            Ok(())
        }
    }
}

struct Walk<'w> {
    lists: &'w [&'w str],
    sink: &'w mut dyn Sink,
    each: &'w mut EachRecord<'w>,
    records: u64,
    /// Set when `each` failed: the walk stops and this is its result.
    stopped: Option<ParseError>,
}

impl Walk<'_> {
    fn record<E: de::Error>(&mut self, place: Place<'_>, value: Value) -> Result<(), E> {
        self.records += 1;
        (self.each)(&mut *self.sink, place, value).map_err(|e| {
            self.stopped = Some(e);
            E::custom("the import stopped")
        })
    }
}

struct TopSeed<'s, 'w>(&'s mut Walk<'w>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array or an object of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ListSeed {
            walk: self.0,
            key: "",
        }
        .visit_seq(seq)
        .map(drop)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Until a known array is met, the object may be a record itself.
        let mut fields = Map::new();
        let mut listed = false;
        while let Some(key) = map.next_key::<String>()? {
            if self.0.lists.contains(&key.as_str()) {
                listed |= map.next_value_seed(ListSeed {
                    walk: &mut *self.0,
                    key: &key,
                })?;
            } else if listed {
                map.next_value::<IgnoredAny>()?;
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        if !listed {
            let place = Place {
                key: "",
                index: None,
            };
            self.0.record(place, Value::Object(fields))?;
        }
        Ok(())
    }
}

/// The value under a known key: an array's elements are records (the value says it was one);
/// anything else is skipped.
struct ListSeed<'s, 'w, 'k> {
    walk: &'s mut Walk<'w>,
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            let place = Place {
                key: self.key,
                index: Some(index),
            };
            self.walk.record(place, value)?;
            index += 1;
        }
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::request_log::tests::Collect;

    /// Walks `doc` through a 16-byte buffer, noting each record's place and its `n`.
    fn records(
        doc: &str,
        lists: &[&str],
    ) -> (Vec<(String, Value)>, Collect, Result<(), ParseError>) {
        let mut seen = Vec::new();
        let mut sink = Collect::default();
        let input = std::io::BufReader::with_capacity(16, doc.as_bytes());
        let result = walk(input, lists, &mut sink, &mut |_, place, value| {
            seen.push((place.location(), value));
            Ok(())
        });
        (seen, sink, result)
    }

    fn places(seen: &[(String, Value)]) -> Vec<&str> {
        seen.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn records_come_from_the_known_arrays_in_the_order_of_the_file() {
        let doc = r#"{"meta": {"page": 1}, "b": [{"n": 1}, {"n": 2}], "skipped": [{"n": 0}],
                      "a": [{"n": 3}], "a2": null, "after": {"big": [1, 2, 3]}}"#;
        let (seen, sink, result) = records(doc, &["a", "b", "a2"]);
        result.unwrap();
        assert_eq!(places(&seen), ["b[0]", "b[1]", "a[0]"]);
        assert_eq!(seen[2].1, serde_json::json!({"n": 3}));
        assert!(sink.rejections.is_empty());

        let (seen, _, result) = records(r#"[{"n": 1}, 7, {"n": 2}]"#, &["a"]);
        result.unwrap();
        assert_eq!(places(&seen), ["[0]", "[1]", "[2]"]);
        assert_eq!(
            seen[1].1,
            Value::from(7),
            "a record of the wrong type is the caller's to reject"
        );
    }

    #[test]
    fn an_object_without_a_known_array_is_one_record() {
        let (seen, _, result) = records(r#"{"id": "r1", "a": {"x": 1}, "n": 2}"#, &["a"]);
        result.unwrap();
        assert_eq!(places(&seen), ["document"]);
        assert_eq!(seen[0].1, serde_json::json!({"id": "r1", "n": 2}));
    }

    #[test]
    fn a_break_part_way_keeps_the_records_before_it_and_says_where() {
        let doc = "{\"a\": [{\"n\": 1},\n {\"n\": 2},\n {\"n\": oops}, {\"n\": 4}]}";
        let (seen, sink, result) = records(doc, &["a"]);
        result.unwrap();
        assert_eq!(places(&seen), ["a[0]", "a[1]"]);
        assert_eq!(sink.rejections.len(), 1);
        let cut = &sink.rejections[0];
        assert!(
            cut.location.starts_with("line 3, column "),
            "{}",
            cut.location
        );
        assert!(
            cut.message
                .ends_with("the rest of the document was not read"),
            "{}",
            cut.message
        );

        // Cut off before its end, too.
        let (seen, sink, result) = records(r#"{"a": [{"n": 1}, {"n": 2"#, &["a"]);
        result.unwrap();
        assert_eq!(places(&seen), ["a[0]"]);
        assert_eq!(sink.rejections.len(), 1);
    }

    #[test]
    fn a_break_before_any_record_fails_the_document() {
        for doc in [r#"{"a": [oops]}"#, "[", "\"text\"", ""] {
            let (seen, sink, result) = records(doc, &["a"]);
            assert!(seen.is_empty(), "{doc}");
            assert!(sink.rejections.is_empty(), "{doc}");
            assert!(matches!(result, Err(ParseError::Input(_))), "{doc}");
        }
    }

    #[test]
    fn an_error_from_a_record_stops_the_walk_and_is_its_result() {
        let mut sink = Collect::default();
        let mut count = 0;
        let doc = r#"[{"n": 1}, {"n": 2}, {"n": 3}]"#;
        let result = walk(doc.as_bytes(), &[], &mut sink, &mut |_, _, _| {
            count += 1;
            match count {
                2 => Err(ParseError::Input("stop here".to_owned())),
                _ => Ok(()),
            }
        });
        assert!(matches!(result, Err(ParseError::Input(m)) if m == "stop here"));
        assert_eq!(count, 2);
        assert!(sink.rejections.is_empty());
    }
}
