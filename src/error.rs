//! Errors, one type per failure kind.
//!
//! [`Error`] is any failure of the engine; each variant carries its own type, and
//! [`Error::kind`] names the kind. A domain refusal ([`DomainError`]) is kept apart from
//! technical failures: it is the only one that says "the business rules said no". A broken
//! invariant (a bug, in the engine or in an aggregate's code) is an [`InternalError`], never
//! a refusal.
//!
//! | kind | type | meaning |
//! |---|---|---|
//! | `Validation` | [`ValidationError`] | bad input shape or value |
//! | `Domain` | [`DomainError`] | the aggregate refused the command |
//! | `Concurrency` | [`ConcurrencyError`] | expected version mismatch, or conflicts kept winning |
//! | `Storage` | [`StorageError`] | the host's storage callback failed (`cause` holds its error) |
//! | `Integrity` | [`IntegrityError`] | a stored record is malformed or breaks the chain |
//! | `NotFound` | [`NotFoundError`] | unknown stream type or projection |
//! | `Projection` | [`ProjectionError`] | a projection's `evolve` failed |
//! | `Closed` | [`ClosedError`] | the engine was closed |
//! | `Forbidden` | [`ForbiddenError`] | a sync server's `authorize` refused the command |
//! | `Internal` | [`InternalError`] | a broken invariant: a bug, never a business refusal |
//!
//! What user code answers is smaller: a `decide` refuses with a [`Rejection`] (or, through
//! the object-safe aggregate trait, a [`DecideError`]); an `evolve` that cannot fold an event,
//! or a state that cannot be copied or written, is a [`StateError`]. The engine turns those
//! into the kinds above, by where they happened. The names and codes JavaScript sees
//! (`ValidationError`/`VALIDATION`, ...) are the binding's table (`src/wasm/errors.rs`).

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
    /// A `commandId` this engine never issued (`settled`).
    Command,
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

    pub fn command(command_id: &str) -> Self {
        Self {
            kind: NotFoundKind::Command,
            name: command_id.to_owned(),
            message: format!("unknown commandId '{command_id}': this engine never issued it"),
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

/// A sync server's `authorize` refused the command to this client's principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenError {
    pub message: String,
}

/// The engine was closed; only `close()` may be called again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClosedError;

/// A broken invariant: a bug in the engine or in an aggregate's code (an `evolve` that
/// cannot fold the stream's own events, a state that cannot be copied). Never a business
/// refusal, and never caused by a command's content alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalError {
    pub message: String,
}

impl InternalError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The kind of an [`Error`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    Domain,
    Concurrency,
    Storage,
    Integrity,
    NotFound,
    Projection,
    Closed,
    Forbidden,
    Internal,
}

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
    Forbidden(ForbiddenError),
    Internal(InternalError),
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation(_) => ErrorKind::Validation,
            Error::Domain(_) => ErrorKind::Domain,
            Error::Concurrency(_) => ErrorKind::Concurrency,
            Error::Storage(_) => ErrorKind::Storage,
            Error::Integrity(_) => ErrorKind::Integrity,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Projection(_) => ErrorKind::Projection,
            Error::Closed(_) => ErrorKind::Closed,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Internal(_) => ErrorKind::Internal,
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
            Error::Forbidden(e) => e.message.clone(),
            Error::Internal(e) => e.message.clone(),
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

    /// Shorthand for an [`InternalError`].
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(InternalError::new(message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} error: {}", self.kind(), self.message())
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
    ForbiddenError => Forbidden,
    InternalError => Internal,
);

/// Why a typed `decide` did not produce events: bad input or a business refusal.
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

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Validation(e) => Error::Validation(e),
            Rejection::Domain(e) => Error::Domain(e),
        }
    }
}

/// Why an aggregate (the object-safe form, e.g. one defined in JavaScript) did not decide:
/// it refused, or it could not use its state (a bug, never a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideError {
    Rejected(Rejection),
    Internal(InternalError),
}

impl DecideError {
    pub fn validation(message: impl Into<String>) -> Self {
        DecideError::Rejected(Rejection::validation(message))
    }

    pub fn domain(message: impl Into<String>) -> Self {
        DecideError::Rejected(Rejection::domain(message))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        DecideError::Internal(InternalError::new(message))
    }
}

impl From<Rejection> for DecideError {
    fn from(r: Rejection) -> Self {
        DecideError::Rejected(r)
    }
}

impl From<StateError> for DecideError {
    fn from(e: StateError) -> Self {
        DecideError::Internal(InternalError::new(e.message))
    }
}

impl From<DecideError> for Error {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Rejected(r) => r.into(),
            DecideError::Internal(e) => Error::Internal(e),
        }
    }
}

/// A state could not be computed or used: an `evolve` could not fold an event (e.g. its data
/// lacks a field), an initial state could not be made, or a state could not be copied,
/// written as JSON or restored. Where it happened decides what the caller sees: a
/// [`ProjectionError`] for a projection, an [`InternalError`] for an aggregate.
///
/// ```
/// use eventjournal::error::StateError;
/// fn balance(data: Option<u64>) -> Result<u64, StateError> {
///     data.ok_or_else(|| "money moved without balanceAfter".into())
/// }
/// assert_eq!(balance(None).unwrap_err().message, "money moved without balanceAfter");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub message: String,
}

impl StateError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The same error with `context` in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Self {
        StateError::new(format!("{context}: {}", self.message))
    }
}

impl From<String> for StateError {
    fn from(message: String) -> Self {
        StateError { message }
    }
}

impl From<&str> for StateError {
    fn from(message: &str) -> Self {
        StateError::new(message)
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
