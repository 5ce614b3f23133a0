//! Extractors that turn every malformed request into an [`ApiError`] with a JSON
//! body: the caller's identity, a JSON body (unknown fields, wrong types, too
//! large), path ids and the read consistency.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use hodei_cluster::Consistency;

use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorKind};

/// The authenticated caller; 401 without a valid bearer token.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth
where
    App: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let app = App::from_ref(state);
        let header = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        app.auth.verify_header(header).map(Auth)
    }
}

/// A JSON body; malformed or oversize bodies answer 400 or 413 with a JSON error.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                let status = rejection.status();
                let kind = match status {
                    http::StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
                    http::StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
                    _ => ErrorKind::Invalid,
                };
                Err(ApiError::new(kind, rejection.body_text()))
            }
        }
    }
}

/// A numeric id from the path (`/jobs/{id}`); anything else is 400.
pub struct Id(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        raw.parse::<u64>()
            .map(Id)
            .map_err(|_| ApiError::invalid_field("id", format!("{raw:?} is not a numeric id")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    #[serde(default)]
    consistency: Option<Consistency>,
}

/// `?consistency=linearizable|stale`; linearizable when absent.
pub struct ReadConsistency(pub Consistency);

impl<S: Send + Sync> FromRequestParts<S> for ReadConsistency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<ReadQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        Ok(ReadConsistency(q.consistency.unwrap_or_default()))
    }
}

/// A list's query string (`limit`, `cursor`, filters); unknown keys are 400.
pub struct ListQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ListQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<T>::from_request_parts(parts, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        Ok(ListQuery(q))
    }
}
