//! JSON in and out. A body is read within the size and time limits and parsed strictly (unknown
//! fields refused); every problem is a 400 that names the field it is in.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::State;
use super::error::{ApiError, HttpReason};
use crate::diagnostic::{did_you_mean_clause, nearest_expected_field};

/// A JSON answer.
pub fn reply(status: StatusCode, value: &impl Serialize) -> Response {
    // Most answers fit: one allocation, no growing.
    let mut body = Vec::with_capacity(256);
    serde_json::to_writer(&mut body, value).expect("the service's answers always serialize");
    // Built as it is sent: no `application/octet-stream` type set only to be replaced.
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A request body read within the size and time limits, to be parsed once the caller is known.
pub struct RawBody(pub Bytes);

impl FromRequest<Arc<State>> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<State>) -> Result<Self, ApiError> {
        let limits = &state.limits;
        let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limits.body_bytes as u64) {
            return Err(too_large(limits.body_bytes));
        }
        let body = Limited::new(request.into_body(), limits.body_bytes);
        let bytes = match tokio::time::timeout(limits.client_timeout, body.collect()).await {
            Ok(Ok(collected)) => RawBody(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large(limits.body_bytes));
            }
            Ok(Err(error)) => {
                return Err(ApiError::bad_request(HttpReason::InvalidBody, format!("the body was cut off: {error}")));
            }
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    HttpReason::RequestTimeout,
                    format!("the body did not arrive within {} s", limits.client_timeout.as_secs_f32()),
                ));
            }
        };
        Ok(bytes)
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        HttpReason::BodyTooLarge,
        format!("the body is larger than {} KiB, the most this service reads", limit / 1024),
    )
}

/// Parses a body, naming the field of the first problem (`scope[1]`, `expirationDate`). An
/// empty body reads as `{}`, so a missing field is named the same way whether the body is
/// empty or not.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let mut segments: Vec<&Segment> = error.path().iter().collect();
        let problem = error.inner().to_string();
        if problem.starts_with("unknown field") {
            // The path ends at the unknown field; the place to name is what holds it.
            segments.pop();
        }
        let place = match segments.is_empty() {
            true => "the body".to_string(),
            false => format!("`{}`", place(&segments)),
        };
        let hint = did_you_mean_clause(nearest_expected_field(&problem));
        ApiError::bad_request(HttpReason::InvalidBody, format!("{place}: {problem}{hint}"))
    })?;
    deserializer.end().map_err(|error| {
        ApiError::bad_request(HttpReason::InvalidBody, format!("the body goes on after its JSON value: {error}"))
    })?;
    Ok(value)
}

/// `attributes.storage:k8s.namespace.name`, `scope[1]`.
fn place(segments: &[&Segment]) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Unknown => text.push_str(if text.is_empty() { "?" } else { ".?" }),
        }
    }
    text
}

/// For fields that must be present but may be `null` (`expirationDate`: null means never):
/// `None` when absent, `Some(None)` for `null`. Use with `#[serde(default)]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
