//! Which events a projection, a subscription or a `readAll` wants: an [`EventFilter`] by
//! names, compiled against the log's interned names into a [`CompiledFilter`] that compares
//! small integers. This is the one matcher of the engine.
//!
//! ```
//! use eventjournal::filter::EventFilter;
//! let filter = EventFilter { types: vec!["money_deposited".into()], ..EventFilter::default() };
//! assert!(filter.matches("account_1", "BankAccount", "money_deposited"));
//! assert!(!filter.matches("account_1", "BankAccount", "money_withdrawn"));
//! ```

use crate::log::{EventView, Log, NameSym, StreamSym, RENAMED};

/// Which events pass. Empty lists and `None` mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event types; empty = every type.
    pub types: Vec<String>,
    /// Only events of streams of this type.
    pub stream_type: Option<String>,
    /// Only events of this stream.
    pub stream_id: Option<String>,
}

impl EventFilter {
    /// Does an event with these names pass?
    pub fn matches(&self, stream_id: &str, stream_type: &str, event_type: &str) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self.stream_type.as_deref().is_none_or(|t| t == stream_type)
            && self.stream_id.as_deref().is_none_or(|s| s == stream_id)
    }

    /// The filter resolved against the names `log` has interned. The result is valid while
    /// the log does not change (compile again for each pass over it).
    pub fn compile<'f>(&'f self, log: &Log) -> CompiledFilter<'f> {
        CompiledFilter {
            filter: self,
            types: (!self.types.is_empty()).then(|| self.types.iter().filter_map(|t| log.name_sym(t)).collect()),
            stream_type: self.stream_type.as_deref().map(|t| log.name_sym(t)),
            stream: self.stream_id.as_deref().map(|id| log.stream_sym(id)),
        }
    }
}

/// An [`EventFilter`] resolved against a log: names the log has never seen match nothing.
#[derive(Debug, Clone)]
pub struct CompiledFilter<'f> {
    filter: &'f EventFilter,
    /// `None`: every type. `Some(list)`: these types only.
    types: Option<Vec<NameSym>>,
    /// `None`: every stream type. `Some(None)`: a stream type the log has never seen.
    stream_type: Option<Option<NameSym>>,
    /// `None`: every stream. `Some(None)`: a stream the log does not have.
    stream: Option<Option<StreamSym>>,
}

impl CompiledFilter<'_> {
    /// Does the event pass? Committed events compare symbols; an event not in the log (a
    /// pending one) compares names.
    pub fn matches(&self, e: &EventView<'_>) -> bool {
        let Some(syms) = e.syms() else {
            return self.filter.matches(e.stream_id, e.stream_type, e.event_type);
        };
        // A type renamed by an upcaster may be a name the log has never seen: by name.
        let type_matches = if syms.event_type == RENAMED {
            self.filter.types.is_empty() || self.filter.types.iter().any(|t| t == e.event_type)
        } else {
            self.types.as_ref().is_none_or(|ts| ts.contains(&syms.event_type))
        };
        type_matches
            && self.stream_type.is_none_or(|st| st == Some(syms.stream_type))
            && self.stream.is_none_or(|s| s == Some(syms.stream))
    }

    /// Can no event of the log pass (a name the log has never seen)?
    pub fn matches_nothing(&self) -> bool {
        self.types.as_ref().is_some_and(Vec::is_empty) || self.stream_type == Some(None) || self.stream == Some(None)
    }

    /// The single event type asked for, if exactly one.
    pub fn single_type(&self) -> Option<NameSym> {
        match self.types.as_deref() {
            Some([only]) => Some(*only),
            _ => None,
        }
    }

    /// The stream type asked for, if any and known.
    pub fn stream_type(&self) -> Option<NameSym> {
        self.stream_type.flatten()
    }

    /// The stream asked for, if any and known.
    pub fn stream(&self) -> Option<StreamSym> {
        self.stream.flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::CanonicalJson;
    use crate::event::Event;

    fn log() -> Log {
        let mut log = Log::new();
        let events = [
            ("a1", "Account", "opened"),
            ("o1", "Order", "placed"),
            ("a1", "Account", "closed"),
        ];
        for (i, (stream, stream_type, event_type)) in events.into_iter().enumerate() {
            let e = Event {
                id: String::new(),
                stream_id: stream.into(),
                stream_type: stream_type.into(),
                event_type: event_type.into(),
                data: CanonicalJson::empty_object(),
                metadata: CanonicalJson::empty_object(),
                timestamp: 0,
                version: log.stream_version(stream) + 1,
                position: i as u64 + 1,
                hash: String::new(),
                erased: Vec::new(),
            };
            log.append_raw(&e, [0; 16], [0; 32]);
        }
        log
    }

    fn filter(types: &[&str], stream_type: Option<&str>, stream_id: Option<&str>) -> EventFilter {
        EventFilter {
            types: types.iter().map(|t| t.to_string()).collect(),
            stream_type: stream_type.map(str::to_owned),
            stream_id: stream_id.map(str::to_owned),
        }
    }

    #[test]
    fn compiled_filters_match_exactly_what_the_names_match() {
        let log = log();
        let filters = [
            filter(&[], None, None),
            filter(&["opened"], None, None),
            filter(&["opened", "placed"], None, None),
            filter(&["nope"], None, None),
            filter(&["nope", "closed"], None, None),
            filter(&[], Some("Account"), None),
            filter(&[], Some("Nope"), None),
            filter(&[], None, Some("o1")),
            filter(&[], None, Some("missing")),
            filter(&["closed"], Some("Account"), Some("a1")),
            filter(&["closed"], Some("Order"), None),
        ];
        for f in &filters {
            let compiled = f.compile(&log);
            let mut any = false;
            for e in log.range(1, 3) {
                let by_names = f.matches(e.stream_id, e.stream_type, e.event_type);
                assert_eq!(compiled.matches(&e), by_names, "{f:?} at {}", e.position);
                any |= by_names;
                // An event outside the log (no symbols) is matched by its names.
                let owned = e.to_event();
                assert_eq!(compiled.matches(&EventView::of(&owned)), by_names, "{f:?}");
            }
            if compiled.matches_nothing() {
                assert!(!any, "{f:?} said it matches nothing");
            }
        }
    }

    #[test]
    fn unknown_names_match_nothing_and_single_names_are_found() {
        let log = log();
        assert!(filter(&["nope"], None, None).compile(&log).matches_nothing());
        assert!(filter(&[], Some("Nope"), None).compile(&log).matches_nothing());
        assert!(filter(&[], None, Some("missing")).compile(&log).matches_nothing());
        assert!(!filter(&["nope", "placed"], None, None).compile(&log).matches_nothing());
        let f = filter(&["placed"], Some("Order"), Some("o1"));
        let c = f.compile(&log);
        assert_eq!(c.single_type(), log.name_sym("placed"));
        assert_eq!(c.stream_type(), log.name_sym("Order"));
        assert_eq!(c.stream(), log.stream_sym("o1"));
        assert_eq!(
            filter(&["opened", "placed"], None, None).compile(&log).single_type(),
            None
        );
    }
}
