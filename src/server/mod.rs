//! `jisseki serve`: many councils' ledgers behind one HTTP service, a thin
//! adapter over the same [`Ledger`] API as the command line.
//!
//! - One ledger per project, the ledger directory `<root>/<project>` (made
//!   by `POST /v1/projects`, or by `jisseki init --ledger <root>/<project>`), opened once
//!   and kept open. Each project has one writer thread: it takes every
//!   append request waiting and appends them with one write and one sync
//!   (group commit, [`Ledger::append_group`]; each request still all or
//!   nothing, judged as if alone), so seqs are gap-free and a busy project
//!   pays one fsync for many requests. Projects do not wait for each other.
//!   Other ledger calls run on tokio's blocking pool under the project's
//!   lock.
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
//! | `POST /v1/projects` `{"project": P}` | admin | creates the project's ledger |
//! | `POST /v1/projects/{p}/events[?expected_seq=N]` | council of p, admin | appends JSON Lines, or CSV with `Content-Type: text/csv`; all or nothing; idempotent by event `id` |
//! | `GET /v1/projects/{p}/report?as_of=D[&known_at=T][&cumulative=true][&format=F][&lang=en]` | anyone granted p | CONTRACT §3 |
//! | `GET /v1/projects/{p}/evaluate?year=1\|2[&known_at=T][&format=F][&lang=en]` | anyone granted p | CONTRACT §4 |
//! | `GET /v1/projects/{p}/explain?as_of=D&menu=M\|person=P\|establishment=E[&known_at=T][&cumulative=true][&format=F][&lang=en]` | anyone granted p | every event behind the figures, with its rule |
//! | `GET /v1/projects/{p}/log?[type=T][&menu=M][&person=P][&establishment=E][&since=T][&until=T][&after_seq=N][&offset=N][&limit=N]` | anyone granted p | events, filtered and paged (`X-Next-After-Seq`), as JSON Lines |
//! | `GET /v1/projects/{p}/export` | anyone granted p | every event as JSON Lines, streamed |
//! | `GET /v1/projects/{p}/verify` | anyone granted p | the chain check |
//! | `GET /v1/projects/{p}/plan-check[?as_of=D][&format=F][&lang=en]` | anyone granted p | the plan: P-3 and defects (`jisseki plan-check`) |
//! | `GET /v1/eligibility?municipalities=A,B[&year=Y][&format=F][&lang=en]` | any token | P-1, P-2 from `<root>/statistics/municipal.csv` and `national.csv` |
//! | `POST /v1/eligibility?municipalities=A,B[&year=Y]…` (body: statistics CSV) | any token | the same on the statistics sent (national figures from the root's file, or `national_ratio_3y`, `national_ratio_1y`, `national_decline_5y`) |
//! | `GET /v1/access-log?[token=ID][&limit=N]` | admin; auditors (their project's lines) | the access log |
//! | `GET /openapi.json` | anyone | the OpenAPI 3.1 description (`schemas/openapi.json`) |
//!
//! `format` is `json` (the default), `csv` (UTF-8 with a BOM, for Excel) or
//! `xlsx`; the last two come as attachments. Every error is JSON, those
//! axum answers itself included (`json_errors`).
//!
//! At most `--max-in-flight` requests ([`IN_FLIGHT_MAX`] by default) are
//! served at once, over the whole service; beyond that the answer is 503
//! with `Retry-After`, at once, never a hang.

pub mod tokens;
mod web;

use crate::io::{read_events, InputFormat, Mode};
use crate::journal::SystemClock;
use crate::ledger::{Access, AppendOptions, AppendReport, GroupRequest, Ledger, LedgerError};
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
/// Requests served at once; more are refused with 503 and `Retry-After`.
pub const IN_FLIGHT_MAX: usize = 256;

/// Every route: method and path, as in `schemas/openapi.json` (a test holds
/// the two equal, and another calls each route).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/v1/access-log"),
    ("post", "/v1/projects"),
    ("post", "/v1/projects/{p}/events"),
    ("get", "/v1/projects/{p}/report"),
    ("get", "/v1/projects/{p}/evaluate"),
    ("get", "/v1/projects/{p}/explain"),
    ("get", "/v1/projects/{p}/log"),
    ("get", "/v1/projects/{p}/export"),
    ("get", "/v1/projects/{p}/verify"),
    ("get", "/v1/projects/{p}/plan-check"),
    ("get", "/v1/eligibility"),
    ("post", "/v1/eligibility"),
];

/// The OpenAPI 3.1 description of the routes.
pub const OPENAPI: &str = include_str!("../../schemas/openapi.json");

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding, or the root directory.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct App {
    root: PathBuf,
    /// Open ledgers by project; each behind its own lock, with its writer.
    ledgers: Mutex<HashMap<String, Project>>,
    /// The writer threads, joined when the server stops.
    writers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Held while a project is created: one at a time.
    creating: Arc<Mutex<()>>,
    access_log: Mutex<std::fs::File>,
    /// The tokens file as last read, with what identifies that version.
    tokens: Mutex<Option<(tokens::Stamp, Arc<Vec<TokenEntry>>)>>,
    /// Uploads previewed on the web page, waiting for their confirmation.
    uploads: Mutex<Vec<web::Pending>>,
}

/// An open project: its ledger and the queue of its writer.
struct Project {
    ledger: Arc<Mutex<Ledger>>,
    queue: std::sync::mpsc::Sender<Job>,
}

/// One append request waiting for the project's writer.
struct Job {
    request: GroupRequest,
    reply: tokio::sync::oneshot::Sender<Result<AppendReport, ApiError>>,
}

/// Request bodies up to this size are parsed on the request's own task;
/// larger ones on the blocking pool.
pub const INLINE_PARSE_MAX: usize = 16 << 10;

/// The most requests one group commit takes.
pub const GROUP_MAX: usize = 64;

/// A project's writer: takes every append request waiting (up to
/// [`GROUP_MAX`]), appends them with one write and one sync
/// ([`Ledger::append_group`]: each still all or nothing), then answers each.
fn writer(ledger: Arc<Mutex<Ledger>>, queue: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (requests, replies): (Vec<GroupRequest>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        let results = match ledger.lock() {
            Ok(mut l) => l.append_group(requests),
            Err(_) => {
                for reply in replies {
                    let _ = reply.send(Err(ApiError::internal()));
                }
                continue;
            }
        };
        match results {
            Ok(rs) => {
                for (r, reply) in rs.into_iter().zip(replies) {
                    let _ = reply.send(r.map_err(ApiError::from));
                }
            }
            Err(e) => {
                // Nothing of the group was written.
                let message = e.render(crate::i18n::Lang::En);
                for reply in replies {
                    let _ = reply.send(Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ledger",
                        message.clone(),
                    )));
                }
            }
        }
    }
}

/// Who is asking (set by the authentication layer).
#[derive(Clone)]
struct Caller(TokenEntry);

impl App {
    /// The tokens, read again whenever the file changed (a `jisseki token
    /// create` or `revoke` takes effect at the next request); none when it
    /// cannot be read.
    fn tokens(&self) -> Arc<Vec<TokenEntry>> {
        let stamp = tokens::stamp(&self.root);
        if let Ok(cache) = self.tokens.lock() {
            if let Some((s, all)) = cache.as_ref() {
                if stamp.as_ref() == Some(s) {
                    return all.clone();
                }
            }
        }
        let all = Arc::new(tokens::load(&self.root).unwrap_or_default());
        if let (Some(stamp), Ok(mut cache)) = (stamp, self.tokens.lock()) {
            *cache = Some((stamp, all.clone()));
        }
        all
    }

    fn project_dir(&self, p: &str) -> PathBuf {
        self.root.join(p)
    }

    /// The project's open ledger, opening it (and starting its writer) on
    /// first use.
    fn ledger(&self, p: &str) -> Result<Arc<Mutex<Ledger>>, ApiError> {
        self.project(p, |h| h.ledger.clone())
    }

    /// The queue of the project's writer.
    fn queue(&self, p: &str) -> Result<std::sync::mpsc::Sender<Job>, ApiError> {
        self.project(p, |h| h.queue.clone())
    }

    fn project<T>(&self, p: &str, f: impl FnOnce(&Project) -> T) -> Result<T, ApiError> {
        let mut open = self.ledgers.lock().map_err(|_| ApiError::internal())?;
        if let Some(h) = open.get(p) {
            return Ok(f(h));
        }
        let dir = self.project_dir(p);
        if !tokens::valid_project(p) || !dir.join("JISSEKI").exists() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no project {p}"),
            ));
        }
        let l = Ledger::open(&dir, Access::Write, Arc::new(SystemClock))?;
        let l = Arc::new(Mutex::new(l));
        let (tx, rx) = std::sync::mpsc::channel();
        let w = l.clone();
        let handle = std::thread::Builder::new()
            .name(format!("writer {p}"))
            .spawn(move || writer(w, rx))
            .map_err(|_| ApiError::internal())?;
        if let Ok(mut ws) = self.writers.lock() {
            ws.push(handle);
        }
        let h = Project {
            ledger: l,
            queue: tx,
        };
        let out = f(&h);
        open.insert(p.to_string(), h);
        Ok(out)
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
                // An id already recorded (or repeated in the batch) with
                // other content is a conflict; anything else is invalid.
                status: if errs.0.iter().all(|x| x.code() == "id_conflict") {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
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

/// Runs `f` on project `p`'s ledger, under the project's lock, on the
/// blocking pool (the caller has checked the token may).
async fn on_ledger<T: Send + 'static>(
    app: &App,
    p: &str,
    f: impl FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let ledger = app.ledger(p)?;
    blocking(move || {
        let mut l = ledger.lock().map_err(|_| ApiError::internal())?;
        f(&mut l)
    })
    .await
}

/// The facts of project `p` as known at `known_at` (the lock is held only
/// while reading them).
async fn resolved(
    app: &App,
    p: &str,
    known_at: Option<i64>,
) -> Result<crate::projection::Resolved, ApiError> {
    on_ledger(app, p, move |l| Ok(l.resolved(known_at)?)).await
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
            "project names are 1–64 letters, digits, `-` or `_` (and not `statistics`)".into(),
        ));
    }
    let dir = app.project_dir(&body.project);
    let creating = app.creating.clone();
    blocking(move || {
        let _one_at_a_time = creating.lock().map_err(|_| ApiError::internal())?;
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
    let body_len = body.len();
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let queue = app.queue(&p)?;
    let parse = move || {
        let (format, name) = if csv {
            (InputFormat::Csv, "request.csv")
        } else {
            (InputFormat::JsonLines, "request.jsonl")
        };
        let events = read_events(&body, name, format, Mode::Append).map_err(LedgerError::Input)?;
        Ok((events, name))
    };
    // A few events parse in microseconds: on this task, without a hop to
    // the blocking pool; an upload goes to the pool.
    let events = if body_len <= INLINE_PARSE_MAX {
        parse()?
    } else {
        blocking(parse).await?
    };
    let report = submit(queue, events.0, events.1, q.expected_seq).await?;
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

/// Appends `batch` through the project's writer (group commit) and waits
/// for its answer.
async fn submit(
    queue: std::sync::mpsc::Sender<Job>,
    batch: Vec<crate::io::InputEvent>,
    file: &str,
    expect_seq: Option<u64>,
) -> Result<AppendReport, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job = Job {
        request: GroupRequest {
            batch,
            file: file.to_string(),
            opts: AppendOptions {
                expect_seq,
                check_only: false,
            },
        },
        reply,
    };
    queue.send(job).map_err(|_| ApiError::internal())?;
    answer.await.map_err(|_| ApiError::internal())?
}

#[derive(Deserialize)]
struct ReportQuery {
    as_of: String,
    known_at: Option<String>,
    #[serde(default)]
    cumulative: bool,
    format: Option<String>,
    lang: Option<crate::i18n::Lang>,
}

/// What a read route answers in: `format=json` (the default), `csv` or
/// `xlsx`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    Json,
    Csv,
    Xlsx,
}

impl Out {
    fn parse(f: &Option<String>) -> Result<Out, ApiError> {
        match f.as_deref() {
            None | Some("json") => Ok(Out::Json),
            Some("csv") => Ok(Out::Csv),
            Some("xlsx") => Ok(Out::Xlsx),
            Some(_) => Err(bad("format: json, csv or xlsx")),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Out::Json => "application/json",
            Out::Csv => "text/csv; charset=utf-8",
            Out::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The body with its content type, and a file name for downloads.
    fn respond(self, bytes: Vec<u8>, name: &str) -> Response {
        let ext = match self {
            Out::Json => "json",
            Out::Csv => "csv",
            Out::Xlsx => "xlsx",
        };
        let mut r = ([(header::CONTENT_TYPE, self.content_type())], bytes).into_response();
        if self != Out::Json {
            if let Ok(v) =
                header::HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\""))
            {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
        }
        r
    }
}

fn xlsx_failed(e: rust_xlsxwriter::XlsxError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "xlsx",
        format!("the workbook could not be written: {e}"),
    )
}

fn bad(what: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", what.into())
}

fn parse_known_at(t: &Option<String>) -> Result<Option<i64>, ApiError> {
    match t {
        Some(t) => Ok(Some(
            crate::journal::chain::parse_timestamp(t)
                .ok_or_else(|| bad("known_at: an RFC 3339 time"))?,
        )),
        None => Ok(None),
    }
}

fn scope_of(cumulative: bool) -> crate::rules::time::Scope {
    if cumulative {
        crate::rules::time::Scope::Cumulative
    } else {
        crate::rules::time::Scope::FiscalYear
    }
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
    let as_of = crate::domain::Date::parse_iso(&q.as_of).ok_or_else(|| bad("as_of: YYYY-MM-DD"))?;
    let known_at = parse_known_at(&q.known_at)?;
    let scope = scope_of(q.cumulative);
    let out = Out::parse(&q.format)?;
    let lang = q.lang.unwrap_or_default();
    let bytes = on_ledger(&app, &p, move |l| {
        let render = |r: &crate::report::Report| -> Result<Vec<u8>, ApiError> {
            Ok(match out {
                Out::Json => serde_json::to_vec(r).unwrap_or_default(),
                Out::Csv => crate::report::render_csv(r),
                Out::Xlsx => crate::report::xlsx::report_workbook(r, lang).map_err(xlsx_failed)?,
            })
        };
        let request = if out == Out::Csv {
            "api/csv"
        } else {
            "api/json"
        };
        Ok(match out {
            Out::Json | Out::Csv => {
                l.report_rendered(as_of, known_at, scope, request, |r| {
                    render(r).unwrap_or_default()
                })?
                .0
            }
            Out::Xlsx => render(&l.report_kept(as_of, known_at, scope)?.0)?,
        })
    })
    .await?;
    Ok(out.respond(bytes, &format!("report-{p}-{as_of}")))
}

#[derive(Deserialize)]
struct EvaluateQuery {
    year: u8,
    known_at: Option<String>,
    format: Option<String>,
    lang: Option<crate::i18n::Lang>,
}

async fn evaluate(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<EvaluateQuery>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    if !matches!(q.year, 1 | 2) {
        return Err(bad("year: 1 or 2 (year 3 has no mid-term judgement)"));
    }
    let known_at = parse_known_at(&q.known_at)?;
    let out = Out::parse(&q.format)?;
    let lang = q.lang.unwrap_or_default();
    let r = resolved(&app, &p, known_at).await?;
    let bytes = blocking(move || {
        let e = crate::evaluate::evaluate(&r, q.year, lang).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "evaluate", e.to_string())
        })?;
        Ok(match out {
            Out::Json => serde_json::to_vec(&e).unwrap_or_default(),
            Out::Csv => crate::report::sheets::evaluation_csv(&e, lang),
            Out::Xlsx => crate::report::xlsx::workbook_bytes(&r, &e).map_err(xlsx_failed)?,
        })
    })
    .await?;
    Ok(out.respond(bytes, &format!("judgement-{p}-year{}", q.year)))
}

#[derive(Deserialize)]
struct ExplainQuery {
    as_of: String,
    known_at: Option<String>,
    #[serde(default)]
    cumulative: bool,
    menu: Option<String>,
    person: Option<String>,
    establishment: Option<String>,
    format: Option<String>,
    lang: Option<crate::i18n::Lang>,
}

async fn explain(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<ExplainQuery>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let as_of = crate::domain::Date::parse_iso(&q.as_of).ok_or_else(|| bad("as_of: YYYY-MM-DD"))?;
    let known_at = parse_known_at(&q.known_at)?;
    let subject = q.person.clone().or(q.establishment.clone());
    if q.menu.is_none() && subject.is_none() {
        return Err(bad("menu, person or establishment"));
    }
    let scope = scope_of(q.cumulative);
    let out = Out::parse(&q.format)?;
    let lang = q.lang.unwrap_or_default();
    let r = resolved(&app, &p, known_at).await?;
    let bytes = blocking(move || {
        if let Some(m) = &q.menu {
            if !r.menus.contains_key(m.as_str()) {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_menu",
                    format!("no menu {m}"),
                ));
            }
        }
        let f = crate::projection::figures(&r, crate::projection::Query { as_of, scope });
        let report = crate::report::Report::new(&r, &f, as_of, known_at);
        let x = crate::report::explanation(report, &f, q.menu.as_deref(), subject.as_deref());
        Ok(match out {
            Out::Json => serde_json::to_vec(&x).unwrap_or_default(),
            Out::Csv => crate::report::sheets::explanation_csv(&x, lang),
            Out::Xlsx => {
                crate::report::xlsx::explanation_workbook(&x, lang).map_err(xlsx_failed)?
            }
        })
    })
    .await?;
    Ok(out.respond(bytes, &format!("explain-{p}-{as_of}")))
}

#[derive(Deserialize)]
struct LogQuery {
    #[serde(rename = "type")]
    types: Option<String>,
    menu: Option<String>,
    person: Option<String>,
    establishment: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after_seq: Option<u64>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// The most events one `log` page gives.
pub const LOG_PAGE_MAX: usize = 10_000;

async fn log(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let time = |t: &Option<String>, what: &str| match t {
        Some(t) => crate::journal::chain::parse_timestamp(t)
            .map(Some)
            .ok_or_else(|| bad(what)),
        None => Ok(None),
    };
    let limit = q.limit.unwrap_or(1_000).min(LOG_PAGE_MAX);
    let filter = crate::ledger::LogFilter {
        types: q
            .types
            .map(|t| t.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        menu: q.menu,
        person: q.person,
        establishment: q.establishment,
        since_us: time(&q.since, "since: an RFC 3339 time")?,
        until_us: time(&q.until, "until: an RFC 3339 time")?,
        after_seq: q.after_seq,
        limit: Some(q.offset.saturating_add(limit).saturating_add(1)),
    };
    let offset = q.offset;
    let bytes = on_ledger(&app, &p, move |l| {
        let events = l.log(&filter)?;
        let more = events.len() > offset + limit;
        let mut out = Vec::new();
        let mut last = None;
        for e in events.iter().skip(offset).take(limit) {
            out.extend_from_slice(&e.export_line());
            out.push(b'\n');
            last = Some(e.seq);
        }
        Ok((out, more, last))
    })
    .await?;
    let (bytes, more, last) = bytes;
    let mut r = ([(header::CONTENT_TYPE, "application/x-ndjson")], bytes).into_response();
    if more {
        // The next page, as headers (the body stays JSON Lines): ask again
        // with `after_seq` (stable while events are appended) or `offset`.
        if let Some(last) = last {
            if let Ok(v) = header::HeaderValue::from_str(&last.to_string()) {
                r.headers_mut().insert("x-next-after-seq", v);
            }
        }
        if let Ok(v) = header::HeaderValue::from_str(&(offset + limit).to_string()) {
            r.headers_mut().insert("x-next-offset", v);
        }
    }
    Ok(r)
}

#[derive(Deserialize)]
struct AccessQuery {
    token: Option<String>,
    limit: Option<usize>,
}

/// The access log: an admin sees every line; an auditor the lines about
/// the project its token is for.
async fn access_log(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    Query(q): Query<AccessQuery>,
) -> Result<Response, ApiError> {
    let prefix = match (caller.role, &caller.project) {
        (Role::Admin, _) => None,
        (Role::Auditor, Some(p)) => Some(format!("/v1/projects/{p}/")),
        _ => return Err(ApiError::forbidden()),
    };
    let root = app.root.clone();
    let limit = q.limit.unwrap_or(1_000).min(LOG_PAGE_MAX);
    let bytes = blocking(move || {
        let text = std::fs::read_to_string(root.join("access.log")).unwrap_or_default();
        let mut lines: Vec<&str> =
            text.lines()
                .filter(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                    prefix.as_deref().is_none_or(|pre| {
                        v["path"].as_str().is_some_and(|path| path.starts_with(pre))
                    }) && q.token.as_deref().is_none_or(|t| v["token"] == t)
                })
                .collect();
        let skip = lines.len().saturating_sub(limit);
        lines.drain(..skip);
        let mut out = lines.join("\n").into_bytes();
        if !out.is_empty() {
            out.push(b'\n');
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], bytes).into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The size of one page of a streamed export.
pub const EXPORT_PAGE_BYTES: usize = 256 << 10;

async fn export(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let ledger = app.ledger(&p)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        // The ledger as it stands now, read a page at a time: the
        // project's lock is held while a page is read, never while the
        // client takes it, so appends go on during a long download.
        let page = |after: u64, until: Option<u64>| -> Result<(Vec<u8>, u64, u64), String> {
            let l = ledger.lock().map_err(|_| "internal error".to_string())?;
            let until = until.unwrap_or(l.head().next_seq - 1);
            let mut buf = Vec::with_capacity(EXPORT_PAGE_BYTES + 4096);
            let last = l
                .export_page(after, until, EXPORT_PAGE_BYTES, &mut buf)
                .map_err(|e| e.render(crate::i18n::Lang::En))?;
            Ok((buf, last, until))
        };
        let mut after = 0;
        let mut until = None;
        loop {
            match page(after, until) {
                Ok((buf, last, end)) => {
                    until = Some(end);
                    if !buf.is_empty() && tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return; // the client is gone
                    }
                    if last >= end || last == after {
                        return;
                    }
                    after = last;
                }
                Err(e) => {
                    // The client sees a broken stream, not a complete-looking one.
                    let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

async fn verify(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let (v, stray) = on_ledger(&app, &p, |l| {
        let v = l.verify();
        // Only beside an intact chain: a broken one is answered as such.
        let stray = match v {
            crate::journal::Verification::Intact { .. } => l.unreferenced_chunk_files()?,
            crate::journal::Verification::Broken { .. } => Vec::new(),
        };
        Ok((v, stray))
    })
    .await?;
    let (status, body) = match v {
        crate::journal::Verification::Intact { events, head } => (
            StatusCode::OK,
            json!({
                "ok": true,
                "events": events,
                "head": crate::journal::hash_text(&head),
                "unreferenced_files": stray,
            }),
        ),
        crate::journal::Verification::Broken { seq, detail } => (
            StatusCode::CONFLICT,
            json!({"ok": false, "first_bad_seq": seq, "detail": detail}),
        ),
    };
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
struct PlanQuery {
    as_of: Option<String>,
    format: Option<String>,
    lang: Option<crate::i18n::Lang>,
}

async fn plan_check(
    State(app): State<Arc<App>>,
    Extension(Caller(caller)): Extension<Caller>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, ApiError> {
    if !may_read(&caller, &p) {
        return Err(ApiError::forbidden());
    }
    let as_of = match &q.as_of {
        Some(d) => Some(crate::domain::Date::parse_iso(d).ok_or_else(|| bad("as_of: YYYY-MM-DD"))?),
        None => None,
    };
    let out = Out::parse(&q.format)?;
    if out == Out::Xlsx {
        return Err(bad("format: json or csv"));
    }
    let lang = q.lang.unwrap_or_default();
    let r = resolved(&app, &p, None).await?;
    let bytes = blocking(move || {
        let as_of = as_of.or_else(|| r.project.as_ref().map(|_| r.latest_date()));
        let check = crate::proposal::plan_check(&r, as_of, lang);
        Ok(match out {
            Out::Csv => crate::proposal::plan_check_csv(&check),
            _ => serde_json::to_vec(&check).unwrap_or_default(),
        })
    })
    .await?;
    Ok(out.respond(bytes, &format!("plan-check-{p}")))
}

#[derive(Deserialize)]
struct EligibilityQuery {
    municipalities: String,
    year: Option<u16>,
    national_ratio_3y: Option<String>,
    national_ratio_1y: Option<String>,
    national_decline_5y: Option<String>,
    format: Option<String>,
    lang: Option<crate::i18n::Lang>,
}

/// The statistics files a server keeps for everyone: published figures.
fn statistics_file(root: &Path, name: &str) -> PathBuf {
    root.join("statistics").join(name)
}

fn proposal_error(e: crate::proposal::ProposalError) -> ApiError {
    match e {
        crate::proposal::ProposalError::Input(errs) => ApiError::from(LedgerError::Input(errs)),
        other => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "eligibility",
            other.render(crate::i18n::Lang::En),
        ),
    }
}

/// P-1 and P-2 on `stats` (bytes of a statistics CSV named `name`).
fn judge_eligibility(
    root: &Path,
    stats: &[u8],
    name: &str,
    q: &EligibilityQuery,
) -> Result<Response, ApiError> {
    let out = Out::parse(&q.format)?;
    if out == Out::Xlsx {
        return Err(bad("format: json or csv"));
    }
    let lang = q.lang.unwrap_or_default();
    let table = crate::proposal::read_statistics(stats, name, false)
        .map_err(|e| ApiError::from(LedgerError::Input(e)))?;
    let year = q
        .year
        .or_else(|| table.latest_year())
        .ok_or_else(|| bad("year"))?;
    let national = match (
        &q.national_ratio_3y,
        &q.national_ratio_1y,
        &q.national_decline_5y,
    ) {
        (Some(r3), Some(r1), Some(d)) => {
            let num = |v: &str, what: &str| {
                crate::rules::proposal::Frac::parse_decimal(v)
                    .ok_or_else(|| bad(&format!("{what}: a decimal (0.85) or a percentage (2.5%)")))
            };
            crate::rules::proposal::National {
                ratio_3y: num(r3, "national_ratio_3y")?,
                ratio_1y: num(r1, "national_ratio_1y")?,
                decline_5y: num(d, "national_decline_5y")?,
            }
        }
        (None, None, None) => {
            let path = statistics_file(root, "national.csv");
            let bytes = std::fs::read(&path).map_err(|_| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_statistics",
                    "no national statistics on this server (statistics/national.csv): give national_ratio_3y, national_ratio_1y and national_decline_5y".into(),
                )
            })?;
            let n = crate::proposal::read_statistics(&bytes, "national.csv", true)
                .map_err(|e| ApiError::from(LedgerError::Input(e)))?;
            crate::proposal::national_from(&n, year).map_err(proposal_error)?
        }
        _ => {
            return Err(bad(
                "national_ratio_3y, national_ratio_1y and national_decline_5y: all three or none",
            ))
        }
    };
    let munis: Vec<String> = q
        .municipalities
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let e = crate::proposal::eligibility(&table, national, &munis, year).map_err(proposal_error)?;
    let bytes = match out {
        Out::Csv => crate::proposal::eligibility_csv(&e),
        _ => serde_json::to_vec(&e).unwrap_or_default(),
    };
    let _ = lang;
    Ok(out.respond(bytes, &format!("eligibility-{year}")))
}

/// Eligibility from the statistics the server keeps (any token: they are
/// published figures).
async fn eligibility(
    State(app): State<Arc<App>>,
    Query(q): Query<EligibilityQuery>,
) -> Result<Response, ApiError> {
    let root = app.root.clone();
    blocking(move || {
        let path = statistics_file(&root, "municipal.csv");
        let stats = std::fs::read(&path).map_err(|_| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_statistics",
                "no municipal statistics on this server (statistics/municipal.csv): POST them"
                    .into(),
            )
        })?;
        judge_eligibility(&root, &stats, "municipal.csv", &q)
    })
    .await
}

/// Eligibility from statistics sent in the body (CSV, UTF-8 or Shift_JIS).
async fn eligibility_posted(
    State(app): State<Arc<App>>,
    Query(q): Query<EligibilityQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let root = app.root.clone();
    blocking(move || judge_eligibility(&root, &body, "request.csv", &q)).await
}

/// Authenticates (401 unless a known bearer token), then writes the
/// request's line of the access log.
async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    // The web page's sign-in cookie: for its pages, and for reading the API
    // (downloads); never for writing through the API.
    let ui = path == "/" || path == "/ui" || path.starts_with("/ui/");
    let reads = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let presented = bearer.or_else(|| {
        (ui || reads)
            .then(|| web::cookie_token(req.headers()))
            .flatten()
    });
    let open = matches!(path.as_str(), "/healthz" | "/openapi.json") || ui;
    let caller = match presented {
        Some(secret) if path != "/healthz" && path != "/openapi.json" => {
            let all = app.tokens();
            tokens::find(&all, &secret).cloned()
        }
        _ => None,
    };
    let response = match (&caller, open) {
        (Some(c), true) => {
            req.extensions_mut().insert(Caller(c.clone()));
            next.run(req).await
        }
        (_, true) => next.run(req).await,
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
    // One write per line: `writeln!` on the file would make a system call
    // for each piece of the JSON.
    let mut text = line.to_string();
    text.push('\n');
    if let Ok(mut f) = app.access_log.lock() {
        let _ = f.write_all(text.as_bytes());
    }
    response
}

/// Every error is JSON: an error that axum or a layer answered in plain
/// text (a malformed query, an unknown route, a body over the limit, a
/// method not allowed) is rewritten as `{"error", "message"}`, with the
/// same status and headers.
async fn json_errors(req: Request, next: Next) -> Response {
    let ui = req.uri().path().starts_with("/ui");
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // The web page's own error pages are HTML, and stay so.
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "bad_request",
        _ => "error",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    if ui {
        // A page asked for with a bad parameter: a page that says so.
        let body = web::plain_error_page(status, &message);
        parts.headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::from(body));
    }
    let body = serde_json::to_vec(&json!({"error": code, "message": message})).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// The service's routes over `root`.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/v1/access-log", get(access_log))
        .route("/v1/projects", post(create_project))
        .route("/v1/projects/{p}/events", post(append))
        .route("/v1/projects/{p}/report", get(report))
        .route("/v1/projects/{p}/evaluate", get(evaluate))
        .route("/v1/projects/{p}/explain", get(explain))
        .route("/v1/projects/{p}/log", get(log))
        .route("/v1/projects/{p}/export", get(export))
        .route("/v1/projects/{p}/verify", get(verify))
        .route("/v1/projects/{p}/plan-check", get(plan_check))
        .route("/v1/eligibility", get(eligibility).post(eligibility_posted))
        .merge(web::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            authenticate,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(json_errors))
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
/// with the bound address (a port of 0 picks one). At most `in_flight`
/// requests are served at once, over every route and connection; one more
/// is answered 503 with `Retry-After` at once.
pub fn serve(
    root: &Path,
    listen: &str,
    in_flight: usize,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    std::fs::create_dir_all(root)?;
    let access_log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("access.log"))?;
    let app = Arc::new(App {
        root: root.to_path_buf(),
        ledgers: Mutex::new(HashMap::new()),
        writers: Mutex::new(Vec::new()),
        creating: Arc::new(Mutex::new(())),
        access_log: Mutex::new(access_log),
        tokens: Mutex::new(None),
        uploads: Mutex::new(Vec::new()),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        ready(listener.local_addr()?);
        // One limit for the whole service (a layer on the router would give
        // each route its own).
        let service = tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                |_: tower::BoxError| async {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        "too many requests at once; retry".into(),
                    )
                    .into_response()
                },
            ))
            .load_shed()
            .concurrency_limit(in_flight.max(1))
            .service(router(app.clone()));
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(service),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    })?;
    // Every request has finished: stop the writers (their queues close),
    // then close the ledgers (sled flushes).
    if let Ok(mut open) = app.ledgers.lock() {
        open.clear();
    }
    let writers = app
        .writers
        .lock()
        .map(|mut w| std::mem::take(&mut *w))
        .unwrap_or_default();
    for w in writers {
        let _ = w.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schemas/openapi.json` describes exactly the routes the router
    /// serves.
    #[test]
    fn the_openapi_document_names_every_route_and_no_other() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut described: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                described.push((method.clone(), path.clone()));
            }
        }
        described.sort();
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        served.sort();
        assert_eq!(described, served);
    }
}
