//! Errors, one type per failure kind.
//!
//! Every error that crosses into JavaScript becomes an `Error` whose `name` and `code` are the
//! ones returned by [`Error::name`] and [`Error::code`]:
//!
//! | type | `name` | `code` | meaning |
//! |---|---|---|---|
//! | [`ValidationError`] | `ValidationError` | `VALIDATION` | bad input shape or value |
//! | [`DomainError`] | `DomainError` | `DOMAIN` | the aggregate refused the command |
//! | [`ConcurrencyError`] | `ConcurrencyError` | `CONCURRENCY` | expected version mismatch, or conflicts kept winning |
//! | [`StorageError`] | `StorageError` | `STORAGE` | the host's storage callback failed (`cause` holds its error) |
//! | [`IntegrityError`] | `IntegrityError` | `INTEGRITY` | a stored record is malformed or breaks the chain |
//! | [`NotFoundError`] | `NotFoundError` | `NOT_FOUND` | unknown stream type or projection |
//! | [`ProjectionError`] | `ProjectionError` | `PROJECTION` | a projection's `evolve` failed |
//! | [`ClosedError`] | `ClosedError` | `CLOSED` | the engine was closed |
//!
//! A domain refusal ([`DomainError`]) is kept apart from technical failures: it is the only
//! one that says "the business rules said no".

use std::any::Any;
use std::fmt;
use std::rc::Rc;

/// Bad input: a value of the wrong type, out of range, missing, or too large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// What is wrong, in words a caller can act on.
    pub message: String,
}

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The aggregate refused the command (a business rule), e.g. "Insufficient funds".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub message: String,
}

impl DomainError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The stream was not at the version the caller expected, or concurrent writers kept
/// winning until the engine gave up retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyError {
    pub message: String,
    /// The stream concerned.
    pub stream_id: String,
    /// What the caller expected (`"any"`, `"no_stream"`, `"exists"` or a number), when known.
    pub expected: Option<String>,
    /// The stream's actual version when the check failed.
    pub actual: u64,
}

/// Why a storage call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFailure {
    /// The host's callback rejected or threw.
    Failed,
    /// The host's callback did not settle in time; the outcome is unknown.
    Timeout,
    /// The host's callback returned something that is not what the contract says.
    Malformed,
    /// The storage lacks a required method.
    Unsupported,
    /// The future driving the append was dropped before the storage answered.
    Abandoned,
}

impl StorageFailure {
    /// The stable `reason` string exposed to JavaScript.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageFailure::Failed => "failed",
            StorageFailure::Timeout => "timeout",
            StorageFailure::Malformed => "malformed",
            StorageFailure::Unsupported => "unsupported",
            StorageFailure::Abandoned => "abandoned",
        }
    }
}

/// The host's storage failed. Nothing of the failed call was committed.
#[derive(Clone)]
pub struct StorageError {
    pub message: String,
    pub reason: StorageFailure,
    /// The host's own error, opaque to the core (the binding stores a JS value here).
    pub cause: Option<Rc<dyn Any>>,
}

impl StorageError {
    pub fn new(reason: StorageFailure, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reason,
            cause: None,
        }
    }

    pub fn with_cause(mut self, cause: Rc<dyn Any>) -> Self {
        self.cause = Some(cause);
        self
    }
}

impl fmt::Debug for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageError")
            .field("message", &self.message)
            .field("reason", &self.reason)
            .field("cause", &self.cause.as_ref().map(|_| "<host error>"))
            .finish()
    }
}

impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.reason == other.reason
    }
}

/// A stored record is malformed or does not continue the chain. `position` names the first
/// bad record (the position it should have had when its own is unusable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityError {
    pub message: String,
    pub position: u64,
}

impl IntegrityError {
    pub fn at(position: u64, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            message: format!("integrity check failed at position {position}: {message}"),
            position,
        }
    }
}

/// What was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundKind {
    StreamType,
    Projection,
}

/// An unknown stream type or projection name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFoundError {
    pub kind: NotFoundKind,
    pub name: String,
    pub message: String,
}

impl NotFoundError {
    pub fn stream_type(name: &str) -> Self {
        Self {
            kind: NotFoundKind::StreamType,
            name: name.to_owned(),
            message: format!("unknown stream type '{name}': define it with defineAggregate first"),
        }
    }

    pub fn projection(name: &str) -> Self {
        Self {
            kind: NotFoundKind::Projection,
            name: name.to_owned(),
            message: format!("unknown projection '{name}': define it with defineProjection first"),
        }
    }
}

/// A projection's `evolve` failed at `position`; the projection stays stopped there until
/// a replay succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionError {
    pub projection: String,
    pub position: u64,
    pub cause: String,
    pub message: String,
}

impl ProjectionError {
    pub fn new(projection: &str, position: u64, cause: impl Into<String>) -> Self {
        let cause = cause.into();
        Self {
            message: format!(
                "projection '{projection}' stopped at position {position}: {cause} (fix it and call replay('{projection}'))"
            ),
            projection: projection.to_owned(),
            position,
            cause,
        }
    }
}

/// The engine was closed; only `close()` may be called again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClosedError;

/// Any failure of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Validation(ValidationError),
    Domain(DomainError),
    Concurrency(ConcurrencyError),
    Storage(StorageError),
    Integrity(IntegrityError),
    NotFound(NotFoundError),
    Projection(ProjectionError),
    Closed(ClosedError),
    /// The engine is in the middle of a synchronous call into user code (a `decide`,
    /// `evolve` or projection) that called back into it. The binding retries asynchronous
    /// calls once the engine is free; synchronous ones get a [`ValidationError`].
    Busy,
}

impl Error {
    /// The stable `code` exposed to JavaScript.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "VALIDATION",
            Error::Domain(_) => "DOMAIN",
            Error::Concurrency(_) => "CONCURRENCY",
            Error::Storage(_) => "STORAGE",
            Error::Integrity(_) => "INTEGRITY",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Projection(_) => "PROJECTION",
            Error::Closed(_) => "CLOSED",
            Error::Busy => "VALIDATION",
        }
    }

    /// The stable `name` exposed to JavaScript.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Validation(_) => "ValidationError",
            Error::Domain(_) => "DomainError",
            Error::Concurrency(_) => "ConcurrencyError",
            Error::Storage(_) => "StorageError",
            Error::Integrity(_) => "IntegrityError",
            Error::NotFound(_) => "NotFoundError",
            Error::Projection(_) => "ProjectionError",
            Error::Closed(_) => "ClosedError",
            Error::Busy => "ValidationError",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> String {
        match self {
            Error::Validation(e) => e.message.clone(),
            Error::Domain(e) => e.message.clone(),
            Error::Concurrency(e) => e.message.clone(),
            Error::Storage(e) => e.message.clone(),
            Error::Integrity(e) => e.message.clone(),
            Error::NotFound(e) => e.message.clone(),
            Error::Projection(e) => e.message.clone(),
            Error::Closed(_) => "the engine is closed".to_owned(),
            Error::Busy => "re-entrant call: the engine cannot be used synchronously from inside \
                            decide, evolve or a projection; call it after they return"
                .to_owned(),
        }
    }

    /// Shorthand for a [`ValidationError`].
    pub fn validation(message: impl Into<String>) -> Self {
        Error::Validation(ValidationError::new(message))
    }

    /// Shorthand for a [`DomainError`].
    pub fn domain(message: impl Into<String>) -> Self {
        Error::Domain(DomainError::new(message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message())
    }
}

impl std::error::Error for Error {}

macro_rules! into_error {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(e)
            }
        })*
    };
}

into_error!(
    ValidationError => Validation,
    DomainError => Domain,
    ConcurrencyError => Concurrency,
    StorageError => Storage,
    IntegrityError => Integrity,
    NotFoundError => NotFound,
    ProjectionError => Projection,
    ClosedError => Closed,
);

/// Why a `decide` did not produce events: bad input or a business refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Validation(ValidationError),
    Domain(DomainError),
}

impl Rejection {
    pub fn validation(message: impl Into<String>) -> Self {
        Rejection::Validation(ValidationError::new(message))
    }

    pub fn domain(message: impl Into<String>) -> Self {
        Rejection::Domain(DomainError::new(message))
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Validation(e) => Error::Validation(e),
            Rejection::Domain(e) => Error::Domain(e),
        }
    }
}

impl From<ValidationError> for Rejection {
    fn from(e: ValidationError) -> Self {
        Rejection::Validation(e)
    }
}

impl From<DomainError> for Rejection {
    fn from(e: DomainError) -> Self {
        Rejection::Domain(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
