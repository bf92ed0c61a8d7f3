//! The response contract with the official Docker Hub API spec: when `WHARF_HUB_SPEC`
//! points at a copy of Docker's `dockerhub-openapi.yaml`, every Hub API response that the
//! harness receives (`Server::send` and the helpers built on it, `Server::follow`) or reads
//! as JSON (`json`, also for requests that tests build with `Server::request`) is checked
//! against the spec.
//!
//! A response of an operation the spec documents, with a status the spec documents for it
//! with a JSON schema, must validate against that schema (JSON Schema 2020-12, as OpenAPI
//! 3.1 has it, with `format` asserted), or the test fails. A status the spec does not
//! document for the operation fails nothing: it is written to standard error once per run,
//! on a line starting `SPEC-UNDOCUMENTED`, past the test runner's output capture so that it
//! shows for passing tests too.
//!
//! Not checked: requests the spec has no operation for (the registry API, `/token`, Wharf's
//! own routes), `HEAD`, and empty bodies. Without `WHARF_HUB_SPEC` nothing is checked.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Method, Response, ResponseBuilderExt, StatusCode, Url};
use serde_json::Value;

/// The loaded spec and the validators compiled from it so far.
struct Spec {
    doc: Value,
    /// Compiled response schemas, by `METHOD template status`.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// The undocumented statuses seen so far, each reported once.
    undocumented: Mutex<BTreeSet<String>>,
}

static SPEC: OnceLock<Option<Spec>> = OnceLock::new();

/// The spec `WHARF_HUB_SPEC` names, loaded once; `None` when it is not set.
fn spec() -> Option<&'static Spec> {
    SPEC.get_or_init(|| {
        let path = std::env::var("WHARF_HUB_SPEC").ok().filter(|p| !p.is_empty())?;
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read WHARF_HUB_SPEC {path}: {e}"));
        let doc: Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("WHARF_HUB_SPEC {path} is not a YAML document: {e}"));
        assert!(
            doc["paths"].is_object(),
            "WHARF_HUB_SPEC {path} has no paths: not an OpenAPI document"
        );
        Some(Spec {
            doc,
            validators: Mutex::new(HashMap::new()),
            undocumented: Mutex::new(BTreeSet::new()),
        })
    })
    .as_ref()
}

/// The method of each request the harness built, by URL: a response does not carry the
/// method of its request, and tests send some requests themselves.
static SENT: Mutex<Option<HashMap<String, Method>>> = Mutex::new(None);

/// Marks a response whose body [`checked`] has already checked.
#[derive(Clone)]
struct Checked;

/// Notes that a request `method url` is about to be sent.
pub fn record(method: &Method, url: &str) {
    if spec().is_none() {
        return;
    }
    let key = Url::parse(url).map_or_else(|_| url.to_string(), String::from);
    SENT.lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(key, method.clone());
}

/// Checks `res`, the answer to a `method` request, against the spec, whether or not the test
/// goes on to read its body; returns it with its body intact.
pub async fn checked(res: Response, method: &Method) -> Response {
    let Some(operation) = Operation::of(method, res.url()) else {
        return res;
    };
    let (status, version, headers, url) = (
        res.status(),
        res.version(),
        res.headers().clone(),
        res.url().clone(),
    );
    let bytes = res.bytes().await.expect("body");
    if !bytes.is_empty() {
        operation.check_bytes(status, &bytes);
    }
    let mut builder = http::Response::builder().status(status).version(version).url(url);
    if let Some(all) = builder.headers_mut() {
        *all = headers;
    }
    let mut res = Response::from(builder.body(bytes).expect("rebuilt response"));
    res.extensions_mut().insert(Checked);
    res
}

/// What is known of the request a response answers, taken before its body is read.
pub struct Sent(Option<Operation>);

impl Sent {
    pub fn of(res: &Response) -> Sent {
        if res.extensions().get::<Checked>().is_some() {
            return Sent(None);
        }
        let method = SENT
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|sent| sent.get(res.url().as_str()).cloned());
        Sent(method.and_then(|method| Operation::of(&method, res.url())))
    }

    /// Checks the JSON `body` answered with `status` against the spec; see the module.
    pub fn check(&self, status: StatusCode, body: &Value) {
        if let Some(operation) = &self.0 {
            operation.check(status, body);
        }
    }
}

/// A request to an operation of the spec.
struct Operation {
    spec: &'static Spec,
    /// The operation in the spec.
    operation: &'static Value,
    /// `METHOD template`.
    route: String,
    /// `METHOD template (operationId)`.
    what: String,
    url: Url,
}

impl Operation {
    /// The spec's operation for `method url`, when the spec is loaded and has one.
    fn of(method: &Method, url: &Url) -> Option<Operation> {
        let spec = spec()?;
        if *method == Method::HEAD {
            return None;
        }
        let path = normalize(url.path());
        if is_registry(path) {
            return None;
        }
        let (template, item) = spec.path_item(path)?;
        let operation = item.get(method.as_str().to_ascii_lowercase())?;
        let id = operation["operationId"].as_str().unwrap_or("no operationId");
        Some(Operation {
            spec,
            operation,
            route: format!("{method} {template}"),
            what: format!("{method} {template} ({id})"),
            url: url.clone(),
        })
    }

    /// The JSON schema the spec documents for `status`; `None` (and a report, where the
    /// spec does not document the status) when there is none to check against.
    fn schema(&self, status: StatusCode) -> Option<&'static Value> {
        let what = &self.what;
        let Some(response) = self.spec.response(self.operation, status) else {
            self.spec.undocumented(format!("{what} {}", status.as_u16()));
            return None;
        };
        let response = self.spec.resolve(response);
        let schema = json_schema(response);
        if schema.is_none() && response.get("content").is_none() {
            self.spec.undocumented(format!(
                "{what} {}: a body, where the spec documents none",
                status.as_u16()
            ));
        }
        schema
    }

    /// Checks the non-empty body `bytes` answered with `status`.
    fn check_bytes(&self, status: StatusCode, bytes: &[u8]) {
        if self.schema(status).is_none() {
            return;
        }
        let body: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
            panic!(
                "response violates the official spec: {} answered {status} from {} with a body \
                 that is not JSON ({e}), where the spec documents a JSON schema: {}",
                self.what,
                self.url,
                String::from_utf8_lossy(bytes)
            )
        });
        self.check(status, &body);
    }

    /// Checks the JSON `body` answered with `status`.
    fn check(&self, status: StatusCode, body: &Value) {
        let Some(schema) = self.schema(status) else {
            return;
        };
        let key = format!("{} {}", self.route, status.as_u16());
        let validator = self.spec.validator(&key, schema);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| {
                format!(
                    "  at {:?} (schema {}): {e}",
                    e.instance_path().to_string(),
                    e.schema_path()
                )
            })
            .collect();
        assert!(
            errors.is_empty(),
            "response violates the official spec: {} answered {status} from {}\n\
             body: {body}\nschema errors:\n{}",
            self.what,
            self.url,
            errors.join("\n")
        );
    }
}

/// `path` without a trailing slash.
fn normalize(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// Whether `path` belongs to the registry API (the distribution spec) or its token service.
fn is_registry(path: &str) -> bool {
    path == "/v2"
        || path == "/token"
        || path.starts_with("/token/")
        || path == "/v2/_catalog"
        || path.ends_with("/tags/list")
        || ["/blobs/", "/manifests/", "/referrers/"]
            .iter()
            .any(|part| path.contains(part))
}

/// The first `application/json`-like schema of a response object.
fn json_schema(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(media, _)| media.as_str() == "application/json")
        .or_else(|| content.iter().find(|(media, _)| media.ends_with("json")))
        .and_then(|(_, media)| media.get("schema"))
}

impl Spec {
    /// The spec path template that `path` matches, and its path item. Where several match,
    /// a literal segment beats a parameter at the first position they differ.
    fn path_item(&self, path: &str) -> Option<(&str, &Value)> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(Vec<bool>, &str, &Value)> = None;
        for (template, item) in self.doc["paths"].as_object()? {
            let parts: Vec<&str> = normalize(template).split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = Vec::with_capacity(parts.len());
            let matches = parts.iter().zip(&segments).all(|(part, segment)| {
                let param = part.starts_with('{') && part.ends_with('}');
                literal.push(!param);
                if param {
                    !segment.is_empty()
                } else {
                    part == segment
                }
            });
            if matches && best.as_ref().is_none_or(|(score, ..)| literal > *score) {
                best = Some((literal, template, item));
            }
        }
        best.map(|(_, template, item)| (template, item))
    }

    /// The response object `operation` documents for `status`: the exact code, else its
    /// range (`4XX`), else `default`.
    fn response<'a>(&'a self, operation: &'a Value, status: StatusCode) -> Option<&'a Value> {
        let responses = operation.get("responses")?;
        let code = status.as_u16().to_string();
        let range = format!("{}XX", &code[..1]);
        responses
            .get(&code)
            .or_else(|| responses.get(&range))
            .or_else(|| responses.get(range.to_lowercase()))
            .or_else(|| responses.get("default"))
    }

    /// `value` with its `$ref`s to this document followed.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("the spec has a reference outside itself: {reference}"));
            value = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("the spec's reference {reference} leads nowhere"));
        }
        panic!("the spec's references loop");
    }

    /// The compiled validator of `schema`, a schema in this document, cached under `key`.
    /// The schema is compiled with the document's `components` beside it, so that its
    /// `#/components/...` references resolve as in the spec.
    fn validator(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        if let Some(validator) = self.validators.lock().unwrap().get(key) {
            return validator.clone();
        }
        let mut root = match schema {
            Value::Object(fields) => fields.clone(),
            other => panic!("{key}: the spec's schema is not an object: {other}"),
        };
        assert!(
            !root.contains_key("components"),
            "{key}: the spec's schema has a `components` keyword of its own"
        );
        root.insert("components".into(), self.doc["components"].clone());
        root.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{key}: the spec's response schema does not compile: {e}"));
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .unwrap()
            .insert(key.to_string(), validator.clone());
        validator
    }

    /// Reports `what` on standard error, once per run.
    fn undocumented(&self, what: String) {
        let line = format!("SPEC-UNDOCUMENTED {what}\n");
        if self.undocumented.lock().unwrap().insert(what) {
            // Straight to the process's standard error: `eprintln!` is captured, and so
            // hidden, for tests that pass.
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

#[test]
fn paths_match_their_most_literal_template() {
    let doc: Value = serde_json::json!({"paths": {
        "/v2/orgs/{org_name}/members/{username}": {"get": {}},
        "/v2/orgs/{org_name}/members/export": {"get": {}},
        "/v2/orgs/{org_name}/members": {"get": {}},
        "/v2/invites/{id}": {},
        "/v2/invites/bulk": {},
    }});
    let spec = Spec {
        doc,
        validators: Mutex::new(HashMap::new()),
        undocumented: Mutex::new(BTreeSet::new()),
    };
    let template = |path: &str| spec.path_item(normalize(path)).map(|(t, _)| t.to_string());
    assert_eq!(
        template("/v2/orgs/acme/members/").as_deref(),
        Some("/v2/orgs/{org_name}/members")
    );
    assert_eq!(
        template("/v2/orgs/acme/members/export").as_deref(),
        Some("/v2/orgs/{org_name}/members/export")
    );
    assert_eq!(
        template("/v2/orgs/acme/members/alice").as_deref(),
        Some("/v2/orgs/{org_name}/members/{username}")
    );
    assert_eq!(template("/v2/invites/bulk").as_deref(), Some("/v2/invites/bulk"));
    assert_eq!(template("/v2/invites/x").as_deref(), Some("/v2/invites/{id}"));
    assert_eq!(template("/v2/orgs//members"), None);
    assert!(is_registry(normalize("/v2/")));
    assert!(is_registry("/v2/acme/app/manifests/latest"));
    assert!(is_registry("/v2/acme/app/tags/list"));
    assert!(!is_registry("/v2/namespaces/acme/repositories/app/tags"));
}

#[test]
fn bodies_that_violate_the_spec_are_refused() {
    if spec().is_none() {
        eprintln!("SKIPPED: set WHARF_HUB_SPEC to check the response schemas");
        return;
    }
    let sent = |method: Method, path: &str| {
        Sent(Operation::of(
            &method,
            &Url::parse(&format!("http://127.0.0.1{path}")).expect("URL"),
        ))
    };
    let refused = |sent: &Sent, status: StatusCode, body: Value| {
        let outcome = std::panic::catch_unwind(|| sent.check(status, &body));
        assert!(outcome.is_err(), "{status} {body} was not refused");
    };
    let tokens = sent(Method::GET, "/v2/access-tokens/");
    tokens.check(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({"message": "unauthorized", "errinfo": null}),
    );
    refused(
        &tokens,
        StatusCode::UNAUTHORIZED,
        serde_json::json!({"message": 401, "errinfo": null}),
    );
    refused(&tokens, StatusCode::OK, serde_json::json!({"count": "many"}));
    let token = sent(
        Method::GET,
        "/v2/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb",
    );
    refused(&token, StatusCode::OK, serde_json::json!({"created_at": 5}));
    refused(
        &token,
        StatusCode::OK,
        serde_json::json!({"expires_at": "tomorrow"}),
    );
    token.check(
        StatusCode::OK,
        &serde_json::json!({"expires_at": "2021-10-28T18:30:19Z"}),
    );
    refused(
        &token,
        StatusCode::NOT_FOUND,
        serde_json::json!({"message": "not found", "errinfo": "none"}),
    );
    // The registry API is not the Hub API's to check.
    sent(Method::GET, "/v2/acme/app/tags/list").check(StatusCode::OK, &serde_json::json!({"count": "many"}));
}
