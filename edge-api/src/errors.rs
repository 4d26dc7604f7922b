//! The spec's error bodies, one constructor per status.
//!
//! Most errors are `{"detail": ..., "success": false}`; 402, 422 and 429
//! carry the richer bodies the spec documents (and the SDK reads:
//! `credits_reset_at` on 402, `error.retry_after` on 429).

use crate::env::StoreError;
use crate::http::Response;
use compositor::request::FieldError;
use serde_json::json;

/// Everything a request can fail with.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400: a request the API understood but cannot act on.
    BadRequest(String),
    /// 401: missing, malformed or unknown API key.
    Unauthorized(String),
    /// 402: not enough credits. Carries the ISO 8601 time credits reset.
    PaymentRequired {
        /// When the billing period ends.
        credits_reset_at: String,
    },
    /// 404 with a message, e.g. `Job not found`.
    NotFound(String),
    /// 404 of an unknown route (FastAPI's `{"detail": "Not Found"}`).
    NoRoute,
    /// 405 of a known path with the wrong method.
    MethodNotAllowed,
    /// 409: the resource is in a state that forbids the action.
    Conflict(String),
    /// 422: field errors.
    Validation(Vec<FieldError>),
    /// 429: rate limit exceeded.
    RateLimited {
        /// Requests allowed per window.
        limit: i64,
        /// Seconds until the window resets.
        reset_seconds: u64,
    },
    /// 500: a failure that is not the caller's fault.
    Internal(String),
    /// 502: an upstream (the caller's URL) failed.
    BadGateway(String),
}

impl ApiError {
    /// A 422 with one field error.
    pub fn field(field: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.to_string(),
            message: message.to_string(),
        }])
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::PaymentRequired { .. } => 402,
            ApiError::NotFound(_) | ApiError::NoRoute => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict(_) => 409,
            ApiError::Validation(_) => 422,
            ApiError::RateLimited { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::BadGateway(_) => 502,
        }
    }

    /// The response the spec prescribes.
    pub fn to_response(&self) -> Response {
        let detail = |d: &str| json!({ "detail": d, "success": false });
        let body = match self {
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::BadGateway(d) => detail(d),
            ApiError::NoRoute => json!({ "detail": "Not Found" }),
            ApiError::MethodNotAllowed => json!({ "detail": "Method Not Allowed" }),
            ApiError::Internal(code) => detail(&format!(
                "Rendering failed unexpectedly. Please try again or contact support. (Error: {code})"
            )),
            ApiError::PaymentRequired { credits_reset_at } => json!({
                "error": "credits_exhausted",
                "message": "You've run out of credits for this billing period.",
                "detail": "You've run out of credits for this billing period.",
                "actions": [],
                "credits_reset_at": credits_reset_at,
            }),
            ApiError::Validation(errors) => json!({
                "detail": "Validation error",
                "errors": errors,
                "success": false,
            }),
            ApiError::RateLimited {
                limit,
                reset_seconds,
            } => json!({
                "detail": format!("Rate limit exceeded. Try again in {reset_seconds} seconds."),
                "error": {
                    "type": "rate_limit_exceeded",
                    "code": "RATE_LIMIT_EXCEEDED",
                    "limit": limit,
                    "remaining": 0,
                    "reset_seconds": reset_seconds,
                    "retry_after": reset_seconds,
                    "resource": "api",
                },
            }),
        };
        let r = Response::json(self.status(), &body);
        match self {
            ApiError::RateLimited { reset_seconds, .. } => {
                r.with_header("retry-after", &reset_seconds.to_string())
            }
            _ => r,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(_: StoreError) -> Self {
        // The store's message may name internal keys; the caller gets a code.
        ApiError::Internal("STORE_UNAVAILABLE".into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.to_response().json_body();
        let text = body
            .get("detail")
            .and_then(|d| d.as_str())
            .unwrap_or("error");
        write!(f, "{} {}", self.status(), text)
    }
}

impl std::error::Error for ApiError {}
