//! `/openapi.json` and `/docs`, both made from one table of the endpoints, so neither can
//! leave one out. The page is self-contained: no script, style or font from elsewhere.

use axum::response::Html;
use serde_json::{Map, Value, json};

/// One endpoint: its method, its path (OpenAPI's `{param}` form) and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path, with `{name}` for path parameters.
    pub path: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Its query parameters.
    pub query: &'static [&'static str],
}

const fn endpoint(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        query,
    }
}

/// Every endpoint of the demo.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        "POST",
        "/cache",
        "Set a JSON value with a TTL: {\"key\", \"value\", \"ttl\"}",
        &[],
    ),
    endpoint(
        "GET",
        "/cache",
        "List cached keys, optionally matching a glob",
        &["pattern"],
    ),
    endpoint(
        "GET",
        "/cache/{key}",
        "Get a cached value and its remaining TTL",
        &[],
    ),
    endpoint("DELETE", "/cache/{key}", "Delete a cached value", &[]),
    endpoint(
        "POST",
        "/users",
        "Cache a user profile in a hash record for an hour",
        &[],
    ),
    endpoint(
        "GET",
        "/users/{user_id}",
        "Get a cached profile, with cache_hit and ttl_seconds",
        &[],
    ),
    endpoint("DELETE", "/users/{user_id}", "Delete a cached profile", &[]),
    endpoint(
        "GET",
        "/rate-limit/check",
        "Count a request against a user's fixed window",
        &["user_id", "limit", "window"],
    ),
    endpoint(
        "POST",
        "/lock/{resource}",
        "Process under a distributed lock; 409 while another request holds it",
        &["processing_time"],
    ),
    endpoint(
        "POST",
        "/queue/tasks",
        "Add a task at the back of the queue",
        &[],
    ),
    endpoint(
        "GET",
        "/queue/tasks",
        "Take the oldest task (FIFO); 404 when empty",
        &[],
    ),
    endpoint(
        "GET",
        "/queue/tasks/all",
        "View every task without removing any",
        &[],
    ),
    endpoint("DELETE", "/queue/tasks", "Clear the queue", &[]),
    endpoint(
        "GET",
        "/stats",
        "Backend health, the demo's key count and uptime",
        &[],
    ),
    endpoint(
        "POST",
        "/stats/reset",
        "Delete the demo's keys (its prefix only)",
        &[],
    ),
    endpoint(
        "GET",
        "/metrics",
        "Request, rate-limit and lock metrics in Prometheus text",
        &[],
    ),
    endpoint("GET", "/openapi.json", "This API's OpenAPI 3 document", &[]),
    endpoint("GET", "/docs", "This page", &[]),
];

/// The OpenAPI 3 document of [`ENDPOINTS`].
#[must_use]
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let mut parameters: Vec<Value> = path_parameters(endpoint.path)
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        parameters.extend(endpoint.query.iter().map(
            |name| json!({ "name": name, "in": "query", "required": *name == "user_id", "schema": { "type": "string" } }),
        ));
        let mut operation = json!({
            "summary": endpoint.summary,
            "parameters": parameters,
            "responses": {
                "200": { "description": "OK", "content": { "application/json": {} } },
                "4XX": { "description": "Bad input or not found: {\"error\": ...}" },
            },
        });
        if endpoint.method == "POST" && endpoint.query.is_empty() && !endpoint.path.contains('{') {
            operation["requestBody"] =
                json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        if let Value::Object(methods) = paths
            .entry(endpoint.path)
            .or_insert_with(|| Value::Object(Map::new()))
        {
            methods.insert(endpoint.method.to_ascii_lowercase(), operation);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "cache-rs REST demo", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
    })
}

/// The `/docs` page: every endpoint in a table.
pub fn page() -> Html<String> {
    let rows: String = ENDPOINTS
        .iter()
        .map(|endpoint| {
            format!(
                "<tr><td class=\"method\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                endpoint.method,
                escape(endpoint.path),
                escape(endpoint.summary),
                escape(&endpoint.query.join(", ")),
            )
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>cache-rs REST demo</title><style>\
         body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.method{{font-weight:bold}}\
         </style></head><body><h1>cache-rs REST demo</h1>\
         <p>The machine-readable form is <a href=\"/openapi.json\">/openapi.json</a>.</p>\
         <table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Query</th></tr></thead>\
         <tbody>\n{rows}</tbody></table></body></html>\n"
    ))
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
