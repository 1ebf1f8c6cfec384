//! Request extractors that answer bad input with problem+json naming the field at fault:
//! [`JsonBody`] for bodies and [`QueryParams`] for query strings.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::problem_code::ProblemCode;

/// The largest JSON body accepted by default, in bytes (`CONVENE_JSON_LIMIT_BYTES`).
pub const JSON_LIMIT: usize = 256 * 1024;

/// The configured JSON body limit, kept as app data so that a 413 can say what it is.
#[derive(Clone, Copy, Debug)]
pub struct JsonLimit(pub usize);

/// A JSON request body. Malformed JSON is a 400 `malformed_json`; a value of the wrong type or an
/// unknown field is a 422 `validation_failed` naming the field; a body over [`JSON_LIMIT`] is a 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Trims serde's messages to what a person needs (drops "at line 1 column 20").
fn plain(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Parses JSON bytes into `T`, mapping errors as [`JsonBody`] describes.
///
/// A whole number written with a fraction (`30.0`) is read as the integer it is: JSON Schema
/// counts it as one, so a client generated from the OpenAPI document may send it, and serde alone
/// refuses it for an integer field. Such bodies are rare, so they are read a second time (from a
/// [`serde_json::Value`] with the numbers rewritten) only when the first reading fails on the data.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            ProblemCode::MalformedJson,
            "the body is empty: send a JSON object",
            None,
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = serde_path_to_error::deserialize(&mut de);
    let value = match first {
        Ok(value) => value,
        Err(err) if err.inner().classify() == serde_json::error::Category::Data => {
            let mut json = match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(json) => json,
                Err(_) => return Err(invalid_field(err.path(), err.inner())),
            };
            if !whole_numbers_as_integers(&mut json) {
                return Err(invalid_field(err.path(), err.inner()));
            }
            // Read whole already (trailing text fails `from_slice`), so no `end` check is left.
            return serde_path_to_error::deserialize(json).map_err(|again| invalid_field(again.path(), again.inner()));
        }
        Err(err) => {
            let inner = err.into_inner();
            return Err(ApiError::bad_request(
                ProblemCode::MalformedJson,
                format!("the body is not valid JSON: {inner}"),
                None,
            ));
        }
    };
    de.end().map_err(|e| {
        ApiError::bad_request(
            ProblemCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
            None,
        )
    })?;
    Ok(value)
}

/// The 422 naming the field a value of the wrong type was found at.
fn invalid_field(path: &serde_path_to_error::Path, error: &serde_json::Error) -> ApiError {
    let message = plain(&error.to_string());
    ApiError::invalid(vec![crate::domain::FieldError::new(path.to_string(), message)])
}

/// Rewrites every whole-number float in `json` (`30.0`) as an integer, where one holds it;
/// true if any was rewritten.
fn whole_numbers_as_integers(json: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match json {
        Value::Number(n) if n.is_f64() => {
            // Within ±2^53 every integer is exact as a float (and the cast cannot truncate).
            // serde_json reads a float to within one unit in the last place, so `2201963501581525.0`
            // may come back a quarter off: a float that close to an integer is that integer.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            let Some(f) = n
                .as_f64()
                .map(f64::round)
                .filter(|r| r.abs() <= EXACT && n.as_f64().is_some_and(|f| (f - r).abs() <= r.abs() * f64::EPSILON))
            else {
                return false;
            };
            let whole = f as i64;
            *json = Value::from(whole);
            true
        }
        // Every item is visited (no short cut at the first rewritten one).
        Value::Array(items) => items
            .iter_mut()
            .map(whole_numbers_as_integers)
            .fold(false, |any, rewritten| any | rewritten),
        Value::Object(fields) => fields
            .values_mut()
            .map(whole_numbers_as_integers)
            .fold(false, |any, rewritten| any | rewritten),
        _ => false,
    }
}

/// Parses an optional JSON body: none (only whitespace) or `null` reads as `T::default()`.
pub fn parse_optional_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(text) = value.to_str() else { return false };
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !is_json(req) {
            return Box::pin(async {
                Err(ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ProblemCode::UnsupportedMediaType,
                    "Unsupported media type",
                    "send the body as JSON with Content-Type: application/json",
                ))
            });
        }
        let bytes = web::Bytes::from_request(req, payload);
        let limit = req.app_data::<JsonLimit>().map_or(JSON_LIMIT, |l| l.0);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        ProblemCode::PayloadTooLarge,
                        "The request body is too large",
                        format!("the body is larger than {limit} bytes"),
                    )
                } else {
                    ApiError::bad_request(
                        ProblemCode::UnreadableBody,
                        format!("the body could not be read: {e}"),
                        None,
                    )
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// A query string read into `T`; a bad value is a 400 `invalid_query` naming the parameter.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // PostgreSQL refuses NUL in text, and no filter needs a control character: refuse them here.
        if let Some((name, _)) = form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(name, value)| name.chars().chain(value.chars()).any(char::is_control))
        {
            let field = name.chars().filter(|c| !c.is_control()).collect::<String>();
            return std::future::ready(Err(ApiError::bad_request(
                ProblemCode::InvalidQuery,
                format!("{field}: must not contain control characters"),
                Some(field),
            )));
        }
        let parsed = form_urlencoded::parse(req.query_string().as_bytes());
        let de = serde_urlencoded::Deserializer::new(parsed);
        std::future::ready(serde_path_to_error::deserialize(de).map(QueryParams).map_err(|err| {
            let path = err.path().to_string();
            let message = plain(&err.into_inner().to_string());
            // A parameter the filter does not know fails at the top level: name it, cut short
            // (a client may send kilobytes of junk as a name).
            let field = match unknown_field(&message) {
                Some(name) => name.chars().take(64).collect(),
                None => path,
            };
            if message.starts_with("unknown field") {
                let detail = format!("{field}: unknown parameter; {}", expected_part(&message));
                return ApiError::bad_request(ProblemCode::InvalidQuery, detail, Some(field));
            }
            ApiError::bad_request(ProblemCode::InvalidQuery, format!("{field}: {message}"), Some(field))
        }))
    }
}

/// The name in serde's "unknown field `name`, expected one of ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.rfind("`, expected")
        .or_else(|| rest.rfind("`, there are no fields"))
        .map(|end| &rest[..end])
}

/// The "expected one of ..." part of serde's unknown-field message.
fn expected_part(message: &str) -> &str {
    message
        .rfind("expected ")
        .map_or("there are no parameters here", |i| &message[i..])
}

/// The handler for path parameters that do not parse (an id that is not a number).
pub fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let detail = format!("{} is not a valid path here: {err}", req.path());
    ApiError::bad_request(ProblemCode::InvalidPath, detail, Some("id".to_owned())).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        capacity: Option<i64>,
        tags: Option<Vec<String>>,
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let err = parse_json::<Input>(br#"{"tags": ["a", 3]}"#).unwrap_err();
        assert_eq!(err.code(), ProblemCode::ValidationFailed);
        assert_eq!(err.problem().errors[0].field, "tags[1]");
    }

    #[test]
    fn an_unknown_field_is_named() {
        let err = parse_json::<Input>(br#"{"capcity": 3}"#).unwrap_err();
        assert_eq!(err.problem().errors[0].field, "capcity");
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_read_as_an_integer() {
        let input = parse_json::<Input>(br#"{"capacity": 30.0}"#).unwrap();
        assert_eq!(input.capacity, Some(30));
        let large = parse_json::<Input>(br#"{"capacity": 2201963501581525.0}"#).unwrap();
        assert_eq!(large.capacity, Some(2_201_963_501_581_525));
        let err = parse_json::<Input>(br#"{"capacity": 30.5}"#).unwrap_err();
        assert_eq!(err.problem().errors[0].field, "capacity");
    }

    #[test]
    fn an_optional_body_may_be_null() {
        let input = parse_optional_json::<Option<Input>>(b" null ").unwrap();
        assert!(input.is_none());
    }

    #[test]
    fn broken_json_is_malformed() {
        assert_eq!(
            parse_json::<Input>(br#"{"capacity": "#).unwrap_err().code(),
            ProblemCode::MalformedJson
        );
        assert_eq!(parse_json::<Input>(b"").unwrap_err().code(), ProblemCode::MalformedJson);
        assert_eq!(
            parse_json::<Input>(b"{} {}").unwrap_err().code(),
            ProblemCode::MalformedJson
        );
    }
}
