//! Extractors whose rejections are problems naming the parameter (axum's own answer in
//! text/plain otherwise). Auth extractors (API keys, ton_proof sessions) will live beside them.

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
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Seg(v))
            .map_err(|e| ApiError::param("path", e.body_text()))
    }
}
