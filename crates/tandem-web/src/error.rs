use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tandem_pipeline::pipeline::IngestError;
use tandem_store::StoreError;

/// An error as an API client sees it: a status and a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Extra fields (e.g. the position of a query syntax error).
    pub detail: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            detail: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication required")
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "your role does not allow this")
    }

    pub fn forbidden_because(why: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, why)
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) =
            (self.detail, body.as_object_mut())
        {
            obj.extend(extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Busy { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            StoreError::Query(m) => ApiError::bad_request(m),
            // The query is well formed but too costly as asked: retrying it unchanged would
            // only cost the same again, so not 503 (which invites a retry).
            StoreError::TimedOut(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            // Nobody waits for this answer; 499 is the usual "client closed request".
            StoreError::Cancelled => ApiError::new(
                StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
                e.to_string(),
            ),
            StoreError::Closed => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
            e => ApiError::internal(e),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::UnknownSource(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            IngestError::BadKey(_) => ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()),
            IngestError::Store(e) => e.into(),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<tandem_identity::IdentityError> for ApiError {
    fn from(e: tandem_identity::IdentityError) -> ApiError {
        match e {
            tandem_identity::IdentityError::Invalid(m) => ApiError::bad_request(m),
            tandem_identity::IdentityError::Store(e) => e.into(),
            // Our own record failed to serialise: a fault of ours, not the caller's input.
            e @ tandem_identity::IdentityError::Encode { .. } => ApiError::internal(e),
        }
    }
}

/// How a refusal of the alerts and incidents stages reads over HTTP: 404, 403, 400, and 409
/// with who changed what, so a stale page can say it.
impl From<tandem_cases::CaseError> for ApiError {
    fn from(e: tandem_cases::CaseError) -> ApiError {
        use tandem_cases::CaseError;
        match e {
            CaseError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            CaseError::Conflict {
                ref by,
                ref what,
                current,
                based_on,
                ..
            } => {
                let detail = serde_json::json!({
                    "changed_by": by,
                    "change": what,
                    "current_version": current,
                    "base_version": based_on,
                });
                let mut err = ApiError::new(StatusCode::CONFLICT, e.to_string());
                err.detail = Some(detail);
                err
            }
            CaseError::Refused(m) => ApiError::bad_request(m),
            CaseError::Forbidden(m) => ApiError::forbidden_because(m),
            CaseError::Store(e) => e.into(),
        }
    }
}
