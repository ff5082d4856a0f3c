//! The error every refused input gives: which field, and what is wrong with it, so the API
//! can say exactly what to change.

/// Why a piece of input was refused, and which field it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field at fault (`"name"`, `"address"`, ... or `"body"` for the whole body).
    pub field: String,
    /// What is wrong with it, for a human.
    pub message: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
