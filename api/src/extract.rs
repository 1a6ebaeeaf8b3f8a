//! Extractors whose rejections are problems naming the parameter (axum's own answer in
//! text/plain otherwise). The auth extractor is [`crate::auth::Caller`].

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The query string as `T` (unknown parameters refused: `T` denies unknown fields).
#[derive(Debug)]
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Postgres text cannot hold NUL (a query with one fails as an internal error): refuse
        // it here, once for every parameter.
        if parts
            .uri
            .query()
            .is_some_and(|q| q.to_ascii_lowercase().contains("%00"))
        {
            return Err(ApiError::param(
                "query",
                "a NUL character (%00) is not allowed",
            ));
        }
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::param("query", e.body_text()))
    }
}

/// The route's single path parameter, as text (each route parses it and names it).
#[derive(Debug)]
pub struct Seg(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Seg {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(v) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::param("path", e.body_text()))?;
        if v.contains('\0') {
            return Err(ApiError::param(
                "path",
                "a NUL character (%00) is not allowed",
            ));
        }
        Ok(Seg(v))
    }
}

/// A JSON body as `T` (a malformed or mistyped body: a 400 problem naming `body`; another
/// Content-Type: 415; over the body limit: 413; never axum's text/plain answer).
#[derive(Debug)]
pub struct J<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for J<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        <axum::Json<T> as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
            .map(|axum::Json(v)| J(v))
            .map_err(|e| match e.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                    limit: crate::config::DEFAULT_MAX_BODY_BYTES,
                },
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                    "the body must be JSON: Content-Type: application/json".into(),
                ),
                _ => ApiError::param("body", e.body_text()),
            })
    }
}
