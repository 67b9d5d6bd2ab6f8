//! The controller-manager's error type: API errors from kube-rs plus the few failures of its
//! own (bad selectors, invalid specs, unexpected state), with upstream's error predicates.

use kube::core::Status;

/// An error from a controller's reconcile or from start-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error returned by the apiserver or the HTTP client.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// A label selector that cannot be parsed.
    #[error("invalid label selector: {0}")]
    Selector(String),
    /// A value in a spec that cannot be interpreted (e.g. a malformed percentage).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// A precondition that failed; retried later.
    #[error("{0}")]
    Retry(String),
    /// A --controllers entry naming no known controller.
    #[error("{0:?} is not in the list of known controllers")]
    UnknownController(String),
    /// Metrics registration failed.
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Several errors at once (e.g. parallel deletions).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Aggregate(Vec<Error>),
}

/// The controller-manager's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The apiserver's Status, when this is an API error.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Kube(kube::Error::Api(s)) => Some(s),
            _ => None,
        }
    }

    /// HTTP 404 / NotFound.
    pub fn is_not_found(&self) -> bool {
        self.status().is_some_and(|s| s.is_not_found())
    }

    /// HTTP 409 with reason AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        self.status().is_some_and(|s| s.reason == "AlreadyExists")
    }

    /// HTTP 409 Conflict (a stale resourceVersion).
    pub fn is_conflict(&self) -> bool {
        self.status().is_some_and(|s| s.code == 409 && s.reason != "AlreadyExists")
    }

    /// The write was refused because the namespace is terminating (upstream
    /// `HasStatusCause(err, NamespaceTerminatingCause)`).
    pub fn is_namespace_terminating(&self) -> bool {
        self.status().is_some_and(|s| {
            s.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
                || (s.code == 403 && s.message.contains("because it is being terminated"))
        })
    }

    /// HTTP 405 / 404 on a verb the resource does not serve.
    pub fn is_method_not_supported(&self) -> bool {
        self.status().is_some_and(|s| s.code == 405 || s.reason == "MethodNotAllowed")
    }
}

/// Folds a list of errors into one (None when empty).
pub fn aggregate(mut errors: Vec<Error>) -> Result<()> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Aggregate(errors)),
    }
}
