//! Discord's published OpenAPI document, as the judge of the fake Discord: every request the bot
//! sends must name a route and method the document has, with path and query parameters and a JSON
//! body that validate against the operation's schemas, and every answer the fake gives must
//! validate against the operation's response schema for its status.
//!
//! The document is `tests/discord-api-spec/openapi.json` (Discord's, MIT, see the README beside
//! it), compiled into the test binaries, parsed once per process ([`Spec::get`]). Its schemas are
//! JSON Schema 2020-12 (OpenAPI 3.1); they are checked with the `jsonschema` crate against the
//! whole document registered as one resource, so `$ref: "#/components/schemas/..."` resolves as
//! written, and each compiled validator is kept for the rest of the process.
//!
//! The fake calls [`Spec::check_request`] and [`Spec::check_response`] from its single dispatch
//! function, so a route added to the fake later is checked with no extra work.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, ValidationError, Validator};
use serde_json::Value;

/// The document, compiled in (a clone of the project has no `../shared`).
const DOCUMENT: &str = include_str!("../discord-api-spec/openapi.json");
/// The URI the document is registered under (a reserved `.invalid` host: nothing is fetched).
const DOCUMENT_URI: &str = "https://discord-api-spec.invalid/openapi.json";
/// The prefix serenity puts before every route.
const API_PREFIX: &str = "/api/v10";

/// What was wrong with one request or answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// No path of the document matches the request's path.
    UnknownRoute,
    /// The path exists but not with this method.
    UnknownMethod,
    /// A path parameter's value does not validate (a snowflake that is not digits, say).
    PathParameter,
    /// A query parameter the operation does not declare, or whose value does not validate.
    QueryParameter,
    /// The request body is missing, unexpected, of a media type the operation does not take, or
    /// does not validate against the operation's request schema.
    RequestBody,
    /// The fake answered with a status the operation does not document.
    ResponseStatus,
    /// The fake's answer does not validate against the response schema for its status.
    ResponseBody,
}

/// One way a request or an answer strays from Discord's document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The request's method, upper case.
    pub method: String,
    /// The request's path and query, as received (`/api/v10/...`).
    pub path: String,
    /// The spec's path template matched, e.g. `/channels/{channel_id}/messages` (empty when no
    /// route matched).
    pub route: String,
    /// What failed.
    pub kind: ViolationKind,
    /// Where in the body (a JSON pointer, e.g. `/components/0/components/1/style`), or the
    /// parameter's name; empty for the whole request.
    pub instance: String,
    /// Where in the document the failed rule is (a JSON pointer into `openapi.json`, e.g.
    /// `#/components/schemas/MessageCreateRequest/properties/content/maxLength`).
    pub schema: String,
    /// What failed, in words.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({:?}", self.method, self.path, self.kind)?;
        if !self.route.is_empty() {
            write!(f, ", route {}", self.route)?;
        }
        write!(f, "): {}", self.message)?;
        if !self.instance.is_empty() {
            write!(f, " at {}", self.instance)?;
        }
        if !self.schema.is_empty() {
            write!(f, " [schema {}]", self.schema)?;
        }
        Ok(())
    }
}

/// A matched path's parameters: `(name, value)` in path order.
pub type PathParams = Vec<(String, String)>;

/// One segment of a path template.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One path template of the document, with its operations.
#[derive(Debug)]
struct Template {
    segments: Vec<Segment>,
    operations: Vec<Operation>,
}

/// One operation (path template + method) of the document.
#[derive(Debug)]
pub struct Operation {
    /// The path template, e.g. `/channels/{channel_id}/messages`.
    pub template: String,
    /// The method, upper case.
    pub method: String,
    /// The operation's `operationId`, e.g. `create_message`.
    pub operation_id: String,
    /// JSON pointer (without `#`) to the operation object in the document.
    pointer: String,
    /// JSON pointer to the path item (for its shared `parameters`).
    item_pointer: String,
}

/// How a request's body came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestMedia {
    /// No body at all.
    None,
    /// `application/json` (or no content type) that parsed as JSON.
    Json,
    /// `multipart/form-data`: the JSON is its `payload_json` part; the other parts' field names
    /// are given.
    Multipart { fields: Vec<String> },
    /// Anything else (a body that is not JSON, another content type): the content type.
    Other(String),
}

/// The parsed document and its compiled validators.
pub struct Spec {
    document: &'static Value,
    registry: Registry<'static>,
    templates: Vec<Template>,
    /// Compiled validators by JSON pointer into the document.
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// Escapes one JSON pointer token (`~` and `/`).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Cuts a message to `max` characters.
fn cut(mut s: String, max: usize) -> String {
    if s.chars().count() > max {
        s = s.chars().take(max).collect();
        s.push('…');
    }
    s
}

impl Spec {
    /// The document, parsed and indexed once per process.
    pub fn get() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(Spec::load)
    }

    fn load() -> Spec {
        let document: &'static Value = Box::leak(Box::new(
            serde_json::from_str(DOCUMENT).expect("the Discord OpenAPI document is JSON"),
        ));
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .retrieve_known_draft_meta_schemas(false)
            .add(DOCUMENT_URI, document)
            .and_then(|builder| builder.prepare())
            .expect("the Discord OpenAPI document registers as a JSON Schema resource");
        let mut templates = Vec::new();
        for (template, item) in document["paths"].as_object().expect("the document has paths") {
            let segments = template
                .trim_matches('/')
                .split('/')
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Literal(s.to_owned()),
                })
                .collect();
            let item_pointer = format!("/paths/{}", escape(template));
            let operations = ["get", "put", "post", "patch", "delete", "head", "options"]
                .into_iter()
                .filter_map(|method| {
                    let op = item.get(method)?;
                    Some(Operation {
                        template: template.clone(),
                        method: method.to_ascii_uppercase(),
                        operation_id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                        pointer: format!("{item_pointer}/{method}"),
                        item_pointer: item_pointer.clone(),
                    })
                })
                .collect();
            templates.push(Template { segments, operations });
        }
        Spec {
            document,
            registry,
            templates,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The validator for the schema at `pointer` (a JSON pointer into the document), compiled on
    /// first use.
    fn validator(&self, pointer: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        // A JSON pointer in a URI fragment is percent-encoded (RFC 6901 §6): the document's path
        // templates have braces.
        let fragment: String = pointer
            .chars()
            .map(|c| match c {
                '{' => "%7B".to_owned(),
                '}' => "%7D".to_owned(),
                '%' => "%25".to_owned(),
                ' ' => "%20".to_owned(),
                c => c.to_string(),
            })
            .collect();
        let schema = serde_json::json!({ "$ref": format!("{DOCUMENT_URI}#{fragment}") });
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("the schema at #{pointer} of Discord's document compiles: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        validator
    }

    /// The value at `pointer`, following one `$ref` to `#/components/...` if it is one; with the
    /// pointer it was finally read at.
    fn resolve(&self, pointer: String) -> Option<(&'static Value, String)> {
        let value = self.document.pointer(&pointer)?;
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => Some((self.document.pointer(target)?, target.to_owned())),
            None => Some((value, pointer)),
        }
    }

    /// The operation for `method` and `path` (the path without query, with or without the
    /// `/api/v10` prefix), with the path parameters' values. The most specific template that fits
    /// the path decides (literal segments earliest win: `/users/@me` before `/users/{user_id}`,
    /// `.../messages/@original` before `.../messages/{message_id}`); if it has no such method the
    /// answer is [`ViolationKind::UnknownMethod`].
    pub fn find(&self, method: &str, path: &str) -> Result<(&Operation, PathParams), ViolationKind> {
        let path = path.split('?').next().unwrap_or(path);
        let path = path.strip_prefix(API_PREFIX).unwrap_or(path);
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let fits = |t: &Template| {
            t.segments.len() == parts.len()
                && t.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                    Segment::Literal(l) => l == part,
                    Segment::Param(_) => !part.is_empty(),
                })
        };
        let specificity =
            |t: &Template| -> Vec<bool> { t.segments.iter().map(|s| matches!(s, Segment::Literal(_))).collect() };
        let template = self
            .templates
            .iter()
            .filter(|t| fits(t))
            .max_by(|a, b| specificity(a).cmp(&specificity(b)))
            .ok_or(ViolationKind::UnknownRoute)?;
        let operation = template
            .operations
            .iter()
            .find(|op| op.method.eq_ignore_ascii_case(method))
            .ok_or(ViolationKind::UnknownMethod)?;
        let params = template
            .segments
            .iter()
            .zip(&parts)
            .filter_map(|(seg, part)| match seg {
                Segment::Param(name) => Some((name.clone(), (*part).to_owned())),
                Segment::Literal(_) => None,
            })
            .collect();
        Ok((operation, params))
    }

    /// The parameters an operation declares (the path item's and its own): `(name, in, required,
    /// pointer to its schema)`.
    fn parameters(&self, op: &Operation) -> Vec<(String, String, bool, String)> {
        let mut out = Vec::new();
        for base in [&op.item_pointer, &op.pointer] {
            let count = self
                .document
                .pointer(&format!("{base}/parameters"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for i in 0..count {
                let Some((param, at)) = self.resolve(format!("{base}/parameters/{i}")) else {
                    continue;
                };
                out.push((
                    param["name"].as_str().unwrap_or_default().to_owned(),
                    param["in"].as_str().unwrap_or_default().to_owned(),
                    param["required"].as_bool().unwrap_or(false),
                    format!("{at}/schema"),
                ));
            }
        }
        out
    }

    /// Validates `instance` against the schema at `pointer`; one violation per error.
    fn validate(
        &self,
        pointer: &str,
        instance: &Value,
        make: &dyn Fn(String, String, String) -> Violation,
    ) -> Vec<Violation> {
        let validator = self.validator(pointer);
        validator
            .iter_errors(instance)
            .map(|error| {
                let schema = error
                    .absolute_keyword_location()
                    .map(|uri| {
                        uri.as_str()
                            .strip_prefix(DOCUMENT_URI)
                            .unwrap_or(uri.as_str())
                            .to_owned()
                    })
                    .unwrap_or_else(|| format!("#{pointer}{}", error.schema_path()));
                make(error.instance_path().to_string(), schema, describe(&error))
            })
            .collect()
    }

    /// Checks one request: its route and method, its path and query parameters and its body.
    /// Returns the operation it matched (if any) and every violation found.
    pub fn check_request(
        &self,
        method: &str,
        target: &str,
        media: &RequestMedia,
        body: &Value,
    ) -> (Option<&Operation>, Vec<Violation>) {
        let violation =
            |route: &str, kind: ViolationKind, instance: String, schema: String, message: String| Violation {
                method: method.to_ascii_uppercase(),
                path: target.to_owned(),
                route: route.to_owned(),
                kind,
                instance,
                schema,
                message,
            };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let (op, path_params) = match self.find(method, path) {
            Ok(found) => found,
            Err(kind) => {
                let message = match kind {
                    ViolationKind::UnknownMethod => "the document has this path but not this method",
                    _ => "no path of the document matches",
                };
                return (
                    None,
                    vec![violation("", kind, String::new(), String::new(), message.to_owned())],
                );
            }
        };
        let route = op.template.as_str();
        let mut found = Vec::new();
        let declared = self.parameters(op);

        for (name, value) in &path_params {
            if let Some((_, _, _, schema)) = declared.iter().find(|(n, i, _, _)| n == name && i == "path") {
                let make = |_: String, at: String, message: String| {
                    violation(route, ViolationKind::PathParameter, name.clone(), at, message)
                };
                found.extend(self.validate(schema, &Value::String(value.clone()), &make));
            }
        }

        let mut seen = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let name = name.into_owned();
            let Some((_, _, _, schema)) = declared.iter().find(|(n, i, _, _)| *n == name && i == "query") else {
                found.push(violation(
                    route,
                    ViolationKind::QueryParameter,
                    name.clone(),
                    String::new(),
                    format!("the operation {} declares no query parameter `{name}`", op.operation_id),
                ));
                continue;
            };
            let make = |_: String, at: String, message: String| {
                violation(route, ViolationKind::QueryParameter, name.clone(), at, message)
            };
            // A query string carries text: `limit=5` is the integer 5, `wait=true` the boolean.
            let as_text = Value::String(value.clone().into_owned());
            let as_json = serde_json::from_str::<Value>(&value).ok();
            let valid = self.validator(schema).is_valid(&as_text)
                || as_json.as_ref().is_some_and(|v| self.validator(schema).is_valid(v));
            if !valid {
                found.extend(self.validate(schema, &as_text, &make));
            }
            seen.push(name);
        }
        for (name, _, _, _) in declared
            .iter()
            .filter(|(n, i, required, _)| *required && i == "query" && !seen.contains(n))
        {
            found.push(violation(
                route,
                ViolationKind::QueryParameter,
                name.clone(),
                String::new(),
                "a required query parameter is missing".to_owned(),
            ));
        }

        let body_pointer = format!("{}/requestBody", op.pointer);
        let request_body = self.resolve(body_pointer);
        let body_violation = |instance: String, schema: String, message: String| {
            violation(route, ViolationKind::RequestBody, instance, schema, message)
        };
        match (request_body, media) {
            (None, RequestMedia::None) => {}
            (None, _) => found.push(body_violation(
                String::new(),
                String::new(),
                format!("the operation {} takes no body, and one was sent", op.operation_id),
            )),
            (Some((rb, _)), RequestMedia::None) => {
                if rb["required"].as_bool().unwrap_or(false) {
                    found.push(body_violation(
                        String::new(),
                        String::new(),
                        format!("the operation {} requires a body, and none was sent", op.operation_id),
                    ));
                }
            }
            (Some((rb, at)), media) => {
                let media_type = match media {
                    RequestMedia::Multipart { .. } => "multipart/form-data".to_owned(),
                    RequestMedia::Other(other) => other.clone(),
                    _ => "application/json".to_owned(),
                };
                if rb["content"].get(&media_type).is_none() {
                    found.push(body_violation(
                        String::new(),
                        String::new(),
                        format!("the operation {} does not take {media_type}", op.operation_id),
                    ));
                } else {
                    let schema = format!("{at}/content/{}/schema", escape(&media_type));
                    if let RequestMedia::Multipart { fields } = media {
                        // Every file part must be a field the multipart schema names (`files[0]`..).
                        let listed = serde_json::to_string(&self.document.pointer(&schema)).unwrap_or_default();
                        for field in fields {
                            if !listed.contains(&format!("\"{field}\"")) {
                                found.push(body_violation(
                                    field.clone(),
                                    format!("#{schema}"),
                                    format!("the multipart body has a part `{field}` the operation does not name"),
                                ));
                            }
                        }
                    }
                    found.extend(self.validate(&schema, body, &body_violation));
                }
            }
        }
        (Some(op), found)
    }

    /// Checks one answer of the fake to a request that matched `op`: its status is documented
    /// and its body (`None` for an empty one) validates against that status's schema.
    pub fn check_response(
        &self,
        op: &Operation,
        method: &str,
        target: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Vec<Violation> {
        let violation = |kind: ViolationKind, instance: String, schema: String, message: String| Violation {
            method: method.to_ascii_uppercase(),
            path: target.to_owned(),
            route: op.template.clone(),
            kind,
            instance,
            schema,
            message: format!("answer {status}: {message}"),
        };
        let responses = format!("{}/responses", op.pointer);
        let class = format!("{}XX", status / 100);
        let Some((response, at)) = [status.to_string(), class, "default".to_owned()]
            .into_iter()
            .find_map(|key| self.resolve(format!("{responses}/{key}")))
        else {
            return vec![violation(
                ViolationKind::ResponseStatus,
                String::new(),
                format!("#{responses}"),
                format!("the operation {} documents no such status", op.operation_id),
            )];
        };
        let content = response.get("content");
        match (content.and_then(|c| c.get("application/json")), body) {
            (None, None) => Vec::new(),
            (None, Some(_)) => vec![violation(
                ViolationKind::ResponseBody,
                String::new(),
                format!("#{at}"),
                "the document gives this answer no JSON body, and the fake sent one".to_owned(),
            )],
            (Some(_), None) => vec![violation(
                ViolationKind::ResponseBody,
                String::new(),
                format!("#{at}"),
                "the document gives this answer a JSON body, and the fake sent none".to_owned(),
            )],
            (Some(_), Some(body)) => {
                let make = |instance: String, schema: String, message: String| {
                    violation(ViolationKind::ResponseBody, instance, schema, message)
                };
                self.validate(&format!("{at}/content/application~1json/schema"), body, &make)
            }
        }
    }
}

/// An error in words; for a `oneOf`/`anyOf` that nothing matched, why each choice failed (its
/// first error), since the bare message says only that none did.
fn describe(error: &ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    let branches = match error.kind() {
        Kind::OneOfNotValid { context } | Kind::AnyOf { context } => Some(context),
        _ => None,
    };
    let head = match error.kind() {
        Kind::OneOfNotValid { .. } => "matches none of the `oneOf` choices".to_owned(),
        Kind::AnyOf { .. } => "matches none of the `anyOf` choices".to_owned(),
        _ => cut(error.to_string(), 400),
    };
    match branches {
        Some(context) => {
            // The choice that got furthest into the value (its error is deepest) is most likely
            // the one meant: say why it failed.
            let best = context
                .iter()
                .enumerate()
                .filter_map(|(i, errors)| Some((i, errors.first()?)))
                .max_by_key(|(_, e)| e.instance_path().as_str().matches('/').count());
            match best {
                Some((i, first)) => format!(
                    "{head} of {}; the nearest, choice {i}: {} at `{}`",
                    context.len(),
                    cut(describe(first), 400),
                    first.instance_path()
                ),
                None => head,
            }
        }
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_most_specific_template_decides_the_route() {
        let spec = Spec::get();
        let (op, _) = spec.find("GET", "/api/v10/users/@me").unwrap();
        assert_eq!(op.template, "/users/@me");
        let (op, params) = spec.find("GET", "/api/v10/users/42").unwrap();
        assert_eq!(op.template, "/users/{user_id}");
        assert_eq!(params, vec![("user_id".to_owned(), "42".to_owned())]);
        let (op, _) = spec
            .find("PATCH", "/api/v10/webhooks/1/tok/messages/@original")
            .unwrap();
        assert_eq!(op.operation_id, "update_original_webhook_message");
        assert_eq!(
            spec.find("GET", "/api/v10/nowhere").err(),
            Some(ViolationKind::UnknownRoute)
        );
        assert_eq!(
            spec.find("PUT", "/api/v10/channels/1/messages").err(),
            Some(ViolationKind::UnknownMethod)
        );
    }

    #[test]
    fn a_message_body_is_checked_against_its_schema() {
        let spec = Spec::get();
        let (_, ok) = spec.check_request(
            "POST",
            "/api/v10/channels/1/messages",
            &RequestMedia::Json,
            &json!({"content": "hi"}),
        );
        assert_eq!(ok, vec![]);
        let long = "x".repeat(4001);
        let (_, bad) = spec.check_request(
            "POST",
            "/api/v10/channels/1/messages",
            &RequestMedia::Json,
            &json!({"content": long}),
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].kind, ViolationKind::RequestBody);
        assert_eq!(bad[0].instance, "/content");
        println!("{}", bad[0]);
        let (_, bad) = spec.check_request("POST", "/api/v10/channels/abc/messages", &RequestMedia::Json, &json!({"content": "hi", "components": [{"type": 1, "components": [{"type": 2, "style": 9, "label": "x", "custom_id": "y"}]}]}));
        for v in &bad {
            println!("{v}");
        }
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
