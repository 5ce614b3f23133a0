//! Extractors that turn every malformed request into an [`ApiError`] with a JSON
//! body: the caller's identity, a JSON body (unknown fields, wrong types, too
//! large), path ids and the read consistency.

use axum::body::Bytes;
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

/// A JSON object body; malformed or oversize bodies answer 400 or 413 with a
/// JSON error, a body that is not `application/json` 415.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || m.starts_with("application/") && m.ends_with("+json"));
        if !json {
            return Err(ApiError::new(ErrorKind::UnsupportedMediaType, "expected a body with Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let kind = match rejection.status() {
                http::StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
                _ => ErrorKind::Invalid,
            };
            ApiError::new(kind, rejection.body_text())
        })?;
        json_object(&bytes).map(Body)
    }
}

/// Parses a JSON object into `T`. Only an object: serde would also build a
/// struct from an array of its fields (`[null, null]`), which no client means.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
}

/// A numeric id from the path (`/jobs/{id}`); anything else is 400.
pub struct Id(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathText(raw) = PathText::from_request_parts(parts, state).await?;
        raw.parse::<u64>()
            .map(Id)
            .map_err(|_| ApiError::invalid_field("id", format!("{raw:?} is not a numeric id")))
    }
}

/// `?consistency=linearizable|stale` (linearizable when absent), the query of
/// every read that takes no other parameter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    #[serde(default)]
    consistency: Option<Consistency>,
}

/// A pool's name from the path (`/pools/{id}`); a path that does not decode is 400.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PoolPath {
    /// The pool's name: 1 to 63 of `[a-z0-9-_.]`, starting with a letter or digit.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PoolPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathText(id) = PathText::from_request_parts(parts, state).await?;
        Ok(PoolPath { id })
    }
}

/// The one parameter of a path, as text; a path that does not decode is 400.
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::invalid(e.body_text()))?;
        Ok(PathText(raw))
    }
}

/// `?consistency=linearizable|stale`; linearizable when absent.
pub struct ReadConsistency(pub Consistency);

impl<S: Send + Sync> FromRequestParts<S> for ReadConsistency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<ReadParams>::from_request_parts(parts, state)
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
