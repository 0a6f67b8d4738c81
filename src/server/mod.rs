//! `jisseki serve`: many councils' ledgers behind one HTTP service, a thin
//! adapter over the same [`Ledger`] API as the command line.
//!
//! - One ledger per project under `<root>/projects/<project>/`, opened once
//!   and kept open; appends to a project are serialized by its own lock (a
//!   gap-free `seq`), and projects do not wait for each other. Ledger calls
//!   run on tokio's blocking pool.
//! - Every request but `/healthz` carries `Authorization: Bearer <token>`
//!   ([`tokens`]). A missing or unknown token: 401. A token for another
//!   project: 403, the same whether or not that project exists.
//! - Every request is written to `<root>/access.log` (JSON Lines: time,
//!   token id, role, method, path, status), apart from the journals.
//! - SIGTERM or Ctrl-C: stop accepting, finish the requests in flight
//!   (appends included), close the ledgers, exit 0.
//!
//! Routes:
//!
//! | method, path | who | does |
//! |---|---|---|
//! | `GET /healthz` | anyone | `ok` |
//! | `POST /projects` `{"project": P}` | admin | creates the project's ledger |
//! | `POST /projects/{p}/events[?expected_seq=N]` | council of p, admin | appends JSON Lines, or CSV with `Content-Type: text/csv`; all or nothing; idempotent by event `id` |
//! | `GET /projects/{p}/report?as_of=D[&known_at=T][&cumulative=true]` | anyone granted p | CONTRACT §3 as JSON |
//! | `GET /projects/{p}/export` | anyone granted p | every event as JSON Lines |
//! | `GET /projects/{p}/verify` | anyone granted p | the chain check |

pub mod tokens;

use crate::io::{read_events, InputFormat, Mode};
use crate::journal::SystemClock;
use crate::ledger::{Access, AppendOptions, Ledger, LedgerError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokens::{Role, TokenEntry};

/// The largest request body accepted (an import of a council's year).
pub const BODY_LIMIT: usize = 256 << 20;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding, or the root directory.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct App {
    root: PathBuf,
    /// Open ledgers by project; each behind its own lock.
    ledgers: Mutex<HashMap<String, Arc<Mutex<Ledger>>>>,
    access_log: Mutex<std::fs::File>,
}

/// Who is asking (set by the authentication layer).
#[derive(Clone)]
struct Caller(TokenEntry);

impl App {
    fn project_dir(&self, p: &str) -> PathBuf {
        self.root.join("projects").join(p)
    }

    /// The project's open ledger, opening it on first use.
    fn ledger(&self, p: &str) -> Result<Arc<Mutex<Ledger>>, ApiError> {
        let mut open = self.ledgers.lock().map_err(|_| ApiError::internal())?;
        if let Some(l) = open.get(p) {
            return Ok(l.clone());
        }
        let dir = self.project_dir(p);
        if !dir.join("JISSEKI").exists() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no project {p}"),
            ));
        }
        let l = Ledger::open(&dir, Access::Write, Arc::new(SystemClock))?;
        let l = Arc::new(Mutex::new(l));
        open.insert(p.to_string(), l.clone());
        Ok(l)
    }
}

/// An error as JSON: a stable code, a message, and for refused input every
/// error with its line and field, as the CLI names them.
struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: String) -> ApiError {
        ApiError {
            status,
            body: json!({"error": code, "message": message}),
        }
    }

    fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error".into(),
        )
    }

    fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token may not do that".into(),
        )
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        let lang = crate::i18n::Lang::En;
        match &e {
            LedgerError::Input(errs) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: json!({
                    "error": "input",
                    "message": format!("{} error(s); nothing was appended", errs.0.len()),
                    "errors": errs.0.iter().map(|x| json!({
                        "code": x.code(),
                        "file": x.at.file,
                        "line": x.at.line,
                        "field": x.at.field,
                        "message": x.render(lang),
                    })).collect::<Vec<_>>(),
                }),
            },
            LedgerError::ExpectSeq { expected, actual } => ApiError {
                status: StatusCode::CONFLICT,
                body: json!({
                    "error": "expected_seq",
                    "message": e.render(lang),
                    "expected": expected,
                    "actual": actual,
                }),
            },
            LedgerError::InUse { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "in_use", e.render(lang))
            }
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ledger", e.render(lang)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

/// May `caller` read project `p`?
fn may_read(caller: &TokenEntry, p: &str) -> bool {
    caller.role == Role::Admin || caller.project.as_deref() == Some(p)
}

/// May `caller` append to project `p`?
fn may_write(caller: &TokenEntry, p: &str) -> bool {
    caller.role == Role::Admin
        || (caller.role == Role::Council && caller.project.as_deref() == Some(p))
}

/// Runs a ledger call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal())?
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Deserialize)]
struct NewProject {
    project: String,
}

async fn create_project(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    Json(body): Json<NewProject>,
) -> Result<Response, ApiError> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden());
    }
    if !tokens::valid_project(&body.project) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_project",
            "project names are 1–64 letters, digits, `-` or `_`".into(),
        ));
    }
    let dir = app.project_dir(&body.project);
    blocking(move || {
        if dir.join("JISSEKI").exists() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "exists",
                "the project exists".into(),
            ));
        }
        std::fs::create_dir_all(dir.parent().unwrap_or(&dir)).map_err(|_| ApiError::internal())?;
        Ledger::init(&dir)?;
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"project": body.project}))).into_response())
}

#[derive(Deserialize)]
struct AppendQuery {
    expected_seq: Option<u64>,
}

async fn append(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<AppendQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !may_write(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let ledger = app.ledger(&p)?;
    let report = blocking(move || {
        let (format, name) = if csv {
            (InputFormat::Csv, "request.csv")
        } else {
            (InputFormat::JsonLines, "request.jsonl")
        };
        let events = read_events(&body, name, format, Mode::Append).map_err(LedgerError::Input)?;
        let mut l = ledger.lock().map_err(|_| ApiError::internal())?;
        Ok(l.append(
            events,
            name,
            AppendOptions {
                expect_seq: q.expected_seq,
                check_only: false,
            },
        )?)
    })
    .await?;
    let rows = |v: &[(u64, u64, uuid::Uuid)]| {
        v.iter()
            .map(|(line, seq, id)| json!({"line": line, "seq": seq, "id": id}))
            .collect::<Vec<_>>()
    };
    let status = if report.appended.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({
            "appended": rows(&report.appended),
            "already": rows(&report.already),
            "head": report.head.map(|h| json!({
                "seq": h.next_seq - 1,
                "hash": hex::encode(h.hash),
            })),
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct ReportQuery {
    as_of: String,
    known_at: Option<String>,
    #[serde(default)]
    cumulative: bool,
}

async fn report(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let bad = |what: &str| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", what.into());
    let as_of = crate::domain::Date::parse_iso(&q.as_of).ok_or_else(|| bad("as_of: YYYY-MM-DD"))?;
    let known_at = match &q.known_at {
        Some(t) => Some(
            crate::journal::chain::parse_timestamp(t)
                .ok_or_else(|| bad("known_at: an RFC 3339 time"))?,
        ),
        None => None,
    };
    let scope = if q.cumulative {
        crate::rules::time::Scope::Cumulative
    } else {
        crate::rules::time::Scope::FiscalYear
    };
    let ledger = app.ledger(&p)?;
    let bytes = blocking(move || {
        let mut l = ledger.lock().map_err(|_| ApiError::internal())?;
        let render = |r: &crate::report::Report| serde_json::to_vec(r).unwrap_or_default();
        Ok(match known_at {
            None => l.report_rendered(as_of, scope, "api/json", render)?.0,
            Some(_) => render(&l.report_saving(as_of, known_at, scope)?.0),
        })
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn export(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let ledger = app.ledger(&p)?;
    let bytes = blocking(move || {
        let l = ledger.lock().map_err(|_| ApiError::internal())?;
        let mut out = Vec::new();
        l.export(&mut out)?;
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], bytes).into_response())
}

async fn verify(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let ledger = app.ledger(&p)?;
    let v = blocking(move || {
        let l = ledger.lock().map_err(|_| ApiError::internal())?;
        Ok(l.verify())
    })
    .await?;
    let (status, body) = match v {
        crate::journal::Verification::Intact { events, head } => (
            StatusCode::OK,
            json!({"ok": true, "events": events, "head": crate::journal::hash_text(&head)}),
        ),
        crate::journal::Verification::Broken { seq, detail } => (
            StatusCode::CONFLICT,
            json!({"ok": false, "first_bad_seq": seq, "detail": detail}),
        ),
    };
    Ok((status, Json(body)).into_response())
}

/// Authenticates (401 unless a known bearer token), then writes the
/// request's line of the access log.
async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let caller = match (path.as_str(), presented) {
        ("/healthz", _) => None,
        (_, Some(secret)) => {
            let all = tokens::load(&app.root).unwrap_or_default();
            tokens::find(&all, &secret).cloned()
        }
        _ => None,
    };
    let response = match (&caller, path.as_str()) {
        (_, "/healthz") => next.run(req).await,
        (Some(c), _) => {
            req.extensions_mut().insert(Caller(c.clone()));
            next.run(req).await
        }
        (None, _) => {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is needed".into(),
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            r
        }
    };
    let line = json!({
        "time": crate::journal::chain::timestamp_text(chrono::Utc::now().timestamp_micros()),
        "token": caller.as_ref().map(|c| c.id.clone()),
        "role": caller.as_ref().map(|c| c.role.as_str()),
        "method": method,
        "path": path,
        "status": response.status().as_u16(),
    });
    if let Ok(mut f) = app.access_log.lock() {
        let _ = writeln!(f, "{line}");
    }
    response
}

/// The service's routes over `root`.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/projects", post(create_project))
        .route("/projects/{p}/events", post(append))
        .route("/projects/{p}/report", get(report))
        .route("/projects/{p}/export", get(export))
        .route("/projects/{p}/verify", get(verify))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            authenticate,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

/// Serves `root` on `listen` until SIGTERM or Ctrl-C; `ready` is called
/// with the bound address (a port of 0 picks one).
pub fn serve(
    root: &Path,
    listen: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    std::fs::create_dir_all(root.join("projects"))?;
    let access_log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("access.log"))?;
    let app = Arc::new(App {
        root: root.to_path_buf(),
        ledgers: Mutex::new(HashMap::new()),
        access_log: Mutex::new(access_log),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        ready(listener.local_addr()?);
        axum::serve(listener, router(app.clone()))
            .with_graceful_shutdown(shutdown_signal())
            .await
    })?;
    // Every request has finished: close the ledgers (sled flushes).
    if let Ok(mut open) = app.ledgers.lock() {
        open.clear();
    }
    Ok(())
}
