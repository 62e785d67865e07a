use thiserror::Error;

/// Why a request cannot be evaluated (decisions D15, D16): never a silent deny.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("unknown permission `{permission}`{}", did_you_mean(suggestion))]
    UnknownPermission { permission: String, suggestion: Option<String> },
    #[error("unknown environment `{environment}`{}", did_you_mean(suggestion))]
    UnknownEnvironment { environment: String, suggestion: Option<String> },
    #[error("unknown attribute `{key}`{}", did_you_mean(suggestion))]
    UnknownAttribute { key: String, suggestion: Option<String> },
    #[error(
        "`{key}` is a global attribute: warden sets it from the principal, the environment and the time, never from a request"
    )]
    GlobalAttribute { key: String },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}
