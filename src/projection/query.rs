//! `engine.query(name, where)`: the records of a map-shaped projection whose fields equal
//! every field of `where`, numbers compared by value.

use serde_json::{Map, Value};

use crate::error::StateError;

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Does `record` have every field of `filter` with an equal value?
pub fn record_matches(record: &Value, filter: &Map<String, Value>) -> bool {
    match record {
        Value::Object(fields) => filter
            .iter()
            .all(|(k, want)| fields.get(k).is_some_and(|got| json_eq(got, want))),
        _ => false,
    }
}

/// Runs a query over a map-shaped state given as JSON text; the hits as a JSON array.
pub fn query_json(state_json: &str, filter: &Map<String, Value>) -> Result<String, StateError> {
    let state: Value = serde_json::from_str(state_json).map_err(|e| StateError::new(e.to_string()))?;
    let Value::Object(records) = state else {
        return Err("query needs a projection whose state is a map (object) of records".into());
    };
    let mut out = String::from("[");
    for hit in records.values().filter(|r| record_matches(r, filter)) {
        if out.len() > 1 {
            out.push(',');
        }
        crate::canonical::write_in_map_order(&mut out, hit, 1)
            .map_err(|_| StateError::new("a record of the projection is nested too deep"))?;
    }
    out.push(']');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_matches_every_field_by_value() {
        let state = json!({
            "o1": {"customerId": "c1", "status": "placed", "totalAmount": 100},
            "o2": {"customerId": "c2", "status": "placed", "totalAmount": 100.0},
            "o3": {"customerId": "c1", "status": "shipped"},
        })
        .to_string();
        let filter = |v: Value| v.as_object().unwrap().clone();
        let hits = |f: Value| -> Vec<Value> { serde_json::from_str(&query_json(&state, &filter(f)).unwrap()).unwrap() };
        assert_eq!(hits(json!({"customerId": "c1"})).len(), 2);
        assert_eq!(hits(json!({"totalAmount": 100})).len(), 2);
        assert_eq!(hits(json!({})).len(), 3);
        assert!(query_json("[1,2]", &filter(json!({}))).is_err());
    }
}
