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

use crate::log::{EventView, Log, NameSym, StreamSym};

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

    /// True when the filter lets everything through.
    pub fn is_all(&self) -> bool {
        self.types.is_empty() && self.stream_type.is_none() && self.stream_id.is_none()
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
        self.types.as_ref().is_none_or(|ts| ts.contains(&syms.event_type))
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
