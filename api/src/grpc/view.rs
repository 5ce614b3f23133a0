//! Computed views (reports, explanations, the queue) go out as
//! `google.protobuf.Struct` in the JSON shape of their REST twin, so the two
//! front ends cannot drift apart. A Struct's numbers are doubles: an integer
//! beyond 2^53 (a large u128 nanodollar total) goes out as a decimal string
//! rather than lose digits.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value as PbValue};
use serde::Serialize;
use serde_json::Value;

use hodei_proto::v1 as pb;

use crate::app::Read;
use crate::error::ApiError;

/// Integers up to this are exact in a double.
const MAX_EXACT: u64 = 1 << 53;

pub(super) fn to_struct<T: Serialize>(value: &T) -> Result<Struct, ApiError> {
    match serde_json::to_value(value).map_err(|e| ApiError::internal(format!("encoding a view: {e}")))? {
        Value::Object(map) => Ok(Struct { fields: map.into_iter().map(|(k, v)| (k, convert(v))).collect() }),
        other => Ok(Struct { fields: [("value".to_string(), convert(other))].into_iter().collect() }),
    }
}

fn convert(v: Value) -> PbValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => number(&n),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(a) => Kind::ListValue(ListValue { values: a.into_iter().map(convert).collect() }),
        Value::Object(m) => Kind::StructValue(Struct { fields: m.into_iter().map(|(k, v)| (k, convert(v))).collect() }),
    };
    PbValue { kind: Some(kind) }
}

fn number(n: &serde_json::Number) -> Kind {
    let too_big = n.as_u64().map(|u| u > MAX_EXACT).or_else(|| n.as_i64().map(|i| i.unsigned_abs() > MAX_EXACT)).unwrap_or(false);
    match n.as_f64() {
        Some(f) if !too_big => Kind::NumberValue(f),
        _ => Kind::StringValue(n.to_string()),
    }
}

pub(super) fn reply<T: Serialize>(read: Read<T>) -> Result<pb::ViewReply, ApiError> {
    Ok(pb::ViewReply { view: Some(to_struct(&read.value)?), index: read.meta.index })
}

pub(super) fn list_reply<T: Serialize>(read: Read<Vec<T>>) -> Result<pb::ViewListReply, ApiError> {
    let views = read.value.iter().map(to_struct).collect::<Result<_, _>>()?;
    Ok(pb::ViewListReply { views, index: read.meta.index })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &Struct, k: &str) -> Kind {
        s.fields[k].kind.clone().expect("a kind")
    }

    #[test]
    fn objects_map_field_by_field_and_big_integers_stay_exact() {
        let v = serde_json::json!({"a": 1, "b": "x", "c": [true, null], "d": {"e": 2.5}, "big": 12345678901234567890u64});
        let s = to_struct(&v).unwrap();
        assert_eq!(kind(&s, "a"), Kind::NumberValue(1.0));
        assert_eq!(kind(&s, "b"), Kind::StringValue("x".into()));
        let Kind::ListValue(l) = kind(&s, "c") else { panic!("c is a list") };
        assert_eq!(l.values[0].kind, Some(Kind::BoolValue(true)));
        assert_eq!(l.values[1].kind, Some(Kind::NullValue(0)));
        let Kind::StructValue(d) = kind(&s, "d") else { panic!("d is an object") };
        assert_eq!(kind(&d, "e"), Kind::NumberValue(2.5));
        assert_eq!(kind(&s, "big"), Kind::StringValue("12345678901234567890".into()));
    }

    #[test]
    fn a_value_that_is_not_an_object_is_wrapped() {
        let s = to_struct(&vec![1u32, 2]).unwrap();
        let Kind::ListValue(l) = kind(&s, "value") else { panic!("wrapped list") };
        assert_eq!(l.values.len(), 2);
    }
}
