//! Open311 GeoReport v2 (issue 5) at `/open311/v2`: discovery, the service list (the case
//! subcategories), service definitions with their attributes, requests posted with an
//! `api_key`, requests read back, and tokens — in XML (required by the specification)
//! and JSON, with the specification's error format.
//!
//! Requests go through the same functions as `/api/v1/cases`: a request is a case of the
//! `open311` channel, placed in its grid, dispatched by the rules, audited. One deliberate
//! difference from the specification: reading requests also needs an `api_key`, because
//! in Huimin a case is personal data (the specification lets a city require more).

use crate::api::{CaseDto, open_case, read_case};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use huimin_domain::case::category::Categories;
use huimin_domain::case::intake::CaseDraft;
use huimin_domain::time::SHANGHAI;
use std::collections::HashMap;

/// When the service list last changed (the shipped category tree), as discovery says.
const CHANGESET: &str = "2026-12-02T00:00:00+08:00";

/// The most requests one `GET requests` answers, and the longest range it covers.
const MAX_REQUESTS: usize = 1000;
const MAX_RANGE_DAYS: i64 = 90;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top_level).post(post_request))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// `name.xml` or `name.json` as the name and its format.
fn split(file: &str) -> Option<(&str, Format)> {
    let (name, suffix) = file.rsplit_once('.')?;
    match suffix {
        "xml" => Some((name, Format::Xml)),
        "json" => Some((name, Format::Json)),
        _ => None,
    }
}

/// A response value, written as XML elements or as JSON the "Spark" way: a container of
/// one repeated child becomes an array, an empty element null.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Text(String),
    Bool(bool),
    Integer(i64),
    Number(f64),
    /// Child elements in order.
    Object(Vec<(&'static str, Value)>),
    /// Repeated children, each named the given name in XML.
    List(&'static str, Vec<Value>),
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

fn optional(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::Text)
}

impl Value {
    fn json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Text(text) => serde_json::Value::from(text.as_str()),
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Integer(number) => serde_json::Value::from(*number),
            Value::Number(number) => serde_json::Value::from(*number),
            Value::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.json()))
                    .collect(),
            ),
            Value::List(_, items) => {
                serde_json::Value::Array(items.iter().map(Value::json).collect())
            }
        }
    }

    fn xml(&self, name: &str, out: &mut String) {
        match self {
            Value::Null => out.push_str(&format!("<{name}/>")),
            Value::Text(text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
            Value::Bool(flag) => out.push_str(&format!("<{name}>{flag}</{name}>")),
            Value::Integer(number) => out.push_str(&format!("<{name}>{number}</{name}>")),
            Value::Number(number) => out.push_str(&format!("<{name}>{number}</{name}>")),
            Value::Object(fields) => {
                out.push_str(&format!("<{name}>"));
                for (field, value) in fields {
                    value.xml(field, out);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::List(child, items) => {
                out.push_str(&format!("<{name}>"));
                for item in items {
                    item.xml(child, out);
                }
                out.push_str(&format!("</{name}>"));
            }
        }
    }
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// The document `root` holding `value`, in `format`.
fn respond(format: Format, status: StatusCode, root: &str, value: &Value) -> Response {
    let (body, content_type) = match format {
        Format::Json => (value.json().to_string(), "application/json; charset=utf-8"),
        Format::Xml => {
            let mut body = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            value.xml(root, &mut body);
            (body, "text/xml; charset=utf-8")
        }
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The specification defines the error bodies: the API's error rendering keeps off.
    response
        .extensions_mut()
        .insert(crate::middleware::ProtocolError);
    response
}

/// An error in the specification's format: `[{"code", "description"}]`, or
/// `<errors><error><code/><description/></error></errors>`.
struct Open311Error {
    status: StatusCode,
    descriptions: Vec<String>,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Open311Error {
        Open311Error {
            status,
            descriptions: vec![description.into()],
        }
    }

    fn respond(self, format: Format) -> Response {
        let code = i64::from(self.status.as_u16());
        let errors = Value::List(
            "error",
            self.descriptions
                .into_iter()
                .map(|description| {
                    Value::Object(vec![
                        ("code", Value::Integer(code)),
                        ("description", text(description)),
                    ])
                })
                .collect(),
        );
        respond(format, self.status, "errors", &errors)
    }

    /// Huimin's error as Open311's: a missing or wrong key 403, a missing thing 404, a
    /// field at fault 400 (naming each), an unknown service code 404.
    fn from_api(error: ApiError) -> Open311Error {
        match error {
            ApiError::Unauthenticated => Open311Error::new(
                StatusCode::FORBIDDEN,
                "api_key is missing, unknown, expired or revoked",
            ),
            ApiError::Forbidden(reason) => Open311Error::new(StatusCode::FORBIDDEN, reason),
            ApiError::NotFound { .. } => {
                Open311Error::new(StatusCode::NOT_FOUND, "service_request_id not found")
            }
            ApiError::Validation(details) => {
                let unknown = details
                    .iter()
                    .any(|detail| detail.code == "unknown_category");
                Open311Error {
                    status: if unknown {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    descriptions: details
                        .into_iter()
                        .map(|detail| {
                            let field = match detail.field {
                                "category" => "service_code",
                                "longitude" => "long",
                                "latitude" => "lat",
                                "location" => "lat/long",
                                "reporter_phone" => "phone",
                                other => other,
                            };
                            format!("{field}: {}", detail.message)
                        })
                        .collect(),
                }
            }
            other => {
                let status = other.status();
                Open311Error::new(
                    if status.is_server_error() {
                        status
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    other.to_string(),
                )
            }
        }
    }
}

/// `parts` with `api_key` as its bearer token, so the API's own checks authenticate it.
fn with_key(mut parts: Parts, api_key: Option<&str>) -> Result<Parts, Open311Error> {
    let key = api_key
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            Open311Error::new(
                StatusCode::FORBIDDEN,
                "api_key is required: requests are personal data in Huimin",
            )
        })?;
    let value = HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| Open311Error::new(StatusCode::FORBIDDEN, "api_key is not a valid key"))?;
    parts.headers.insert(header::AUTHORIZATION, value);
    Ok(parts)
}

fn categories() -> Result<&'static Categories, Open311Error> {
    Categories::shipped().map_err(|error| Open311Error::new(StatusCode::SERVICE_UNAVAILABLE, error))
}

/// Times as the specification wants them: ISO 8601 with the zone (Asia/Shanghai).
fn w3c(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&SHANGHAI)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

async fn top_level(
    State(state): State<AppState>,
    parts: Parts,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((name, format)) = split(&file) else {
        return Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("{file} is not a resource: use NAME.xml or NAME.json"),
        )
        .respond(Format::Json);
    };
    let answer = match name {
        "discovery" => Ok(discovery(&state, format)),
        "services" => services(format),
        "requests" => requests(&state, parts, &query, format).await,
        _ => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            format!("{name} is not a resource"),
        )),
    };
    answer.unwrap_or_else(|error| error.respond(format))
}

fn discovery(state: &AppState, format: Format) -> Response {
    let endpoint = Value::Object(vec![
        (
            "specification",
            text("http://wiki.open311.org/GeoReport_v2"),
        ),
        ("url", text(format!("{}/open311/v2", state.config.issuer))),
        ("changeset", text(CHANGESET)),
        ("type", text("production")),
        (
            "formats",
            Value::List("format", vec![text("text/xml"), text("application/json")]),
        ),
    ]);
    let document = Value::Object(vec![
        ("changeset", text(CHANGESET)),
        ("contact", text("12345 政务服务便民热线")),
        (
            "key_service",
            text(
                "API keys are issued to department and partner systems by the city administrator (huimin token issue … --scopes cases:write)",
            ),
        ),
        ("endpoints", Value::List("endpoint", vec![endpoint])),
    ]);
    respond(format, StatusCode::OK, "discovery", &document)
}

fn services(format: Format) -> Result<Response, Open311Error> {
    let categories = categories()?;
    let list = categories
        .all()
        .iter()
        .filter_map(|category| {
            let parent = categories.get(category.parent.as_deref()?)?;
            Some(Value::Object(vec![
                ("service_code", text(category.code.as_str())),
                ("service_name", text(category.name.as_str())),
                (
                    "description",
                    text(categories.path_name(&category.code).unwrap_or_default()),
                ),
                ("metadata", Value::Bool(true)),
                ("type", text("realtime")),
                (
                    "keywords",
                    text(format!("{},{}", parent.name, category.name)),
                ),
                ("group", text(parent.name.as_str())),
            ]))
        })
        .collect();
    Ok(respond(
        format,
        StatusCode::OK,
        "services",
        &Value::List("service", list),
    ))
}

/// The attributes every service takes: priority and how the reporter wants to hear back.
fn attributes() -> Value {
    let list = |pairs: &[(&str, &str)]| {
        Value::List(
            "value",
            pairs
                .iter()
                .map(|(key, name)| Value::Object(vec![("key", text(*key)), ("name", text(*name))]))
                .collect(),
        )
    };
    Value::List(
        "attribute",
        vec![
            Value::Object(vec![
                ("variable", Value::Bool(true)),
                ("code", text("priority")),
                ("datatype", text("singlevaluelist")),
                ("required", Value::Bool(false)),
                ("datatype_description", Value::Null),
                ("order", Value::Integer(1)),
                ("description", text("紧急程度 priority")),
                (
                    "values",
                    list(&[
                        ("normal", "一般"),
                        ("urgent", "紧急"),
                        ("emergency", "特急"),
                    ]),
                ),
            ]),
            Value::Object(vec![
                ("variable", Value::Bool(true)),
                ("code", text("callback")),
                ("datatype", text("singlevaluelist")),
                ("required", Value::Bool(false)),
                ("datatype_description", Value::Null),
                ("order", Value::Integer(2)),
                ("description", text("回访方式 how the reporter is answered")),
                (
                    "values",
                    list(&[("phone", "电话"), ("sms", "短信"), ("none", "不回访")]),
                ),
            ]),
        ],
    )
}

async fn service_definition(Path(file): Path<String>) -> Response {
    let Some((code, format)) = split(&file) else {
        return Open311Error::new(StatusCode::NOT_FOUND, "use services/CODE.xml or .json")
            .respond(Format::Json);
    };
    let answer = (|| {
        let categories = categories()?;
        categories.subcategory(code).ok_or_else(|| {
            Open311Error::new(
                StatusCode::NOT_FOUND,
                format!("service_code {code} not found"),
            )
        })?;
        let definition = Value::Object(vec![
            ("service_code", text(code)),
            ("attributes", attributes()),
        ]);
        Ok(respond(
            format,
            StatusCode::OK,
            "service_definition",
            &definition,
        ))
    })();
    answer.unwrap_or_else(|error: Open311Error| error.respond(format))
}

/// The first value of `name` in a form or query, empty counting as absent.
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

async fn post_request(
    State(state): State<AppState>,
    parts: Parts,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let format = match split(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => {
            return Open311Error::new(StatusCode::NOT_FOUND, "POST requests.xml or requests.json")
                .respond(format);
        }
        None => {
            return Open311Error::new(StatusCode::NOT_FOUND, "POST requests.xml or requests.json")
                .respond(Format::Json);
        }
    };
    let answer = async {
        let key = field(&form, "api_key").or_else(|| field(&query, "api_key"));
        let parts = with_key(parts.clone(), key)?;
        let Some(service_code) = field(&form, "service_code") else {
            return Err(Open311Error::new(
                StatusCode::BAD_REQUEST,
                "service_code not provided",
            ));
        };
        let (lat, long) = (field(&form, "lat"), field(&form, "long"));
        if lat.is_none() || long.is_none() {
            let why = if field(&form, "address_string").is_some()
                || field(&form, "address_id").is_some()
            {
                "lat and long not provided: Huimin places a request by its coordinates, not by an address"
            } else {
                "lat and long not provided"
            };
            return Err(Open311Error::new(StatusCode::BAD_REQUEST, why));
        }
        let number = |name: &str, value: Option<&str>| -> Result<Option<f64>, Open311Error> {
            value
                .map(|text| {
                    text.parse::<f64>().map_err(|_| {
                        Open311Error::new(
                            StatusCode::BAD_REQUEST,
                            format!("{name} is a number, not '{text}'"),
                        )
                    })
                })
                .transpose()
        };
        let name = [field(&form, "last_name"), field(&form, "first_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("");
        let draft = CaseDraft {
            channel: "open311".to_owned(),
            category: service_code.to_owned(),
            longitude: number("long", long)?,
            latitude: number("lat", lat)?,
            description: field(&form, "description").unwrap_or_default().to_owned(),
            priority: field(&form, "attribute[priority]").map(str::to_owned),
            reporter_name: Some(name).filter(|name| !name.is_empty()),
            reporter_phone: field(&form, "phone").map(str::to_owned),
            callback: field(&form, "attribute[callback]").map(str::to_owned),
            ..CaseDraft::default()
        };
        let case = open_case(&state, &parts, draft)
            .await
            .map_err(Open311Error::from_api)?;
        let receipt = Value::Object(vec![
            ("service_request_id", text(case.id.to_string())),
            (
                "service_notice",
                text(format!("已受理，当前状态：{}", case.status_zh)),
            ),
            ("account_id", Value::Null),
        ]);
        Ok(respond(
            format,
            StatusCode::OK,
            "service_requests",
            &Value::List("request", vec![receipt]),
        ))
    };
    answer.await.unwrap_or_else(|error| error.respond(format))
}

/// A case as an Open311 request.
fn request_value(case: &CaseDto, categories: &Categories) -> Value {
    let open = !matches!(
        case.status.as_str(),
        "closed" | "concluded" | "called_back" | "rated" | "voided" | "merged"
    );
    let parse = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| w3c(at.with_timezone(&Utc)))
    };
    Value::Object(vec![
        ("service_request_id", text(case.id.to_string())),
        ("status", text(if open { "open" } else { "closed" })),
        ("status_notes", text(case.status_zh.as_str())),
        (
            "service_name",
            text(
                categories
                    .subcategory(&case.category)
                    .map_or(case.category.as_str(), |category| category.name.as_str()),
            ),
        ),
        ("service_code", text(case.category.as_str())),
        ("description", text(case.description.as_str())),
        ("agency_responsible", optional(case.lead.clone())),
        ("service_notice", Value::Null),
        ("requested_datetime", optional(parse(&case.reported_at))),
        ("updated_datetime", optional(parse(&case.updated_at))),
        (
            "expected_datetime",
            optional(
                case.clock
                    .as_ref()
                    .and_then(|clock| clock.due_at.as_deref())
                    .and_then(parse),
            ),
        ),
        ("address", Value::Null),
        ("address_id", Value::Null),
        ("zipcode", Value::Null),
        ("lat", Value::Number(case.latitude)),
        ("long", Value::Number(case.longitude)),
        ("media_url", Value::Null),
    ])
}

fn requests_document(format: Format, items: Vec<Value>) -> Response {
    respond(
        format,
        StatusCode::OK,
        "service_requests",
        &Value::List("request", items),
    )
}

fn instant(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, Open311Error> {
    value
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    Open311Error::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name} is a W3C date-time with its zone, such as 2026-11-01T00:00:00+08:00, not '{text}'"),
                    )
                })
        })
        .transpose()
}

async fn requests(
    state: &AppState,
    parts: Parts,
    query: &HashMap<String, String>,
    format: Format,
) -> Result<Response, Open311Error> {
    let get = |name: &str| {
        query
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let parts = with_key(parts, get("api_key"))?;
    let categories = categories()?;
    // service_request_id overrides every other argument.
    if let Some(ids) = get("service_request_id") {
        let mut items = Vec::new();
        for id in ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .take(MAX_REQUESTS)
        {
            let Ok(id) = id.parse::<u64>() else {
                return Err(Open311Error::new(
                    StatusCode::BAD_REQUEST,
                    format!("service_request_id '{id}' is not a number"),
                ));
            };
            match read_case(state, &parts, id).await {
                Ok(case) => items.push(request_value(&case, categories)),
                Err(ApiError::NotFound { .. }) => {}
                Err(error) => return Err(Open311Error::from_api(error)),
            }
        }
        return Ok(requests_document(format, items));
    }
    let now = state.clock.now();
    let end = instant("end_date", get("end_date"))?.unwrap_or(now);
    let start =
        instant("start_date", get("start_date"))?.unwrap_or(end - Duration::days(MAX_RANGE_DAYS));
    if start > end {
        return Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            "start_date is after end_date",
        ));
    }
    if end - start > Duration::days(MAX_RANGE_DAYS) {
        return Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            format!("a date range spans at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let codes: Vec<&str> = get("service_code")
        .map(|codes| codes.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let statuses: Vec<&str> = get("status")
        .map(|codes| codes.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if let Some(wrong) = statuses
        .iter()
        .find(|status| !matches!(**status, "open" | "closed"))
    {
        return Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            format!("status is open or closed, not '{wrong}'"),
        ));
    }
    let found = crate::api::cases_reported_between(
        state,
        &parts,
        start,
        // end_date is included.
        end + Duration::microseconds(1),
        (codes.len() == 1).then(|| codes[0].to_owned()),
        statuses == ["open"],
        MAX_REQUESTS,
        |case: &CaseDto| {
            let value = request_value(case, categories);
            let status_matches = statuses.is_empty()
                || matches!(&value, Value::Object(fields) if fields.iter().any(|(name, v)| *name == "status" && matches!(v, Value::Text(s) if statuses.contains(&s.as_str()))));
            (codes.is_empty() || codes.contains(&case.category.as_str())) && status_matches
        },
    )
    .await
    .map_err(Open311Error::from_api)?;
    Ok(requests_document(
        format,
        found
            .iter()
            .map(|case| request_value(case, categories))
            .collect(),
    ))
}

async fn one_request(
    State(state): State<AppState>,
    parts: Parts,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((id, format)) = split(&file) else {
        return Open311Error::new(StatusCode::NOT_FOUND, "use requests/ID.xml or .json")
            .respond(Format::Json);
    };
    let answer = async {
        let parts = with_key(parts, query.get("api_key").map(String::as_str))?;
        let id = id.parse::<u64>().map_err(|_| {
            Open311Error::new(
                StatusCode::NOT_FOUND,
                format!("service_request_id {id} not found"),
            )
        })?;
        let case = read_case(&state, &parts, id)
            .await
            .map_err(Open311Error::from_api)?;
        Ok(requests_document(
            format,
            vec![request_value(&case, categories()?)],
        ))
    };
    answer
        .await
        .unwrap_or_else(|error: Open311Error| error.respond(format))
}

/// A request's id from its token: Huimin answers every request at once with its id, and
/// gives the id as its token too.
async fn token(
    State(state): State<AppState>,
    parts: Parts,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((token, format)) = split(&file) else {
        return Open311Error::new(StatusCode::NOT_FOUND, "use tokens/TOKEN.xml or .json")
            .respond(Format::Json);
    };
    let answer = async {
        let parts = with_key(parts, query.get("api_key").map(String::as_str))?;
        let not_found =
            || Open311Error::new(StatusCode::NOT_FOUND, format!("token {token} not found"));
        let id = token.parse::<u64>().map_err(|_| not_found())?;
        read_case(&state, &parts, id)
            .await
            .map_err(|error| match error {
                ApiError::NotFound { .. } => not_found(),
                other => Open311Error::from_api(other),
            })?;
        let item = Value::Object(vec![
            ("service_request_id", text(id.to_string())),
            ("token", text(token)),
        ]);
        Ok(requests_document(format, vec![item]))
    };
    answer
        .await
        .unwrap_or_else(|error: Open311Error| error.respond(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_writes_spark_json_and_escaped_xml() {
        let value = Value::List(
            "request",
            vec![Value::Object(vec![
                ("service_request_id", text("7")),
                ("description", text("井盖 <破损> & \"危险\"")),
                ("media_url", Value::Null),
                ("lat", Value::Number(32.39)),
            ])],
        );
        assert_eq!(
            value.json().to_string(),
            r#"[{"description":"井盖 <破损> & \"危险\"","lat":32.39,"media_url":null,"service_request_id":"7"}]"#
        );
        let mut xml = String::new();
        value.xml("service_requests", &mut xml);
        assert_eq!(
            xml,
            "<service_requests><request><service_request_id>7</service_request_id><description>井盖 &lt;破损&gt; &amp; &quot;危险&quot;</description><media_url/><lat>32.39</lat></request></service_requests>"
        );
    }
}
