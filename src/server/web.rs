//! The web page council staff use every day, served by `jisseki serve`
//! under `/ui/`: server-rendered HTML in Japanese (`?lang=en` for English),
//! a little JavaScript for the roster's keyboard entry, and every asset
//! embedded in the binary (nothing from a CDN). A thin adapter like the
//! API: each page calls the same `Ledger` and the same renderers.
//!
//! - Sign-in with a token, kept in a `Secure; HttpOnly; SameSite=Strict`
//!   cookie; the role decides what is shown. Forms that write check that
//!   the request comes from this site (`Origin`), and carry a nonce from
//!   which the events' ids are made, so a form sent twice (a retry after a
//!   network error, the back button) appends nothing twice.
//! - Pages: the dashboard (figures against targets for the fiscal year,
//!   bands of the next cutoff, the cumulative chart; every number links to
//!   its `explain`), the roster of one session, outcomes (hire,
//!   conversion, start-up), CSV upload with a preview, the report and the
//!   judgement as of any date and known-at time, the log, `verify`, and
//!   downloads (the API's own routes, read with the cookie).

use super::{may_read, may_write, resolved, submit, tokens, ApiError, App, Caller};
use crate::domain::{Category, Date};
use crate::i18n::Lang;
use crate::io::{read_events, InputFormat, Mode};
use crate::ledger::{AppendReport, LedgerError};
use crate::rules::time::Scope;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The sign-in cookie's name.
/// `__Host-`: the browser keeps it only if Secure, for the whole site, and
/// set by this host itself, so no sibling site can shadow it.
pub const COOKIE: &str = "__Host-jisseki_token";

const CSS: &str = include_str!("web/app.css");
const JS: &str = include_str!("web/app.js");
/// The fallback Japanese font (a subset of Noto Sans CJK JP, OFL; see
/// `web/FONT-LICENSE.txt` and `tools/make-ui-font.sh`): used only where a
/// browser has no Japanese font of its own.
const FONT: &[u8] = include_bytes!("web/ja.woff2");

/// The page routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/favicon.svg", get(favicon))
        .route("/ui/", get(home))
        .route("/ui/assets/app.css", get(css))
        .route("/ui/assets/app.js", get(js))
        .route("/ui/assets/ja.woff2", get(font))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/p/{p}", get(dashboard))
        .route("/ui/p/{p}/roster", get(roster_form).post(roster_save))
        .route("/ui/p/{p}/outcome", get(outcome_form).post(outcome_save))
        .route("/ui/p/{p}/upload", get(upload_form).post(upload_preview))
        .route("/ui/p/{p}/upload/confirm", post(upload_confirm))
        .route("/ui/p/{p}/explain", get(explain))
        .route("/ui/p/{p}/report", get(report))
        .route("/ui/p/{p}/log", get(log))
        .route("/ui/p/{p}/verify", get(verify))
        .route("/ui/p/{p}/plan", get(plan))
}

/// The page's icon: 実 on the header's blue.
async fn favicon() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#102a43\"/><text x=\"16\" y=\"24\" font-size=\"22\" text-anchor=\"middle\" fill=\"#fff\">実</text></svg>",
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn font() -> Response {
    (
        [
            (header::CONTENT_TYPE, "font/woff2"),
            (header::CACHE_CONTROL, "max-age=31536000, immutable"),
        ],
        FONT,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        JS,
    )
        .into_response()
}

/// The token in the sign-in cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// A text table (as the CLI prints it) for a `<pre>`: escaped, and its
/// rules drawn with `-`, since CJK fonts draw `─` (East Asian width
/// "ambiguous") two columns wide and would break the alignment.
fn pre_text(s: &str) -> String {
    esc(&s.replace('─', "-"))
}

/// Text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Query strings' values.
fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The language of a page: `?lang=en`, else Japanese.
#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<Lang>,
}

/// A whole page: header with the project's navigation (by role), then
/// `body`.
fn page(
    title: &str,
    caller: Option<&Caller>,
    project: Option<&str>,
    lang: Lang,
    body: &str,
) -> Html<String> {
    let mut nav = String::new();
    if let (Some(Caller(c)), Some(p)) = (caller, project) {
        let l = if lang == Lang::En { "?lang=en" } else { "" };
        let amp = if lang == Lang::En { "&lang=en" } else { "" };
        let write = may_write(c, p);
        let pages: [(&str, &str, &str, bool); 8] = [
            ("", "ダッシュボード", "Dashboard", true),
            ("/roster", "出席簿の入力", "Roster", write),
            ("/outcome?kind=hire", "アウトカムの入力", "Outcomes", write),
            ("/upload", "CSV取込", "CSV upload", write),
            ("/report", "実績・中間評価", "Report & judgement", true),
            ("/plan", "計画・地域要件", "Plan & eligibility", true),
            ("/log", "イベント一覧", "Event log", true),
            ("/verify", "改ざん検査", "Verify", true),
        ];
        let links: Vec<(String, &str)> = pages
            .iter()
            .filter(|(_, _, _, shown)| *shown)
            .map(|(path, ja, en, _)| {
                let sep = if path.contains('?') { amp } else { l };
                (format!("/ui/p/{}{path}{sep}", enc(p)), lang.pick(ja, en))
            })
            .collect();
        nav.push_str("<nav aria-label=\"project\"><ul>");
        for (href, text) in links {
            let _ = write!(nav, "<li><a href=\"{}\">{}</a></li>", esc(&href), esc(text));
        }
        nav.push_str("</ul></nav>");
    }
    let who = match caller {
        Some(Caller(c)) => format!(
            "<span class=\"who\">{} {}</span><form method=\"post\" action=\"/ui/logout\" class=\"inline\"><button type=\"submit\">{}</button></form>",
            esc(c.role.as_str()),
            esc(c.project.as_deref().unwrap_or("")),
            lang.pick("サインアウト", "Sign out")
        ),
        None => String::new(),
    };
    Html(format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} — jisseki</title><link rel=\"icon\" href=\"/ui/favicon.svg\"><link rel=\"stylesheet\" href=\"/ui/assets/app.css\"><script src=\"/ui/assets/app.js\" defer></script></head><body><a class=\"skip\" href=\"#main\">{}</a><header><a class=\"brand\" href=\"/ui/\">jisseki 実績</a>{}<div class=\"account\">{}</div></header><main id=\"main\"><h1>{}</h1>{}</main></body></html>",
        if lang == Lang::En { "en" } else { "ja" },
        esc(title),
        lang.pick("本文へ移動", "Skip to content"),
        nav,
        who,
        esc(title),
        body
    ))
}

/// What a page needs of its caller.
enum Need<'a> {
    /// To read the project.
    Read,
    /// To write to it (a form).
    Write,
    /// To write to it from a form of this site (a POST).
    Post(&'a HeaderMap),
}

/// The signed-in caller, if it may do what the page needs on project `p`;
/// else the sign-in page (not signed in) or 403 (the same whether or not
/// the project exists).
fn allowed(
    caller: Option<Extension<Caller>>,
    p: &str,
    lang: Lang,
    need: Need,
) -> Result<Caller, Box<Response>> {
    let Some(Extension(caller)) = caller else {
        return Err(Box::new(login_redirect()));
    };
    let ok = match need {
        Need::Read => may_read(&caller.0, p),
        Need::Write => may_write(&caller.0, p),
        Need::Post(headers) => may_write(&caller.0, p) && same_origin(headers),
    };
    if ok {
        Ok(caller)
    } else {
        Err(Box::new(forbidden(&caller, lang)))
    }
}

/// The page for a request the server refused before any page ran (a
/// query parameter that is not a number, a page that does not exist): in
/// Japanese and English, since the language parameter may be what failed.
pub(super) fn plain_error_page(status: StatusCode, message: &str) -> String {
    let body = format!(
        "<p class=\"error\" role=\"alert\" id=\"request-error\">{} / {}</p><p class=\"help\">{}</p><p><a href=\"/ui/\">jisseki</a></p>",
        status.as_u16(),
        esc(status.canonical_reason().unwrap_or("error")),
        esc(message)
    );
    page("入力の誤り / Bad request", None, None, Lang::Ja, &body).0
}

fn login_redirect() -> Response {
    Redirect::to("/ui/login").into_response()
}

/// A page refused: 403, the same whether or not the project exists.
fn forbidden(caller: &Caller, lang: Lang) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>",
        lang.pick(
            "このトークンではこのページを表示できません。",
            "This token may not see this page."
        )
    );
    (
        StatusCode::FORBIDDEN,
        page(
            lang.pick("権限がありません", "Forbidden"),
            Some(caller),
            None,
            lang,
            &body,
        ),
    )
        .into_response()
}

fn error_page(caller: &Caller, p: &str, lang: Lang, e: ApiError) -> Response {
    let message = e.body["message"].as_str().unwrap_or("error").to_string();
    let body = format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&message));
    (
        e.status,
        page(
            lang.pick("エラー", "Error"),
            Some(caller),
            Some(p),
            lang,
            &body,
        ),
    )
        .into_response()
}

/// The writes come from this site's own pages: a browser sends `Origin`
/// on a form post, and it must name this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser's cross-site post (those carry Origin)
    };
    // Host names compared without ports: a proxy in front may drop the
    // port from Host (nginx's $host) while the browser's Origin keeps it.
    fn name(h: &str) -> String {
        let h = h.trim_end_matches('/');
        let bare = match h.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => n,
            _ => h,
        };
        bare.to_ascii_lowercase()
    }
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, h)| name(h) == name(host))
}

async fn login_form(Query(q): Query<LangQuery>) -> Html<String> {
    let lang = q.lang.unwrap_or_default();
    login_page(lang, None)
}

fn login_page(lang: Lang, error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>",
                esc(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/ui/login\" class=\"card narrow\"><label for=\"token\">{}</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus aria-describedby=\"token-help\"><p id=\"token-help\" class=\"help\">{}</p><input type=\"hidden\" name=\"lang\" value=\"{}\"><button type=\"submit\">{}</button></form>",
        lang.pick("アクセストークン", "Access token"),
        lang.pick(
            "管理者から受け取った jsk_ で始まるトークンを貼り付けてください。",
            "Paste the token (jsk_…) your administrator gave you."
        ),
        if lang == Lang::En { "en" } else { "ja" },
        lang.pick("サインイン", "Sign in")
    );
    page(lang.pick("サインイン", "Sign in"), None, None, lang, &body)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    lang: Option<Lang>,
}

async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = f.lang.unwrap_or_default();
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site sign-in refused").into_response();
    }
    let token = f.token.trim();
    let all = app.tokens();
    if tokens::find(&all, token).is_none() {
        let msg = lang.pick("トークンが正しくありません。", "That token is not valid.");
        return (StatusCode::UNAUTHORIZED, login_page(lang, Some(msg))).into_response();
    }
    let cookie =
        format!("{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200");
    let to = if lang == Lang::En {
        "/ui/?lang=en"
    } else {
        "/ui/"
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

async fn logout() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ui/login")).into_response()
}

/// The projects a token may see: its own, or every ledger under the root
/// for an admin.
async fn home(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let Some(Extension(caller)) = caller else {
        return login_redirect();
    };
    let l = if lang == Lang::En { "?lang=en" } else { "" };
    if let Some(p) = &caller.0.project {
        return Redirect::to(&format!("/ui/p/{}{l}", enc(p))).into_response();
    }
    let mut projects: Vec<String> = std::fs::read_dir(&app.root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().join("JISSEKI").exists())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    projects.sort();
    let mut body = String::from("<ul class=\"projects\">");
    for p in &projects {
        let _ = write!(
            body,
            "<li><a href=\"/ui/p/{}{l}\">{}</a></li>",
            enc(p),
            esc(p)
        );
    }
    body.push_str("</ul>");
    page(
        lang.pick("事業の一覧", "Projects"),
        Some(&caller),
        None,
        lang,
        &body,
    )
    .into_response()
}

/// Today in Japan (councils work in JST).
fn today() -> Date {
    let now = chrono::Utc::now() + chrono::Duration::hours(9);
    Date(now.date_naive())
}

#[derive(Deserialize, Default)]
struct DashQuery {
    as_of: Option<String>,
    lang: Option<Lang>,
}

fn bar(value: u64, target: Option<u64>) -> String {
    match target {
        Some(t) if t > 0 => {
            let pct = (value as f64 / t as f64 * 100.0).min(100.0);
            format!(
                "<span class=\"bar\" aria-hidden=\"true\"><span style=\"width:{pct:.0}%\"></span></span>"
            )
        }
        _ => String::new(),
    }
}

/// 70 % and 50 % of the output target (E-4); 30 % (year 1) or 50 % (year
/// 2) of the outcome target for B/C (E-5): the band a figure is in, as a
/// light, with what the next band needs.
fn light(num: u64, target: Option<u64>, bands: &[(u64, &str)], lang: Lang) -> String {
    let Some(t) = target.filter(|t| *t > 0) else {
        return "<span class=\"light none\">-</span>".into();
    };
    let reached = bands
        .iter()
        .find(|(pct, _)| crate::evaluate::at_least(num, t, *pct));
    let (class, label) = match (reached, lang) {
        (Some((pct, class)), Lang::Ja) => (*class, format!("{pct}% 以上")),
        (Some((pct, class)), Lang::En) => (*class, format!("{pct}% or more")),
        (None, _) => {
            let lowest = bands.last().map_or(0, |b| b.0);
            let label = match lang {
                Lang::Ja => format!("{lowest}% 未満"),
                Lang::En => format!("below {lowest}%"),
            };
            ("red", label)
        }
    };
    let next = bands
        .iter()
        .rev()
        .find(|(pct, _)| !crate::evaluate::at_least(num, t, *pct))
        .map(|(pct, _)| {
            let n = crate::evaluate::more_needed(num, t, *pct);
            match lang {
                Lang::Ja => format!("（{pct}%まであと{n}）"),
                Lang::En => format!(" ({n} more for {pct}%)"),
            }
        })
        .unwrap_or_default();
    format!(
        "<span class=\"light {class}\" role=\"img\" aria-label=\"{label}\"></span>{label}{}",
        esc(&next)
    )
}

async fn dashboard(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<DashQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Read) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = match facts(&app, &caller, &p, None, lang).await {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let Some(project) = r.project.clone() else {
        let body = format!(
            "<p>{}</p>",
            lang.pick(
                "この事業はまだ定義されていません（project_defined）。",
                "This project is not defined yet (project_defined)."
            )
        );
        return page(&p, Some(&caller), Some(&p), lang, &body).into_response();
    };
    let as_of = q
        .as_of
        .as_deref()
        .and_then(Date::parse_iso)
        .unwrap_or_else(|| {
            let last_fy_end = crate::rules::time::fiscal_year_end(
                crate::rules::time::fiscal_year(project.contract_start)
                    + u16::from(project.years.0)
                    - 1,
            )
            .unwrap_or(project.contract_start);
            today().clamp(project.contract_start, last_fy_end)
        });
    let f = crate::projection::figures(
        &r,
        crate::projection::Query {
            as_of,
            scope: Scope::FiscalYear,
        },
    );
    let warnings = crate::projection::warnings::warnings(&r, &f);
    let year = (1..=2u8).find(|y| {
        crate::evaluate::cutoff(project.contract_start, *y).is_some_and(|c| {
            c >= as_of
                && crate::rules::time::fiscal_year(c) == crate::rules::time::fiscal_year(as_of)
        })
    });
    let cutoff = year.and_then(|y| crate::evaluate::cutoff(project.contract_start, y));
    let pending: u64 = f
        .menus
        .iter()
        .flat_map(|m| m.outcomes.iter())
        .filter(|o| o.date.is_none())
        .map(|o| o.event.seq)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    let mut body = String::new();
    let l = if lang == Lang::En { "&lang=en" } else { "" };
    let _ = write!(
        body,
        "<form method=\"get\" class=\"filters\"><label>{} <input type=\"date\" name=\"as_of\" value=\"{as_of}\"></label>{}<button type=\"submit\">{}</button></form>",
        lang.pick("基準日", "As of"),
        if lang == Lang::En { "<input type=\"hidden\" name=\"lang\" value=\"en\">" } else { "" },
        lang.pick("表示", "Show")
    );
    let _ = write!(
        body,
        "<p class=\"summary\">{} {}{}  ·  <a href=\"/ui/p/{}/report?as_of={as_of}{l}#warnings\">{}: {}</a>  ·  {}: {}</p>",
        esc(&project.name.0),
        match lang {
            Lang::Ja => format!("{}年度", crate::rules::time::fiscal_year(as_of)),
            Lang::En => format!("FY{}", crate::rules::time::fiscal_year(as_of)),
        },
        match (cutoff, lang) {
            (Some(c), Lang::Ja) => format!("・次の中間評価の基準日 {c}（{}年度目）", year.unwrap_or(1)),
            (Some(c), Lang::En) => format!(" · next cutoff {c} (year {})", year.unwrap_or(1)),
            (None, _) => String::new(),
        },
        enc(&p),
        lang.pick("入力の警告", "data-entry warnings"),
        warnings.len(),
        lang.pick("就職日未定のアウトカム", "outcomes pending a start date"),
        pending
    );
    let header = match lang {
        Lang::Ja => [
            "メニュー",
            "アウトプット",
            "目標",
            "達成の区分（70%・50%）",
            "アウトカム",
            "目標",
            "区分（B・C）",
        ],
        Lang::En => [
            "Menu",
            "Output",
            "Target",
            "Band (70% / 50%)",
            "Outcome",
            "Target",
            "Band (B/C)",
        ],
    };
    body.push_str("<table class=\"figures\"><caption>");
    body.push_str(lang.pick(
        "メニュー別の実績（数字を押すと根拠のイベントを表示）",
        "Per menu (select a number to see the events behind it)",
    ));
    body.push_str("</caption><thead><tr>");
    for h in header {
        let _ = write!(body, "<th scope=\"col\">{}</th>", esc(h));
    }
    body.push_str("</tr></thead><tbody>");
    let outcome_pct = if year == Some(2) { 50 } else { 30 };
    for m in &f.menus {
        let link = format!(
            "/ui/p/{}/explain?menu={}&as_of={as_of}{l}",
            enc(&p),
            enc(&m.menu)
        );
        let outcome_band = if m.category == Category::A {
            "<span class=\"light none\">-</span>".to_string()
        } else {
            light(m.outcome, m.outcome_target, &[(outcome_pct, "green")], lang)
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{} <span class=\"muted\">{}</span></th><td class=\"num\"><a href=\"{link}\" data-figure=\"output\" data-menu=\"{}\">{}</a>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\"><a href=\"{link}#outcomes\" data-figure=\"outcome\" data-menu=\"{}\">{}</a>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&m.menu),
            esc(&m.name),
            esc(&m.menu),
            m.output,
            bar(m.output, m.output_target),
            m.output_target.map_or("-".into(), |t| t.to_string()),
            light(m.output, m.output_target, &[(70, "green"), (50, "yellow")], lang),
            esc(&m.menu),
            m.outcome,
            bar(m.outcome, m.outcome_target),
            m.outcome_target.map_or("-".into(), |t| t.to_string()),
            outcome_band
        );
    }
    let _ = write!(
        body,
        "</tbody><tfoot><tr><th scope=\"row\">{}</th><td class=\"num\"><a href=\"{all}\" data-figure=\"total-output\">{}</a></td><td></td><td></td><td class=\"num\"><a href=\"{all}#outcomes\" data-figure=\"total-outcome\">{}</a></td><td></td><td></td></tr></tfoot></table>",
        lang.pick("事業全体", "Project"),
        f.total_output,
        f.total_outcome,
        all = format!("/ui/p/{}/explain?as_of={as_of}{l}", enc(&p))
    );
    let series = crate::report::chart::series(&r, as_of);
    let svg = crate::report::chart::svg(&series, cutoff, lang);
    let _ = write!(
        body,
        "<section class=\"chart\" aria-label=\"{}\">{svg}</section>",
        lang.pick("累計の推移", "cumulative figures")
    );
    page(
        &format!("{} — {}", p, lang.pick("ダッシュボード", "Dashboard")),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

#[derive(Deserialize, Default)]
struct ExplainQuery {
    menu: Option<String>,
    person: Option<String>,
    as_of: Option<String>,
    known_at: Option<String>,
    lang: Option<Lang>,
}

fn verdict_html(v: crate::rules::Verdict, lang: Lang) -> String {
    let (class, word) = match v {
        crate::rules::Verdict::Counted(_) => ("counted", lang.pick("計上", "counted")),
        crate::rules::Verdict::Excluded(_) => ("excluded", lang.pick("除外", "excluded")),
    };
    format!(
        "<span class=\"{class}\">{word}</span> <span class=\"rule\">{}</span>",
        v.rule().as_str()
    )
}

async fn explain(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<ExplainQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let Figured {
        caller,
        r,
        f,
        as_of,
        known_at,
    } = match figured(
        &app,
        caller,
        &p,
        q.as_of.as_deref(),
        q.known_at.as_deref(),
        lang,
    )
    .await
    {
        Ok(x) => x,
        Err(page) => return *page,
    };
    let report = crate::report::Report::new(&r, &f, as_of, known_at);
    let x = crate::report::explanation(report, &f, q.menu.as_deref(), q.person.as_deref());
    let mut body = format!(
        "<p class=\"summary\">{} {as_of}{}</p>",
        lang.pick("基準日", "As of"),
        q.known_at
            .as_deref()
            .map(|k| format!(" · {} {}", lang.pick("記録時点", "known at"), esc(k)))
            .unwrap_or_default()
    );
    let l = if lang == Lang::En { "&lang=en" } else { "" };
    // Ids unique on the page: the first table of each kind keeps the plain
    // name the dashboard links to (#outcomes).
    let mut outcomes_shown = false;
    for (section, m) in x.menus.iter().enumerate() {
        let _ = write!(
            body,
            "<section><h2>{} {} — {} {} / {} {}</h2>",
            esc(&m.menu),
            esc(&m.name),
            lang.pick("アウトプット", "output"),
            m.output,
            lang.pick("アウトカム", "outcome"),
            m.outcome
        );
        let _ = write!(
            body,
            "<table class=\"explain subjects\" id=\"{}\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">seq</th></tr></thead><tbody>",
            if section == 0 { "subjects".to_string() } else { format!("subjects-{section}") },
            lang.pick("参加者・事業所", "Subjects"),
            lang.pick("対象", "Subject"),
            lang.pick("判定", "Verdict"),
            lang.pick("理由", "Reason"),
            lang.pick("延べ", "Counted")
        );
        for s in &m.subjects {
            let seqs: Vec<String> = s
                .attendances
                .iter()
                .map(|a| {
                    format!(
                        "<a href=\"/ui/p/{}/log?after_seq={}&limit=1{l}\">{}</a>",
                        enc(&p),
                        a.seq - 1,
                        a.seq
                    )
                })
                .collect();
            let _ = write!(
                body,
                "<tr><td><a href=\"/ui/p/{}/explain?person={}&as_of={as_of}{l}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                enc(&p),
                enc(s.subject.id()),
                esc(s.subject.id()),
                verdict_html(s.verdict, lang),
                esc(s.verdict.rule().describe(lang)),
                s.counted_attendances,
                seqs.join(" ")
            );
        }
        body.push_str("</tbody></table>");
        if !m.outcomes.is_empty() {
            let _ = write!(
                body,
                "<table class=\"explain outcomes\" id=\"{}\"><caption>{}</caption><thead><tr><th scope=\"col\">seq</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                if outcomes_shown { format!("outcomes-{section}") } else { "outcomes".to_string() },
                lang.pick("アウトカム", "Outcomes"),
                lang.pick("種類", "Kind"),
                lang.pick("人", "Person"),
                lang.pick("日付", "Date"),
                lang.pick("判定", "Verdict"),
                lang.pick("理由", "Reason")
            );
            for o in &m.outcomes {
                let _ = write!(
                    body,
                    "<tr><td><a href=\"/ui/p/{}/log?after_seq={}&limit=1{l}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    enc(&p),
                    o.event.seq - 1,
                    o.event.seq,
                    esc(o.kind),
                    esc(&o.person),
                    o.date.map_or_else(|| lang.pick("未定", "unknown").to_string(), |d| d.to_string()),
                    verdict_html(o.verdict, lang),
                    esc(o.verdict.rule().describe(lang))
                );
            }
            body.push_str("</tbody></table>");
            outcomes_shown = true;
        }
        body.push_str("</section>");
    }
    if x.menus.is_empty() {
        body.push_str(&format!(
            "<p>{}</p>",
            lang.pick("該当するものはありません。", "Nothing to show.")
        ));
    }
    page(
        &format!("{} — {}", p, lang.pick("数字の根拠", "Why this figure")),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

/// T-2 as typed into a page: empty is "as the ledger stands"; anything
/// else must be an RFC 3339 time, or the page says so (a report of today
/// must never pass for one of the past).
fn known_at_of(text: Option<&str>, lang: Lang) -> Result<Option<i64>, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => crate::journal::chain::parse_timestamp(t).map(Some).ok_or_else(|| match lang {
            Lang::Ja => format!("記録時点 {t}: RFC 3339 の時刻で入力してください（例 2025-03-05T09:00:00+09:00）"),
            Lang::En => format!("known at {t}: give an RFC 3339 time (e.g. 2025-03-05T09:00:00+09:00)"),
        }),
    }
}

/// The facts of project `p` as known at `known_at`, or the error page.
async fn facts(
    app: &App,
    caller: &Caller,
    p: &str,
    known_at: Option<i64>,
    lang: Lang,
) -> Result<crate::projection::Resolved, Box<Response>> {
    resolved(app, p, known_at)
        .await
        .map_err(|e| Box::new(error_page(caller, p, lang, e)))
}

/// What the explain and report pages read: who asks, the facts as known at
/// a time, and the fiscal-year figures as of a date (the latest event's
/// when none).
struct Figured {
    caller: Caller,
    r: crate::projection::Resolved,
    f: crate::projection::Figures,
    as_of: Date,
    known_at: Option<i64>,
}

/// [`Figured`] for a caller allowed to read project `p`, or the page that
/// refuses the request.
async fn figured(
    app: &App,
    caller: Option<Extension<Caller>>,
    p: &str,
    as_of: Option<&str>,
    known_at: Option<&str>,
    lang: Lang,
) -> Result<Figured, Box<Response>> {
    let caller = allowed(caller, p, lang, Need::Read)?;
    let known_at =
        known_at_of(known_at, lang).map_err(|m| Box::new(page_error(&caller, p, lang, &m)))?;
    let r = facts(app, &caller, p, known_at, lang).await?;
    let as_of = as_of
        .and_then(Date::parse_iso)
        .unwrap_or_else(|| r.latest_date());
    let f = crate::projection::figures(
        &r,
        crate::projection::Query {
            as_of,
            scope: Scope::FiscalYear,
        },
    );
    Ok(Figured {
        caller,
        r,
        f,
        as_of,
        known_at,
    })
}

/// A page that only says what was wrong with the request: 400.
fn page_error(caller: &Caller, p: &str, lang: Lang, message: &str) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\" id=\"request-error\">{}</p>",
        esc(message)
    );
    (
        StatusCode::BAD_REQUEST,
        page(
            lang.pick("入力の誤り", "Bad request"),
            Some(caller),
            Some(p),
            lang,
            &body,
        ),
    )
        .into_response()
}

/// A nonce for a form: a random id from which the events' ids are made.
fn nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The id of row `i` of the form with `nonce`: the same form sent again
/// gives the same ids, so the ledger appends nothing twice.
fn row_id(nonce: &str, i: usize) -> uuid::Uuid {
    let h = Sha256::digest(format!("jisseki-form/{nonce}/{i}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

fn menu_options(r: &crate::projection::Resolved, selected: &str) -> String {
    let mut out = String::new();
    for m in r.menus.values() {
        let _ = write!(
            out,
            "<option value=\"{}\"{}>{} {}</option>",
            esc(&m.menu),
            if m.menu == selected { " selected" } else { "" },
            esc(&m.menu),
            esc(&m.def.name.0)
        );
    }
    out
}

/// The roster's columns: CSV field names of an attendance (CONTRACT §2).
const ROSTER_FIELDS: &[&str] = &[
    "person",
    "establishment",
    "establishment_location",
    "role",
    "residence",
    "intent_confirmed",
    "wants_in_region",
    "freelance",
    "student_school",
    "student_graduating_year",
];

fn select(name: &str, id: &str, options: &[(&str, &str)], selected: &str, label: &str) -> String {
    let mut out = format!(
        "<select name=\"{name}\" id=\"{id}\" aria-label=\"{}\">",
        esc(label)
    );
    for (v, text) in options {
        let _ = write!(
            out,
            "<option value=\"{v}\"{}>{}</option>",
            if *v == selected { " selected" } else { "" },
            esc(text)
        );
    }
    out.push_str("</select>");
    out
}

fn roles(lang: Lang) -> Vec<(&'static str, &'static str)> {
    vec![
        ("job_seeker", lang.pick("求職者", "job seeker")),
        (
            "conversion_hopeful",
            lang.pick("正社員転換希望者", "conversion hopeful"),
        ),
        (
            "startup_hopeful",
            lang.pick("創業希望者", "start-up hopeful"),
        ),
        (
            "employed_skillup",
            lang.pick("在職者（スキルアップ）", "employed (skill-up)"),
        ),
        ("establishment", lang.pick("事業所", "establishment")),
        ("government", lang.pick("行政", "government")),
        ("promoter", lang.pick("推進者", "promoter")),
    ]
}

fn places(lang: Lang) -> Vec<(&'static str, &'static str)> {
    vec![
        ("in_region", lang.pick("地域内", "in region")),
        ("out_region", lang.pick("地域外", "outside")),
        ("unknown", lang.pick("不明", "unknown")),
    ]
}

fn schools(lang: Lang) -> Vec<(&'static str, &'static str)> {
    vec![
        ("", lang.pick("学生でない", "not a student")),
        (
            "university",
            lang.pick("大学・短大・高専・専修", "university etc."),
        ),
        ("high_school", lang.pick("中学・高校", "middle/high school")),
    ]
}

/// One roster row as sent.
type RowValues = BTreeMap<&'static str, String>;

/// The roster form, with rows (as sent back with errors, or blank).
#[allow(clippy::too_many_arguments)] // one form, spelled out
fn roster_page(
    caller: &Caller,
    p: &str,
    r: &crate::projection::Resolved,
    lang: Lang,
    menu: &str,
    date: &str,
    rows: &[RowValues],
    errors: &BTreeMap<usize, Vec<String>>,
    nonce: &str,
    top: &str,
) -> Html<String> {
    let mut body = String::from(top);
    let _ = write!(
        body,
        "<form method=\"post\" id=\"roster\" class=\"roster\" novalidate><input type=\"hidden\" name=\"nonce\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\"><fieldset class=\"session\"><legend>{}</legend><label for=\"menu\">{}</label><select id=\"menu\" name=\"menu\" required>{}</select><label for=\"date\">{}</label><input id=\"date\" name=\"date\" type=\"date\" required value=\"{}\"></fieldset>",
        esc(nonce),
        if lang == Lang::En { "en" } else { "ja" },
        lang.pick("講習会等（最初に一度だけ選びます）", "The session (chosen once)"),
        lang.pick("メニュー", "Menu"),
        menu_options(r, menu),
        lang.pick("実施日", "Date"),
        esc(date)
    );
    let _ = write!(
        body,
        "<p class=\"help\" id=\"roster-help\">{}</p><table class=\"rows\" aria-describedby=\"roster-help\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody id=\"rows\">",
        lang.pick(
            "1人1行。Tab で次の項目、最後の項目で Enter を押すと、上の行と同じ内容の行が追加されます。IDは協議会の参加者ID（氏名やマイナンバーは入力しないでください）。",
            "One row per participant. Tab moves on; Enter on a row's last field adds a row with the same values as the one above. IDs are the council's participant IDs (never names or My Number)."
        ),
        lang.pick("参加者ID", "Participant ID"),
        lang.pick("事業所ID（事業所の参加）", "Establishment ID (its attendance)"),
        lang.pick("事業所の所在地", "Establishment location"),
        lang.pick("区分", "Role"),
        lang.pick("居住地", "Residence"),
        lang.pick("就職等の意思確認", "Intent confirmed"),
        lang.pick("地域内就職希望", "Wants in-region"),
        lang.pick("フリーランス希望", "Freelance"),
        lang.pick("学生", "Student"),
        lang.pick("卒業年度", "Graduating FY")
    );
    let blank: RowValues = BTreeMap::new();
    let n = rows.len().max(1);
    for i in 0..n {
        let v = rows.get(i).unwrap_or(&blank);
        let get = |k: &str| v.get(k).cloned().unwrap_or_default();
        let err = errors.get(&i);
        let _ = write!(
            body,
            "<tr class=\"row{}\" data-row=\"{i}\"><td class=\"num\">{}</td><td><input name=\"person\" aria-label=\"{} {}\" value=\"{}\" autocomplete=\"off\"></td><td><input name=\"establishment\" aria-label=\"{}\" value=\"{}\" autocomplete=\"off\" size=\"9\"></td><td>{}</td><td>{}</td><td>{}</td><td><input type=\"checkbox\" name=\"intent_confirmed_{i}\" value=\"true\" aria-label=\"{}\"{}></td><td><input type=\"checkbox\" name=\"wants_in_region_{i}\" value=\"true\" aria-label=\"{}\"{}></td><td><input type=\"checkbox\" name=\"freelance_{i}\" value=\"true\" aria-label=\"{}\"{}></td><td>{}</td><td><input name=\"student_graduating_year\" inputmode=\"numeric\" size=\"5\" aria-label=\"{}\" value=\"{}\"></td></tr>",
            if err.is_some() { " invalid" } else { "" },
            i + 1,
            lang.pick("参加者ID", "Participant ID"),
            i + 1,
            esc(&get("person")),
            lang.pick("事業所ID", "Establishment ID"),
            esc(&get("establishment")),
            select("establishment_location", &format!("location-{i}"), &places(lang), &v.get("establishment_location").cloned().filter(|l| !l.is_empty()).unwrap_or_else(|| "in_region".into()), lang.pick("事業所の所在地", "Establishment location")),
            select("role", &format!("role-{i}"), &roles(lang), &v.get("role").cloned().unwrap_or_else(|| "job_seeker".into()), lang.pick("区分", "Role")),
            select("residence", &format!("residence-{i}"), &places(lang), &v.get("residence").cloned().unwrap_or_else(|| "in_region".into()), lang.pick("居住地", "Residence")),
            lang.pick("就職等の意思確認", "Intent confirmed"),
            if get("intent_confirmed") == "true" { " checked" } else { "" },
            lang.pick("地域内就職希望", "Wants in-region"),
            if get("wants_in_region") == "true" { " checked" } else { "" },
            lang.pick("フリーランス希望（創業希望者）", "Freelance (start-up hopeful)"),
            if get("freelance") == "true" { " checked" } else { "" },
            select("student_school", &format!("school-{i}"), &schools(lang), &get("student_school"), lang.pick("学生", "Student")),
            lang.pick("卒業年度", "Graduating FY"),
            esc(&get("student_graduating_year"))
        );
        if let Some(msgs) = err {
            let _ = write!(
                body,
                "<tr class=\"row-error\"><td></td><td colspan=\"10\" role=\"alert\">{}</td></tr>",
                msgs.iter().map(|m| esc(m)).collect::<Vec<_>>().join("<br>")
            );
        }
    }
    let _ = write!(
        body,
        "</tbody></table><div class=\"actions\"><button type=\"button\" id=\"add-row\">{}</button><button type=\"submit\" id=\"save\">{}</button></div></form>",
        lang.pick("行を追加", "Add a row"),
        lang.pick("まとめて保存", "Save all")
    );
    page(
        &format!("{} — {}", p, lang.pick("出席簿の入力", "Roster")),
        Some(caller),
        Some(p),
        lang,
        &body,
    )
}

async fn roster_form(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Write) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = match facts(&app, &caller, &p, None, lang).await {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let rows = vec![BTreeMap::new(); 1];
    roster_page(
        &caller,
        &p,
        &r,
        lang,
        "",
        &today().to_string(),
        &rows,
        &BTreeMap::new(),
        &nonce(),
        "",
    )
    .into_response()
}

/// The form's fields in order, as sent (repeated names keep their order).
fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The rows of a roster form: `person`, `role`, ... repeat once per row;
/// checkboxes are named per row.
fn roster_rows(fields: &[(String, String)]) -> Vec<RowValues> {
    let mut rows: Vec<RowValues> = Vec::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, v) in fields {
        if let Some(&name) = [
            "person",
            "establishment",
            "establishment_location",
            "role",
            "residence",
            "student_school",
            "student_graduating_year",
        ]
        .iter()
        .find(|n| **n == k.as_str())
        {
            let i = at.entry(name).or_insert(0);
            while rows.len() <= *i {
                rows.push(BTreeMap::new());
            }
            rows[*i].insert(name, v.trim().to_string());
            *i += 1;
        }
    }
    for (k, v) in fields {
        for name in ["intent_confirmed", "wants_in_region", "freelance"] {
            if let Some(i) = k
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('_'))
                .and_then(|i| i.parse::<usize>().ok())
            {
                if let Some(row) = rows.get_mut(i) {
                    row.insert(name, v.clone());
                }
            }
        }
    }
    // Rows left blank are not participants.
    let filled = |r: &RowValues, k: &str| r.get(k).is_some_and(|v| !v.is_empty());
    rows.retain(|r| filled(r, "person") || filled(r, "establishment"));
    rows
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// What each row of a saved roster counts as in its menu, as of its date.
fn row_verdicts(
    r: &crate::projection::Resolved,
    menu: &str,
    date: Date,
    people: &[String],
    lang: Lang,
) -> Vec<String> {
    let f = crate::projection::figures(
        r,
        crate::projection::Query {
            as_of: date,
            scope: Scope::FiscalYear,
        },
    );
    let Some(m) = f.menus.iter().find(|m| m.menu == menu) else {
        return vec![String::new(); people.len()];
    };
    people
        .iter()
        .map(|id| {
            m.subjects
                .iter()
                .find(|s| s.subject.id() == id)
                .map(|s| {
                    format!(
                        "{} — {}",
                        verdict_html(s.verdict, lang),
                        esc(s.verdict.rule().describe(lang))
                    )
                })
                .unwrap_or_else(|| {
                    lang.pick("（事業所として計上判定）", "(judged as its establishment)")
                        .to_string()
                })
        })
        .collect()
}

async fn roster_save(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = pairs(&body);
    let field = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let lang = if field("lang") == "en" {
        Lang::En
    } else {
        Lang::Ja
    };
    let caller = match allowed(caller, &p, lang, Need::Post(&headers)) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let (menu, date, nonce) = (field("menu"), field("date"), field("nonce"));
    let rows = roster_rows(&fields);
    let r = match facts(&app, &caller, &p, None, lang).await {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let mut errors: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    if rows.is_empty() {
        errors.insert(
            0,
            vec![lang
                .pick(
                    "参加者IDを1行以上入力してください。",
                    "Enter at least one participant ID.",
                )
                .into()],
        );
    }
    // The rows as CSV (CONTRACT §2), so that they are checked exactly as an
    // import is: an error on line n + 2 is row n.
    let mut csv = String::from("type,id,menu,date");
    for f in ROSTER_FIELDS {
        csv.push(',');
        csv.push_str(f);
    }
    csv.push('\n');
    for (i, row) in rows.iter().enumerate() {
        let _ = write!(
            csv,
            "attendance,{},{},{}",
            row_id(&nonce, i),
            csv_cell(&menu),
            csv_cell(&date)
        );
        for f in ROSTER_FIELDS {
            let v = match *f {
                "intent_confirmed" | "wants_in_region" => {
                    if row.get(f).is_some_and(|v| v == "true") {
                        "true".to_string()
                    } else {
                        "false".to_string()
                    }
                }
                // XO-4: said only when ticked.
                "freelance" => {
                    if row.get(f).is_some_and(|v| v == "true") {
                        "true".to_string()
                    } else {
                        String::new()
                    }
                }
                "student_graduating_year"
                    if row.get("student_school").is_none_or(|s| s.is_empty()) =>
                {
                    String::new()
                }
                "establishment_location"
                    if row.get("establishment").is_none_or(|s| s.is_empty()) =>
                {
                    String::new()
                }
                _ => row.get(f).cloned().unwrap_or_default(),
            };
            csv.push(',');
            csv.push_str(&csv_cell(&v));
        }
        csv.push('\n');
    }
    let name = "roster";
    let mut top = String::new();
    if errors.is_empty() {
        match read_events(csv.as_bytes(), name, InputFormat::Csv, Mode::Append) {
            Ok(events) => {
                let queue = match app.queue(&p) {
                    Ok(q) => q,
                    Err(e) => return error_page(&caller, &p, lang, e),
                };
                match submit(queue, events, name, None).await {
                    Ok(report) => {
                        let r = match resolved(&app, &p, None).await {
                            Ok(r) => r,
                            Err(e) => return error_page(&caller, &p, lang, e),
                        };
                        let get = |r: &RowValues, k: &str| r.get(k).cloned().unwrap_or_default();
                        // Who each row is, and the subject its menu counts:
                        // the establishment for an establishment's
                        // attendance (XO-1), else the person.
                        let shown: Vec<String> = rows
                            .iter()
                            .map(|r| match (get(r, "person"), get(r, "establishment")) {
                                (p, e) if e.is_empty() => p,
                                (p, e) if p.is_empty() => e,
                                (p, e) => format!("{p}（{e}）"),
                            })
                            .collect();
                        let subjects: Vec<String> = rows
                            .iter()
                            .map(|r| {
                                let e = get(r, "establishment");
                                if get(r, "role") == "establishment" && !e.is_empty()
                                    || get(r, "person").is_empty()
                                {
                                    e
                                } else {
                                    get(r, "person")
                                }
                            })
                            .collect();
                        let d = Date::parse_iso(&date).unwrap_or_else(today);
                        let verdicts = row_verdicts(&r, &menu, d, &subjects, lang);
                        return saved_page(&caller, &p, lang, &report, &shown, &verdicts, &menu, d)
                            .into_response();
                    }
                    Err(e) => {
                        collect_errors(&e.body, &mut errors, lang);
                        if errors.is_empty() {
                            return error_page(&caller, &p, lang, e);
                        }
                    }
                }
            }
            Err(errs) => {
                let body = super::ApiError::from(LedgerError::Input(errs)).body;
                collect_errors(&body, &mut errors, lang);
            }
        }
    }
    let _ = write!(
        top,
        "<p class=\"error\" role=\"alert\" id=\"roster-errors\">{}</p>",
        match lang {
            Lang::Ja => format!("{}行に誤りがあります。直してからもう一度保存してください（まだ何も保存していません）。", errors.len()),
            Lang::En => format!("{} row(s) have errors. Fix them and save again (nothing has been saved).", errors.len()),
        }
    );
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        roster_page(
            &caller, &p, &r, lang, &menu, &date, &rows, &errors, &nonce, &top,
        ),
    )
        .into_response()
}

/// The API's error body, by row (line n + 2 is row n; errors about the
/// whole batch go to row 0).
fn collect_errors(body: &serde_json::Value, errors: &mut BTreeMap<usize, Vec<String>>, lang: Lang) {
    let Some(list) = body["errors"].as_array() else {
        return;
    };
    for e in list {
        let line = e["line"].as_u64().unwrap_or(2);
        let row = usize::try_from(line.saturating_sub(2)).unwrap_or(0);
        let field = e["field"].as_str().unwrap_or("");
        let message = e["message"].as_str().unwrap_or("");
        // The API renders in English; the reason after the location reads
        // on its own.
        let reason = message.split_once(": ").map_or(message, |(_, m)| m);
        let label = match (field, lang) {
            ("person", Lang::Ja) => "参加者ID",
            ("role", Lang::Ja) => "区分",
            ("residence", Lang::Ja) => "居住地",
            ("menu", Lang::Ja) => "メニュー",
            ("date", Lang::Ja) => "実施日",
            ("student_graduating_year", Lang::Ja) => "卒業年度",
            ("student_school", Lang::Ja) => "学生",
            (f, _) => f,
        };
        errors
            .entry(row)
            .or_default()
            .push(format!("{label}: {reason}"));
    }
}

#[allow(clippy::too_many_arguments)] // one page, spelled out
fn saved_page(
    caller: &Caller,
    p: &str,
    lang: Lang,
    report: &AppendReport,
    people: &[String],
    verdicts: &[String],
    menu: &str,
    date: Date,
) -> Html<String> {
    let l = if lang == Lang::En { "&lang=en" } else { "" };
    let mut body = format!(
        "<p class=\"ok\" role=\"status\" id=\"saved\">{}</p><table class=\"explain\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        match lang {
            Lang::Ja => format!("保存しました: {} 件（既に保存済み {} 件）。{}・{date} の計上判定:", report.appended.len(), report.already.len(), esc(menu)),
            Lang::En => format!("Saved: {} event(s) ({} already saved). How each counts in {} on {date}:", report.appended.len(), report.already.len(), esc(menu)),
        },
        lang.pick("参加者ID", "Participant ID"),
        lang.pick("判定", "Verdict")
    );
    for (i, (who, v)) in people.iter().zip(verdicts).enumerate() {
        let _ = write!(
            body,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{v}</td></tr>",
            i + 1,
            esc(who)
        );
    }
    let _ = write!(
        body,
        "</tbody></table><p><a href=\"/ui/p/{}/roster{}\">{}</a> · <a href=\"/ui/p/{}/explain?menu={}&as_of={date}{l}\">{}</a></p>",
        enc(p),
        if lang == Lang::En { "?lang=en" } else { "" },
        lang.pick("次の出席簿を入力", "Enter another roster"),
        enc(p),
        enc(menu),
        lang.pick("このメニューの根拠を見る", "See this menu's figures")
    );
    page(
        &format!("{} — {}", p, lang.pick("保存しました", "Saved")),
        Some(caller),
        Some(p),
        lang,
        &body,
    )
}

#[derive(Deserialize, Default)]
struct OutcomeQuery {
    kind: Option<String>,
    lang: Option<Lang>,
}

/// An outcome form's fields: (CSV field, label ja, label en, input type,
/// required, help ja, help en).
type FieldSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static str,
    &'static str,
);

fn outcome_fields(kind: &str) -> &'static [FieldSpec] {
    match kind {
        "conversion" => &[
            ("person", "参加者ID", "Participant ID", "text", true, "転換された人の参加者ID", "the person converted"),
            ("employer", "事業所ID", "Employer ID", "text", true, "転換した事業所", "the establishment that converted them"),
            ("date", "転換日", "Conversion date", "date", true, "正社員になった日", "the day they became regular staff"),
            ("weekly_hours", "週の所定労働時間", "Weekly hours", "number", true, "20時間未満は計上しません（XC-6）", "under 20 h does not count (XC-6)"),
            ("vacancy_fill", "欠員補充", "Fills a vacancy", "checkbox", false, "欠員補充の転換は事業と関係ないものとして計上しません（XC-1）", "a conversion filling a vacancy does not count (XC-1)"),
            ("menus", "計上するメニュー（任意）", "Menus to credit (optional)", "text", false, "空欄なら計上できるすべてのメニューに帰属。指定するとそのメニューだけ（; 区切り、C-ATTR）", "empty: every qualifying menu; given: only these (separated by ;, C-ATTR)"),
        ],
        "startup" => &[
            ("person", "参加者ID", "Participant ID", "text", true, "創業した人の参加者ID", "the founder"),
            ("date", "創業日", "Founding date", "date", true, "", ""),
            ("location", "所在地", "Location", "place", true, "地域内の創業のみ従業員も計上（C-A3, C-A4）", "employees count only for an in-region start-up (C-A3, C-A4)"),
            ("employees", "従業員数", "Employees", "number", true, "0人（フリーランス）は計上しません（XC-5）", "no employee (freelance) does not count (XC-5)"),
            ("menus", "計上するメニュー（任意）", "Menus to credit (optional)", "text", false, "空欄なら計上できるすべてのメニューに帰属。指定するとそのメニューだけ（; 区切り、C-ATTR）", "empty: every qualifying menu; given: only these (separated by ;, C-ATTR)"),
        ],
        _ => &[
            ("person", "参加者ID", "Participant ID", "text", true, "就職した人の参加者ID", "the person hired"),
            ("employer", "事業所ID", "Employer ID", "text", false, "A の事業所の雇用として計上する場合は必須", "needed for the hire to count for an A establishment"),
            ("offer_date", "内定日", "Offer date", "date", false, "メニューの初回計上参加より後の内定のみ計上（XC-7）。事業利用前の内定は除外（XC-3）", "only offers after the first counted attendance of the menu count (XC-7); offers before using the programme are excluded (XC-3)"),
            ("start_date", "就職日", "Start date", "date", false, "未定なら空欄（確定するまで計上されません、XC-4）", "leave empty if not known yet (it does not count until known, XC-4)"),
            ("workplace", "就職先の所在地", "Workplace", "place", true, "地域外の就職はC-BC2では計上しません", "a job outside the region does not count under C-BC2"),
            ("weekly_hours", "週の所定労働時間", "Weekly hours", "number", true, "20時間未満は計上しません（XC-6）", "under 20 h does not count (XC-6)"),
            ("regular_recruitment", "定期採用", "Regular recruitment", "checkbox", false, "定期採用は計上しません（XC-1）", "regular recruitment does not count (XC-1)"),
            ("employed_before_use", "事業利用前から雇用", "Employed before using the programme", "checkbox", false, "計上しません（XC-2）", "does not count (XC-2)"),
            ("interviewed_on", "面接日（事業利用前の面接）", "Interviewed on (before using the programme)", "date", false, "事業利用前に面接を受けていた場合は計上しません（XC-3）", "an interview before using the programme excludes it (XC-3)"),
            ("new_site_in_region", "地域内の新拠点での雇用", "At a new site in the region", "checkbox", false, "事業所の地域内新拠点での雇用（C-A2）", "a hire at the establishment's new site in the region (C-A2)"),
            ("menus", "計上するメニュー（任意）", "Menus to credit (optional)", "text", false, "空欄なら計上できるすべてのメニューに帰属。指定するとそのメニューだけ（; 区切り、C-ATTR）", "empty: every qualifying menu; given: only these (separated by ;, C-ATTR)"),
        ],
    }
}

fn outcome_page(
    caller: &Caller,
    p: &str,
    lang: Lang,
    kind: &str,
    values: &BTreeMap<String, String>,
    nonce: &str,
    top: &str,
) -> Html<String> {
    let l = if lang == Lang::En { "&lang=en" } else { "" };
    let mut body = String::from(top);
    body.push_str("<nav class=\"tabs\" aria-label=\"kind\">");
    for (k, ja, en) in [
        ("hire", "就職", "Hire"),
        ("conversion", "正社員転換", "Conversion"),
        ("startup", "創業", "Start-up"),
    ] {
        let _ = write!(
            body,
            "<a href=\"/ui/p/{}/outcome?kind={k}{l}\"{}>{}</a>",
            enc(p),
            if k == kind {
                " aria-current=\"page\""
            } else {
                ""
            },
            lang.pick(ja, en)
        );
    }
    body.push_str("</nav>");
    let _ = write!(
        body,
        "<form method=\"post\" class=\"card\" id=\"outcome\"><input type=\"hidden\" name=\"kind\" value=\"{kind}\"><input type=\"hidden\" name=\"nonce\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\">",
        esc(nonce),
        if lang == Lang::En { "en" } else { "ja" }
    );
    for (name, ja, en, ty, required, help_ja, help_en) in outcome_fields(kind) {
        let v = values.get(*name).cloned().unwrap_or_default();
        let help = lang.pick(help_ja, help_en);
        let described = if help.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"help-{name}\"")
        };
        let req = if *required { " required" } else { "" };
        let label = format!(
            "<label for=\"f-{name}\">{}{}</label>",
            esc(lang.pick(ja, en)),
            if *required {
                " <span class=\"req\" aria-hidden=\"true\">*</span>"
            } else {
                ""
            }
        );
        let input = match *ty {
            "checkbox" => format!("<input type=\"checkbox\" id=\"f-{name}\" name=\"{name}\" value=\"true\"{}{described}>", if v == "true" { " checked" } else { "" }),
            "place" => {
                let sel = if v.is_empty() { "in_region".to_string() } else { v.clone() };
                select(name, &format!("f-{name}"), &places(lang), &sel, lang.pick(ja, en))
            }
            "number" => format!("<input type=\"number\" min=\"0\" step=\"any\" id=\"f-{name}\" name=\"{name}\" value=\"{}\"{req}{described}>", esc(&v)),
            t => format!("<input type=\"{t}\" id=\"f-{name}\" name=\"{name}\" value=\"{}\"{req}{described} autocomplete=\"off\">", esc(&v)),
        };
        let help = if help.is_empty() {
            String::new()
        } else {
            format!("<p class=\"help\" id=\"help-{name}\">{}</p>", esc(help))
        };
        let _ = write!(body, "<div class=\"field\">{label}{input}{help}</div>");
    }
    let _ = write!(
        body,
        "<button type=\"submit\">{}</button></form>",
        lang.pick("保存", "Save")
    );
    page(
        &format!("{} — {}", p, lang.pick("アウトカムの入力", "Outcomes")),
        Some(caller),
        Some(p),
        lang,
        &body,
    )
}

async fn outcome_form(
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<OutcomeQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Write) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let kind = match q.kind.as_deref() {
        Some("conversion") => "conversion",
        Some("startup") => "startup",
        _ => "hire",
    };
    outcome_page(&caller, &p, lang, kind, &BTreeMap::new(), &nonce(), "").into_response()
}

async fn outcome_save(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields: BTreeMap<String, String> = pairs(&body).into_iter().collect();
    let lang = if fields.get("lang").is_some_and(|l| l == "en") {
        Lang::En
    } else {
        Lang::Ja
    };
    let caller = match allowed(caller, &p, lang, Need::Post(&headers)) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let kind = match fields.get("kind").map(String::as_str) {
        Some("conversion") => "conversion",
        Some("startup") => "startup",
        _ => "hire",
    };
    let nonce = fields.get("nonce").cloned().unwrap_or_default();
    let spec = outcome_fields(kind);
    let mut header = String::from("type,id");
    let mut line = format!("{kind},{}", row_id(&nonce, 0));
    for (name, _, _, ty, _, _, _) in spec {
        header.push(',');
        header.push_str(name);
        let v = fields.get(*name).cloned().unwrap_or_default();
        let v = match (*ty, *name) {
            ("checkbox", _) => {
                if v == "true" {
                    "true".into()
                } else {
                    "false".into()
                }
            }
            // An empty start date is "not known yet" (XC-4): null.
            (_, "start_date") if v.trim().is_empty() => "null".into(),
            _ => v,
        };
        line.push(',');
        line.push_str(&csv_cell(v.trim()));
    }
    let csv = format!("{header}\n{line}\n");
    let result = match read_events(csv.as_bytes(), kind, InputFormat::Csv, Mode::Append) {
        Ok(events) => match app.queue(&p) {
            Ok(queue) => submit(queue, events, kind, None).await,
            Err(e) => Err(e),
        },
        Err(errs) => Err(ApiError::from(LedgerError::Input(errs))),
    };
    match result {
        Ok(report) => {
            // Warnings, not refusals (U-2): an outcome before the person's
            // first attendance, one without a start date, one for a person
            // who never attended.
            let person = fields.get("person").cloned().unwrap_or_default();
            let mut notes = Vec::new();
            if kind == "hire" && fields.get("start_date").is_none_or(|s| s.trim().is_empty()) {
                notes.push(lang.pick("就職日が未定です。確定したら訂正（correction）で就職日を記録してください。それまで計上されません（XC-4）。", "No start date: record it with a correction once known; until then it does not count (XC-4).").to_string());
            }
            if let Ok(r) = resolved(&app, &p, None).await {
                let f = crate::projection::figures(
                    &r,
                    crate::projection::Query {
                        as_of: r.latest_date(),
                        scope: Scope::Cumulative,
                    },
                );
                let seqs: Vec<u64> = report
                    .appended
                    .iter()
                    .chain(&report.already)
                    .map(|(_, s, _)| *s)
                    .collect();
                for w in crate::projection::warnings::warnings(&r, &f) {
                    if w.event.as_ref().is_some_and(|e| seqs.contains(&e.seq))
                        || (w.about == person && w.event.is_none())
                    {
                        notes.push(format!("{}: {}", w.kind.describe(lang), w.detail));
                    }
                }
            }
            let mut top = format!(
                "<p class=\"ok\" role=\"status\" id=\"saved\">{}</p>",
                match lang {
                    Lang::Ja => format!(
                        "保存しました（seq {}）。",
                        report
                            .appended
                            .iter()
                            .chain(&report.already)
                            .map(|(_, s, _)| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Lang::En => format!(
                        "Saved (seq {}).",
                        report
                            .appended
                            .iter()
                            .chain(&report.already)
                            .map(|(_, s, _)| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            );
            for n in notes {
                let _ = write!(top, "<p class=\"warning\" role=\"status\">{}</p>", esc(&n));
            }
            outcome_page(
                &caller,
                &p,
                lang,
                kind,
                &BTreeMap::new(),
                &super::web::nonce(),
                &top,
            )
            .into_response()
        }
        Err(e) => {
            let mut errors = BTreeMap::new();
            collect_errors(&e.body, &mut errors, lang);
            let msgs: Vec<String> = errors.into_values().flatten().collect();
            let text = if msgs.is_empty() {
                e.body["message"].as_str().unwrap_or("error").to_string()
            } else {
                msgs.join(" / ")
            };
            let top = format!(
                "<p class=\"error\" role=\"alert\" id=\"outcome-errors\">{}{}</p>",
                lang.pick(
                    "保存できませんでした（何も保存していません）: ",
                    "Not saved (nothing was saved): "
                ),
                esc(&text)
            );
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                outcome_page(&caller, &p, lang, kind, &fields, &nonce, &top),
            )
                .into_response()
        }
    }
}

async fn upload_form(
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Write) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    upload_page(&caller, &p, lang, "").into_response()
}

fn upload_page(caller: &Caller, p: &str, lang: Lang, top: &str) -> Html<String> {
    let body = format!(
        "{top}<form method=\"post\" enctype=\"application/octet-stream\" class=\"card\" id=\"upload\" data-upload><label for=\"file\">{}</label><input type=\"file\" id=\"file\" name=\"file\" accept=\".csv,text/csv\" required aria-describedby=\"file-help\"><p class=\"help\" id=\"file-help\">{}</p><input type=\"hidden\" name=\"lang\" value=\"{}\"><button type=\"submit\">{}</button><p class=\"progress\" aria-live=\"polite\" hidden>{}</p></form>",
        lang.pick("Excel から保存した CSV ファイル", "A CSV file saved from Excel"),
        lang.pick("UTF-8 または Shift_JIS。1行目は項目名（type, menu, date, …）。まず内容を確認し、確定するまで何も保存しません。", "UTF-8 or Shift_JIS; the first row names the fields (type, menu, date, …). You see a preview first; nothing is saved until you confirm."),
        if lang == Lang::En { "en" } else { "ja" },
        lang.pick("内容を確認", "Preview"),
        lang.pick("読み込み中…", "Reading…")
    );
    page(
        &format!("{} — {}", p, lang.pick("CSV取込", "CSV upload")),
        Some(caller),
        Some(p),
        lang,
        &body,
    )
}

/// An upload previewed and waiting for its confirmation: kept here, not
/// sent back through the page, for at most [`PENDING_TTL`] and
/// [`PENDING_MAX_BYTES`] in all (the oldest go first).
pub(super) struct Pending {
    key: String,
    project: String,
    token: String,
    name: String,
    bytes: axum::body::Bytes,
    at: std::time::Instant,
}

/// How long a previewed upload waits for its confirmation.
pub const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
/// The most bytes of previewed uploads kept at once.
pub const PENDING_MAX_BYTES: usize = 512 << 20;

fn keep_upload(app: &App, p: Pending) {
    let Ok(mut all) = app.uploads.lock() else {
        return;
    };
    all.retain(|x| x.at.elapsed() < PENDING_TTL && x.key != p.key);
    all.push(p);
    let mut total: usize = all.iter().map(|x| x.bytes.len()).sum();
    while total > PENDING_MAX_BYTES && all.len() > 1 {
        total -= all.remove(0).bytes.len();
    }
}

/// The upload `key` previewed by this token for this project, if it is
/// still kept (a confirmation sent twice finds it again).
fn find_upload(
    app: &App,
    key: &str,
    project: &str,
    token: &str,
) -> Option<(String, axum::body::Bytes)> {
    let all = app.uploads.lock().ok()?;
    all.iter()
        .find(|x| {
            x.key == key && x.project == project && x.token == token && x.at.elapsed() < PENDING_TTL
        })
        .map(|x| (x.name.clone(), x.bytes.clone()))
}

/// Rows without an id get one made from the file's hash and the row, so
/// that confirming the same file twice appends nothing twice.
fn with_ids(events: &mut [crate::io::InputEvent], bytes: &[u8]) {
    let h = hex::encode(Sha256::digest(bytes));
    for e in events.iter_mut() {
        if e.id.is_none() {
            e.id = Some(row_id(&h, usize::try_from(e.line).unwrap_or(0)));
        }
    }
}

#[derive(Deserialize, Default)]
struct UploadQuery {
    lang: Option<Lang>,
    name: Option<String>,
}

/// The preview: the body is the file's bytes (sent by the page's script).
async fn upload_preview(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Post(&headers)) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let name = q.name.clone().unwrap_or_else(|| "upload.csv".into());
    let encoding = match crate::io::text::decode_text(&body) {
        Ok((_, e)) => format!("{e:?}"),
        Err(_) => "-".into(),
    };
    let rows = body
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1);
    let mut top = format!(
        "<dl class=\"facts\"><dt>{}</dt><dd id=\"upload-name\">{}</dd><dt>{}</dt><dd id=\"upload-encoding\">{}</dd><dt>{}</dt><dd id=\"upload-rows\">{}</dd></dl>",
        lang.pick("ファイル", "File"),
        esc(&name),
        lang.pick("文字コード", "Encoding"),
        esc(&encoding),
        lang.pick("行数（見出しを除く）", "Rows (without the header)"),
        rows
    );
    match read_events(&body, &name, InputFormat::Csv, Mode::Append) {
        Ok(events) => {
            let key = hex::encode(Sha256::digest(&body));
            keep_upload(
                &app,
                Pending {
                    key: key.clone(),
                    project: p.clone(),
                    token: caller.0.id.clone(),
                    name: name.clone(),
                    bytes: body.clone(),
                    at: std::time::Instant::now(),
                },
            );
            let _ = write!(
                top,
                "<p class=\"ok\" role=\"status\" id=\"preview-ok\">{}</p><form method=\"post\" action=\"/ui/p/{}/upload/confirm\" class=\"card\"><input type=\"hidden\" name=\"name\" value=\"{}\"><input type=\"hidden\" name=\"key\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\"><button type=\"submit\" id=\"confirm\">{}</button></form>",
                match lang {
                    Lang::Ja => format!("{} 件のイベントを読み取りました。誤りはありません。", events.len()),
                    Lang::En => format!("{} event(s) read, no errors.", events.len()),
                },
                enc(&p),
                esc(&name),
                esc(&key),
                if lang == Lang::En { "en" } else { "ja" },
                lang.pick("この内容で保存する", "Save these events")
            );
            upload_page(&caller, &p, lang, &top).into_response()
        }
        Err(errs) => {
            let _ = write!(
                top,
                "<p class=\"error\" role=\"alert\" id=\"preview-errors\">{}</p><table class=\"errors\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                match lang {
                    Lang::Ja => format!("{} 件の誤りがあります。何も保存していません。直したファイルを選び直してください。", errs.0.len()),
                    Lang::En => format!("{} error(s); nothing saved. Fix the file and choose it again.", errs.0.len()),
                },
                lang.pick("行", "Row"),
                lang.pick("項目", "Column"),
                lang.pick("内容", "Problem")
            );
            for e in &errs.0 {
                let _ = write!(
                    top,
                    "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    e.at.line.map_or("-".into(), |l| l.to_string()),
                    esc(e.at.field.as_deref().unwrap_or("-")),
                    esc(&e.render(lang))
                );
            }
            top.push_str("</tbody></table>");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                upload_page(&caller, &p, lang, &top),
            )
                .into_response()
        }
    }
}

async fn upload_confirm(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields: BTreeMap<String, String> = pairs(&body).into_iter().collect();
    let lang = if fields.get("lang").is_some_and(|l| l == "en") {
        Lang::En
    } else {
        Lang::Ja
    };
    let caller = match allowed(caller, &p, lang, Need::Post(&headers)) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let key = fields.get("key").cloned().unwrap_or_default();
    let Some((name, bytes)) = find_upload(&app, &key, &p, &caller.0.id) else {
        let top = format!(
            "<p class=\"error\" role=\"alert\" id=\"upload-expired\">{}</p>",
            lang.pick(
                "確認した内容が見つかりません（1時間を過ぎたか、サーバーが再起動しました）。何も保存していません。ファイルを選び直してください。",
                "The previewed file is gone (an hour passed, or the server restarted). Nothing was saved; choose the file again."
            )
        );
        return (StatusCode::GONE, upload_page(&caller, &p, lang, &top)).into_response();
    };
    let result = match read_events(&bytes, &name, InputFormat::Csv, Mode::Append) {
        Ok(mut events) => {
            with_ids(&mut events, &bytes);
            match app.queue(&p) {
                Ok(queue) => submit(queue, events, &name, None).await,
                Err(e) => Err(e),
            }
        }
        Err(errs) => Err(ApiError::from(LedgerError::Input(errs))),
    };
    match result {
        Ok(report) => {
            let top = format!(
                "<p class=\"ok\" role=\"status\" id=\"uploaded\">{}</p>",
                match lang {
                    Lang::Ja => format!(
                        "保存しました: {} 件（既に保存済み {} 件）。",
                        report.appended.len(),
                        report.already.len()
                    ),
                    Lang::En => format!(
                        "Saved: {} event(s) ({} already saved).",
                        report.appended.len(),
                        report.already.len()
                    ),
                }
            );
            upload_page(&caller, &p, lang, &top).into_response()
        }
        Err(e) => {
            // Refused at the ledger (an id already recorded otherwise, a
            // menu not defined...): every error, by line; nothing saved.
            let mut top = format!(
                "<p class=\"error\" role=\"alert\" id=\"upload-refused\">{}</p>",
                esc(&format!(
                    "{}{}",
                    lang.pick(
                        "保存できませんでした（何も保存していません）: ",
                        "Not saved (nothing was saved): "
                    ),
                    e.body["message"].as_str().unwrap_or("error")
                ))
            );
            if let Some(list) = e.body["errors"].as_array() {
                top.push_str("<table class=\"errors\"><tbody>");
                for x in list {
                    let _ = write!(
                        top,
                        "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                        x["line"].as_u64().map_or("-".into(), |l| l.to_string()),
                        esc(x["field"].as_str().unwrap_or("-")),
                        esc(x["message"].as_str().unwrap_or(""))
                    );
                }
                top.push_str("</tbody></table>");
            }
            (e.status, upload_page(&caller, &p, lang, &top)).into_response()
        }
    }
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    as_of: Option<String>,
    known_at: Option<String>,
    year: Option<u8>,
    lang: Option<Lang>,
}

async fn report(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let known_text = q.known_at.clone().filter(|s| !s.is_empty());
    let Figured {
        caller,
        r,
        f,
        as_of,
        known_at,
    } = match figured(
        &app,
        caller,
        &p,
        q.as_of.as_deref(),
        known_text.as_deref(),
        lang,
    )
    .await
    {
        Ok(x) => x,
        Err(page) => return *page,
    };
    let rep = crate::report::Report::new(&r, &f, as_of, known_at);
    let w = crate::projection::warnings::warnings(&r, &f);
    let year = q.year.unwrap_or(1);
    let mut body = format!(
        "<form method=\"get\" class=\"filters\"><label>{} <input type=\"date\" name=\"as_of\" value=\"{as_of}\"></label><label>{} <input name=\"known_at\" placeholder=\"2025-03-05T09:00:00+09:00\" value=\"{}\"></label><label>{} <select name=\"year\"><option value=\"1\"{}>1</option><option value=\"2\"{}>2</option></select></label>{}<button type=\"submit\">{}</button></form>",
        lang.pick("基準日", "As of"),
        lang.pick("記録時点（任意）", "Known at (optional)"),
        esc(known_text.as_deref().unwrap_or("")),
        lang.pick("中間評価の年度目", "Judgement year"),
        if year == 1 { " selected" } else { "" },
        if year == 2 { " selected" } else { "" },
        if lang == Lang::En { "<input type=\"hidden\" name=\"lang\" value=\"en\">" } else { "" },
        lang.pick("表示", "Show")
    );
    let _ = write!(
        body,
        "<section><h2>{}</h2><pre class=\"table\">{}</pre></section>",
        lang.pick("実績", "Figures"),
        pre_text(&crate::report::render_table(&rep, lang))
    );
    match crate::evaluate::evaluate(&r, year, lang) {
        Ok(e) => {
            let _ = write!(
                body,
                "<section><h2>{}</h2><pre class=\"table\">{}</pre></section>",
                lang.pick("中間評価", "Judgement"),
                pre_text(&crate::evaluate::render(&e, lang))
            );
        }
        Err(e) => {
            let _ = write!(body, "<p>{}</p>", esc(&e.to_string()));
        }
    }
    let _ = write!(
        body,
        "<section id=\"warnings\"><h2>{}</h2><pre class=\"table\">{}</pre></section>",
        lang.pick("入力の警告", "Data-entry warnings"),
        pre_text(&crate::report::render_warnings(&w, lang))
    );
    let k = known_text
        .as_deref()
        .map(|k| format!("&known_at={}", enc(k)))
        .unwrap_or_default();
    let base = format!("/v1/projects/{}", enc(&p));
    let downloads = [
        (
            format!("{base}/report?as_of={as_of}{k}&format=xlsx"),
            lang.pick("実績（Excel）", "Figures (xlsx)"),
        ),
        (
            format!("{base}/report?as_of={as_of}{k}&format=csv"),
            lang.pick("実績（CSV）", "Figures (CSV)"),
        ),
        (
            format!("{base}/evaluate?year={year}{k}&format=xlsx"),
            lang.pick("中間評価（Excel）", "Judgement (xlsx)"),
        ),
        (
            format!("{base}/export"),
            lang.pick("全イベント（JSON Lines）", "Every event (JSON Lines)"),
        ),
    ];
    body.push_str("<section><h2>");
    body.push_str(lang.pick("ダウンロード", "Downloads"));
    body.push_str("</h2><ul class=\"downloads\">");
    for (href, text) in downloads {
        let _ = write!(
            body,
            "<li><a href=\"{}\" download>{}</a></li>",
            esc(&href),
            esc(text)
        );
    }
    body.push_str("</ul></section>");
    page(
        &format!(
            "{} — {}",
            p,
            lang.pick("実績・中間評価", "Report & judgement")
        ),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

#[derive(Deserialize, Default)]
struct LogQuery {
    #[serde(rename = "type")]
    types: Option<String>,
    menu: Option<String>,
    person: Option<String>,
    after_seq: Option<u64>,
    limit: Option<usize>,
    lang: Option<Lang>,
}

async fn log(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<LogQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Read) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let filter = crate::ledger::LogFilter {
        types: q
            .types
            .clone()
            .filter(|t| !t.is_empty())
            .map(|t| vec![t])
            .unwrap_or_default(),
        menu: q.menu.clone().filter(|m| !m.is_empty()),
        person: q.person.clone().filter(|m| !m.is_empty()),
        establishment: None,
        since_us: None,
        until_us: None,
        after_seq: q.after_seq,
        limit: Some(limit + 1),
    };
    let events = match super::on_ledger(&app, &p, move |l| Ok(l.log(&filter)?)).await {
        Ok(e) => e,
        Err(e) => return error_page(&caller, &p, lang, e),
    };
    let more = events.len() > limit;
    let mut body = format!(
        "<form method=\"get\" class=\"filters\"><label>{} <select name=\"type\"><option value=\"\">{}</option>{}</select></label><label>{} <input name=\"menu\" value=\"{}\"></label><label>{} <input name=\"person\" value=\"{}\"></label>{}<button type=\"submit\">{}</button></form><table class=\"log\"><thead><tr><th scope=\"col\">seq</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.pick("種類", "Type"),
        lang.pick("すべて", "all"),
        crate::domain::EVENT_TYPES
            .iter()
            .map(|t| format!("<option{}>{t}</option>", if q.types.as_deref() == Some(*t) { " selected" } else { "" }))
            .collect::<String>(),
        lang.pick("メニュー", "Menu"),
        esc(q.menu.as_deref().unwrap_or("")),
        lang.pick("参加者ID", "Person"),
        esc(q.person.as_deref().unwrap_or("")),
        if lang == Lang::En { "<input type=\"hidden\" name=\"lang\" value=\"en\">" } else { "" },
        lang.pick("絞り込む", "Filter"),
        lang.pick("記録時刻", "Recorded at"),
        lang.pick("種類", "Type"),
        lang.pick("内容", "Content")
    );
    let mut last = None;
    for e in events.iter().take(limit) {
        let line = String::from_utf8_lossy(&e.export_line()).to_string();
        let _ = write!(
            body,
            "<tr id=\"seq-{}\"><td class=\"num\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            e.seq,
            esc(&crate::journal::chain::timestamp_text(e.recorded_at_us)),
            esc(e.body.type_name()),
            esc(&line)
        );
        last = Some(e.seq);
    }
    body.push_str("</tbody></table>");
    if let (true, Some(last)) = (more, last) {
        let mut next = format!("/ui/p/{}/log?after_seq={last}&limit={limit}", enc(&p));
        for (k, v) in [("type", &q.types), ("menu", &q.menu), ("person", &q.person)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                let _ = write!(next, "&{k}={}", enc(v));
            }
        }
        if lang == Lang::En {
            next.push_str("&lang=en");
        }
        let _ = write!(
            body,
            "<p><a href=\"{}\" rel=\"next\">{}</a></p>",
            esc(&next),
            lang.pick("次のページ", "Next page")
        );
    }
    page(
        &format!("{} — {}", p, lang.pick("イベント一覧", "Event log")),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

async fn verify(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Read) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let v = match super::on_ledger(&app, &p, |l| Ok(l.verify())).await {
        Ok(v) => v,
        Err(e) => return error_page(&caller, &p, lang, e),
    };
    let body = match v {
        crate::journal::Verification::Intact { events, head } => format!(
            "<p class=\"ok\" role=\"status\" id=\"verify-result\">{}</p>",
            match lang {
                Lang::Ja => format!("改ざんはありません。{events} 件のイベントのハッシュチェーンを確認しました。先頭: {}", crate::journal::hash_text(&head)),
                Lang::En => format!("Intact: the hash chain of {events} events checks out. Head: {}", crate::journal::hash_text(&head)),
            }
        ),
        crate::journal::Verification::Broken { seq, detail } => format!(
            "<p class=\"error\" role=\"alert\" id=\"verify-result\">{}</p>",
            esc(&match lang {
                Lang::Ja => format!("seq {seq} で不整合: {detail}"),
                Lang::En => format!("broken at seq {seq}: {detail}"),
            })
        ),
    };
    page(
        &format!("{} — {}", p, lang.pick("改ざん検査", "Verify")),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

#[derive(Deserialize, Default)]
struct PlanQuery {
    as_of: Option<String>,
    year: Option<u16>,
    lang: Option<Lang>,
}

/// The plan check (P-3 and the plan's defects) and, where the server keeps
/// the statistics, the region's eligibility (P-1, P-2) for the project's
/// municipalities. Read-only, for every role.
async fn plan(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    UrlPath(p): UrlPath<String>,
    Query(q): Query<PlanQuery>,
) -> Response {
    let lang = q.lang.unwrap_or_default();
    let caller = match allowed(caller, &p, lang, Need::Read) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = match facts(&app, &caller, &p, None, lang).await {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let as_of = q
        .as_of
        .as_deref()
        .and_then(Date::parse_iso)
        .or_else(|| r.project.as_ref().map(|_| r.latest_date()));
    let check = crate::proposal::plan_check(&r, as_of, lang);
    let mut body = format!(
        "<section id=\"plan-check\"><h2>{}</h2><pre class=\"table\">{}</pre></section>",
        lang.pick(
            "事業計画の確認（P-3 と計画の不備）",
            "The plan (P-3 and defects)"
        ),
        pre_text(&crate::proposal::render_plan_check(&check, lang))
    );
    let municipalities: Vec<String> = r
        .project
        .as_ref()
        .map(|p| p.municipalities.iter().map(|m| m.0.clone()).collect())
        .unwrap_or_default();
    let root = app.root.clone();
    let year = q.year;
    let eligibility = super::blocking(move || {
        let stats = std::fs::read(super::statistics_file(&root, "municipal.csv")).ok();
        let national = std::fs::read(super::statistics_file(&root, "national.csv")).ok();
        let (Some(stats), Some(national)) = (stats, national) else {
            return Ok(None);
        };
        let table = crate::proposal::read_statistics(&stats, "municipal.csv", false)
            .map_err(|e| ApiError::from(LedgerError::Input(e)))?;
        let year = year.or_else(|| table.latest_year()).unwrap_or(0);
        let n = crate::proposal::read_statistics(&national, "national.csv", true)
            .map_err(|e| ApiError::from(LedgerError::Input(e)))?;
        let n = crate::proposal::national_from(&n, year).map_err(super::proposal_error)?;
        Ok(Some(
            crate::proposal::eligibility(&table, n, &municipalities, year)
                .map_err(super::proposal_error)?,
        ))
    })
    .await;
    let _ = write!(
        body,
        "<section id=\"eligibility\"><h2>{}</h2>",
        lang.pick("地域要件（P-1, P-2）", "Regional eligibility (P-1, P-2)")
    );
    match eligibility {
        Ok(Some(e)) => {
            let _ = write!(
                body,
                "<pre class=\"table\">{}</pre>",
                pre_text(&crate::proposal::render_eligibility(&e, lang))
            );
        }
        Ok(None) => {
            let _ = write!(body, "<p>{}</p>", lang.pick("このサーバーには統計（statistics/municipal.csv, national.csv）がありません。jisseki eligibility で判定できます。", "This server keeps no statistics (statistics/municipal.csv, national.csv); use jisseki eligibility."));
        }
        Err(e) => {
            let _ = write!(
                body,
                "<p class=\"error\">{}</p>",
                esc(e.body["message"].as_str().unwrap_or("error"))
            );
        }
    }
    body.push_str("</section>");
    page(
        &format!(
            "{} — {}",
            p,
            lang.pick("計画・地域要件", "Plan & eligibility")
        ),
        Some(&caller),
        Some(&p),
        lang,
        &body,
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_post_from_another_site_is_refused_and_a_proxy_dropping_the_port_is_not() {
        assert!(same_origin(&headers(&[("host", "jisseki.example.jp")])));
        assert!(same_origin(&headers(&[
            ("host", "jisseki.example.jp"),
            ("origin", "https://jisseki.example.jp")
        ])));
        // nginx's $host drops the port the browser's Origin keeps.
        assert!(same_origin(&headers(&[
            ("host", "jisseki.example.jp"),
            ("origin", "https://jisseki.example.jp:8443")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "jisseki.example.jp"),
            ("origin", "https://evil.example.com")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "jisseki.example.jp"),
            ("origin", "https://jisseki.example.jp.evil.com")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.jp"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn a_known_at_that_is_not_a_time_is_an_error_not_today() {
        assert_eq!(known_at_of(None, Lang::Ja), Ok(None));
        assert_eq!(known_at_of(Some("  "), Lang::Ja), Ok(None));
        assert!(known_at_of(Some("2025-03-05T09:00:00+09:00"), Lang::Ja)
            .unwrap()
            .is_some());
        for bad in ["2025-03-05", "2025-03-05T09:00", "yesterday"] {
            assert!(known_at_of(Some(bad), Lang::En).is_err(), "{bad}");
        }
    }

    #[test]
    fn roster_rows_keep_their_checkboxes_and_establishments_when_blank_rows_go() {
        let body = "menu=A-01&date=2024-11-05\
            &person=P-1&establishment=&establishment_location=in_region&role=startup_hopeful&residence=in_region&freelance_0=true&student_school=&student_graduating_year=\
            &person=&establishment=&establishment_location=in_region&role=job_seeker&residence=in_region&intent_confirmed_1=true&student_school=&student_graduating_year=\
            &person=&establishment=E-9&establishment_location=out_region&role=establishment&residence=unknown&wants_in_region_2=true&student_school=&student_graduating_year=";
        let rows = roster_rows(&pairs(body.as_bytes()));
        assert_eq!(rows.len(), 2, "the blank row is dropped");
        assert_eq!(rows[0].get("person").map(String::as_str), Some("P-1"));
        assert_eq!(rows[0].get("freelance").map(String::as_str), Some("true"));
        assert_eq!(
            rows[0].get("intent_confirmed"),
            None,
            "row 2's tick stays with row 2"
        );
        assert_eq!(
            rows[1].get("establishment").map(String::as_str),
            Some("E-9")
        );
        assert_eq!(
            rows[1].get("wants_in_region").map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn ids_and_menu_names_are_escaped_on_the_saved_page() {
        let caller = Caller(crate::server::tokens::TokenEntry {
            id: "jsk_00000000".into(),
            sha256: String::new(),
            role: crate::server::tokens::Role::Council,
            project: Some("p".into()),
            created_at: String::new(),
        });
        let report = AppendReport {
            appended: vec![],
            already: vec![],
            head: None,
        };
        let html = saved_page(
            &caller,
            "p",
            Lang::Ja,
            &report,
            &["<i>x</i>".to_string()],
            &[String::new()],
            "<svg/onload=alert(1)>",
            Date::parse_iso("2024-11-05").unwrap(),
        )
        .0;
        assert!(
            !html.contains("<svg/onload") && !html.contains("<i>x"),
            "{html}"
        );
        assert!(html.contains("&lt;svg/onload=alert(1)&gt;"));
    }

    #[test]
    fn a_refused_page_request_is_a_page_with_the_reason_escaped() {
        let html = plain_error_page(StatusCode::BAD_REQUEST, "year: invalid digit <x>");
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("400") && html.contains("invalid digit &lt;x&gt;"));
    }

    #[test]
    fn form_ids_repeat_for_the_same_form_and_row_only() {
        assert_eq!(row_id("n", 0), row_id("n", 0));
        assert_ne!(row_id("n", 0), row_id("n", 1));
        assert_ne!(row_id("n", 0), row_id("m", 0));
    }
}
