//! The command line: parse flags, call [`crate::Ledger`], render. No figure
//! is computed here.

use crate::error::{InputError, InputErrorKind, InputErrors, Location};
use crate::i18n::Lang;
use crate::io::{self, InputFormat, Mode};
use crate::journal::{self, hash_text, Clock, ManualClock, SystemClock, Verification};
use crate::ledger::{Access, AppendOptions, AppendReport, Ledger, LedgerError, LogFilter};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Output format for programs or people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A table for people (default).
    #[default]
    Table,
    /// JSON for programs.
    Json,
    /// CSV for spreadsheets.
    Csv,
    /// An Excel workbook (`report`, `evaluate`, `explain`; with `--output`).
    Xlsx,
}

/// jisseki (実績): 地域雇用活性化推進事業の参加者・アウトカム台帳
/// (an event-sourced ledger for the Regional Employment Activation Programme).
#[derive(Debug, Parser)]
#[command(name = "jisseki", version, about)]
pub struct Cli {
    /// 台帳のディレクトリ / the ledger directory
    #[arg(long, global = true, env = "JISSEKI_LEDGER")]
    pub ledger: Option<PathBuf>,
    /// 出力形式 / output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// 表示言語 / language of messages
    #[arg(long, global = true, value_enum, default_value_t = Lang::Ja, env = "JISSEKI_LANG")]
    pub lang: Lang,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of CONTRACT.md §1.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// 空の台帳を作成する / create an empty ledger
    Init,
    /// JSON Lines または CSV からイベントを追加する（全件か0件）/ append events from JSON Lines or CSV, all or nothing
    Import {
        /// 入力ファイル（.jsonl / .csv、`-` は標準入力）/ input file (`-` for stdin, read as JSON Lines)
        file: PathBuf,
        /// 検査だけして追加しない。すべての誤りを表示 / validate only, list every error
        #[arg(long)]
        check: bool,
        /// export の出力を空の台帳に復元する（ハッシュを再検証）/ restore an export into an empty ledger
        #[arg(long)]
        restore: bool,
        /// 台帳の最後の seq がこの値でなければ拒否 / refuse unless the ledger's last seq is N
        #[arg(long, value_name = "N")]
        expect_seq: Option<u64>,
    },
    /// フラグから1件のイベントを追加する / append one event from flags
    #[command(
        after_help = "例 / example:\n  jisseki record attendance --menu B-01 --date 2024-11-20 --role job_seeker --person P-0001 --residence in_region --intent_confirmed はい\n  jisseki record retraction --target <id> --reason 二重登録\n  jisseki record correction --target <id> --reason 居住地の誤り --replacement '{\"type\":\"attendance\",...}'"
    )]
    Record {
        /// イベントの種類 / event type (attendance, hire, ...)
        #[arg(value_name = "TYPE")]
        event_type: String,
        /// 台帳の最後の seq がこの値でなければ拒否 / refuse unless the ledger's last seq is N
        #[arg(long, value_name = "N")]
        expect_seq: Option<u64>,
        /// --項目名 値 ... / --field value pairs, named as in the CSV header
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "--FIELD VALUE"
        )]
        fields: Vec<String>,
    },
    /// 全イベントを JSON Lines で出力する / every event as JSON Lines
    Export {
        /// 出力先（省略時は標準出力）/ output file (stdout when absent)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// ハッシュチェーンと全イベントを検証する / check the hash chain and every stored event
    Verify,
    /// イベントを一覧する / list events
    Log {
        /// 種類で絞る（複数可）/ keep these types
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// メニューで絞る / keep events naming this menu
        #[arg(long)]
        menu: Option<String>,
        /// 参加者IDで絞る / keep events about this person
        #[arg(long)]
        person: Option<String>,
        /// 事業所IDで絞る / keep events about this establishment
        #[arg(long)]
        establishment: Option<String>,
        /// この時刻以降に記録されたもの（RFC 3339 または日付）/ recorded at or after
        #[arg(long)]
        since: Option<String>,
        /// この時刻以前に記録されたもの / recorded at or before
        #[arg(long)]
        until: Option<String>,
        /// この seq より後のイベント（前のページの続き）/ events after this seq (the page after one that ended there)
        #[arg(long)]
        after_seq: Option<u64>,
        /// 最大件数 / at most N events
        #[arg(long)]
        limit: Option<usize>,
    },
    /// メニュー別・年度別のアウトプットとアウトカム / output and outcome per menu (CONTRACT §3)
    Report {
        /// 基準日 YYYY-MM-DD（発生日による時点, T-1）/ as-of date
        #[arg(long)]
        as_of: String,
        /// 記録時点 RFC 3339（その時点で記録済みのイベントだけで再現, T-2）/ known-at time
        #[arg(long)]
        known_at: Option<String>,
        /// 契約開始からの累計（F-2）/ cumulative from the contract start
        #[arg(long)]
        cumulative: bool,
        /// チェックポイントを保存しない（台帳ディレクトリに何も書かない）/ never save a checkpoint (write nothing to the ledger directory)
        #[arg(long)]
        no_checkpoint: bool,
        /// --format xlsx の出力先 / the workbook to write with --format xlsx
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// 集計の途中状態（チェックポイント）を保存し、次の report を速くする / save the counting state at the head, so reports read only what follows
    Checkpoint {
        /// 保存済みのチェックポイントを一覧する / list the saved checkpoints instead
        #[arg(long, conflicts_with = "clear")]
        list: bool,
        /// チェックポイントと保存済みの集計結果をすべて削除する（数値は変わらない）/ remove every checkpoint and kept report (no figure changes)
        #[arg(long)]
        clear: bool,
    },
    /// 中間評価（事業継続可否の判断）/ the mid-term judgement (CONTRACT §4)
    Evaluate {
        /// 事業年度（1 または 2。3年度目は中間評価なし）/ project year, 1 or 2
        #[arg(long)]
        year: u8,
        /// 記録時点 / known-at time
        #[arg(long)]
        known_at: Option<String>,
        /// --format xlsx の出力先 / the workbook to write with --format xlsx
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// メニュー別の累計アウトプット・アウトカムの推移を SVG に描く / chart cumulative output and outcome per menu as SVG
    Chart {
        /// 基準日（その年度の推移を描く。省略時は最後のイベントの日付）/ as-of date (charts its fiscal year; default: the latest event date)
        #[arg(long)]
        as_of: Option<String>,
        /// メニューID（省略時は全メニューを1ページに）/ one menu (all menus on one page when absent)
        #[arg(long)]
        menu: Option<String>,
        /// 記録時点 / known-at time
        #[arg(long)]
        known_at: Option<String>,
        /// 出力先 FILE.svg / the SVG file to write
        #[arg(long, short)]
        output: PathBuf,
    },
    /// 数字の根拠をイベントとルールで示す / every event behind a figure, with the rule that counted or excluded it
    Explain {
        /// メニューID / menu id
        #[arg(long)]
        menu: Option<String>,
        /// 参加者ID / person id
        #[arg(long)]
        person: Option<String>,
        /// 事業所ID / establishment id
        #[arg(long)]
        establishment: Option<String>,
        /// 基準日 / as-of date
        #[arg(long)]
        as_of: String,
        /// 記録時点 / known-at time
        #[arg(long)]
        known_at: Option<String>,
        /// 累計 / cumulative
        #[arg(long)]
        cumulative: bool,
        /// --format xlsx の出力先 / the workbook to write with --format xlsx
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// 地域要件（雇用機会不足地域・過疎等地域）を統計から判定する（P-1, P-2）/ is the region eligible? (P-1, P-2, from published statistics)
    Eligibility {
        /// 市町村別・年別の統計 CSV（municipality,year,openings,seekers,population,depopulated）/ statistics per municipality and year
        #[arg(long)]
        stats: PathBuf,
        /// 全国の統計 CSV（year,openings,seekers,population）/ national statistics
        #[arg(long, required_unless_present_all = ["national_ratio_3y", "national_ratio_1y", "national_decline_5y"])]
        national: Option<PathBuf>,
        /// 全国の有効求人倍率（最近3年平均）/ the national ratio over 3 years, instead of --national
        #[arg(long, conflicts_with = "national")]
        national_ratio_3y: Option<String>,
        /// 全国の有効求人倍率（最近1年）/ the national ratio of the last year, instead of --national
        #[arg(long, conflicts_with = "national")]
        national_ratio_1y: Option<String>,
        /// 全国の5年間の人口減少率（0.025 または 2.5%）/ the national five-year population decline (0.025 or 2.5%), instead of --national
        #[arg(long, conflicts_with = "national")]
        national_decline_5y: Option<String>,
        /// 市町村（カンマ区切り。省略時は --ledger の事業の市町村）/ municipalities, comma-separated (default: the project's, from --ledger)
        #[arg(long, value_delimiter = ',')]
        municipalities: Vec<String>,
        /// 判定する年（省略時は統計の最新年）/ the year judged (default: the latest in the statistics)
        #[arg(long)]
        year: Option<u16>,
    },
    /// 事業計画を確認する：アウトカム1人当たり経費（P-3）と計画の不備 / check the plan: cost per outcome (P-3) and defects
    PlanCheck {
        /// 実績の基準日（省略時は最後のイベントの日付。実施中の事業の実績1人当たり経費）/ as-of date of the actual cost per counted outcome (default: the latest event date)
        #[arg(long)]
        as_of: Option<String>,
    },
    /// 入力内容の警告を一覧する（拒否はしない）/ list data-entry warnings (nothing is refused)
    Check {
        /// 基準日（省略時は最後のイベントの日付）/ as-of date (default: the latest event date)
        #[arg(long)]
        as_of: Option<String>,
    },
    /// 架空の協議会の台帳を一時ディレクトリに作って要約を表示する / build a demo council ledger and summarise it
    Demo {
        /// 乱数の種 / generator seed
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// 台帳を残すディレクトリ（省略時は一時ディレクトリを削除）/ keep the ledger here
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// 複数の事業の台帳を HTTP で提供する（トークンによる権限管理）/ serve many projects' ledgers over HTTP, with bearer tokens and roles
    Serve {
        /// 事業ごとの台帳とトークンを置くディレクトリ / the directory of the projects' ledgers and the tokens
        #[arg(long)]
        root: PathBuf,
        /// 待ち受けるアドレス（ポート 0 は空きポート）/ address to listen on (port 0 picks one)
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// 同時に処理する要求の上限（超えた分は 503 と Retry-After）/ requests served at once; more are answered 503 with Retry-After
        #[arg(long, default_value_t = crate::server::IN_FLIGHT_MAX)]
        max_in_flight: usize,
    },
    /// serve のアクセストークンを作成・失効・一覧する / create, revoke or list the tokens of `serve`
    Token {
        /// serve の --root と同じディレクトリ / the same directory as serve's --root
        #[arg(long, global = true)]
        root: Option<PathBuf>,
        #[command(subcommand)]
        /// 操作 / what to do
        action: TokenAction,
    },
}

/// `jisseki token ...`.
#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// トークンを作成する（秘密の値は一度だけ表示）/ create a token (its secret is shown once)
    Create {
        /// 役割 / role
        #[arg(long, value_enum)]
        role: crate::server::tokens::Role,
        /// 対象の事業（admin 以外は必須）/ the project (required but for admin)
        #[arg(long)]
        project: Option<String>,
    },
    /// トークンを失効させる / revoke a token
    Revoke {
        /// トークンの先頭8文字以上、またはその ID（jsk_ で始まる12文字）/ the token's first 8 or more characters, or its id (the 12 characters jsk_…)
        #[arg(value_name = "TOKEN_PREFIX")]
        id: String,
    },
    /// トークンを一覧する（秘密の値は保存されていない）/ list the tokens (no secret is stored)
    List,
}

/// Exit codes: 0 success, 1 refused input or failed check, 2 usage, 3
/// ledger busy, 4 storage failure or corruption.
fn exit_code(e: &LedgerError) -> u8 {
    match e {
        LedgerError::InUse { .. } => 3,
        LedgerError::Journal(_) | LedgerError::Io { .. } | LedgerError::Unreadable { .. } => 4,
        _ => 1,
    }
}

/// `jisseki log | head`: when the reader goes away, end quietly as Unix
/// tools do (the default SIGPIPE action), instead of Rust's panic on a
/// failed print. Not for `serve`, which must outlive any pipe.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal; no handler runs
    // our code, and nothing else in the process relies on ignoring it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The most errors printed at once; the rest are counted.
const ERRORS_SHOWN_MAX: usize = 200;

/// Runs the CLI and returns the process exit code.
pub fn run() -> ExitCode {
    crate::ledger::name_this_build();
    let cli = Cli::parse();
    let lang = cli.lang;
    if !matches!(cli.command, Command::Serve { .. }) {
        quiet_on_closed_pipe();
    }
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Ledger(e)) => {
            eprintln!("{}", render_failure(&e, lang, false));
            ExitCode::from(exit_code(&e))
        }
        Err(Failure::Listed(e)) => {
            eprintln!("{}", render_failure(&e, lang, true));
            ExitCode::from(exit_code(&e))
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("jisseki: {msg}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Ledger(LedgerError),
    /// Print every error, not just the first (`import --check`).
    Listed(LedgerError),
    Usage(String),
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Failure::Ledger(e)
    }
}

fn render_failure(e: &LedgerError, lang: Lang, all: bool) -> String {
    let LedgerError::Input(errs) = e else {
        return format!("jisseki: {}", e.render(lang));
    };
    let n = errs.0.len();
    let shown = if all { n.min(ERRORS_SHOWN_MAX) } else { 1 };
    let mut lines: Vec<String> = errs.0.iter().take(shown).map(|x| x.render(lang)).collect();
    if n > shown {
        lines.push(match (lang, all) {
            (Lang::Ja, false) => format!(
                "（ほかに {} 件の誤り。すべて表示するには import --check。何も追加していません）",
                n - shown
            ),
            (Lang::En, false) => format!(
                "({} more errors; import --check lists them all. Nothing was appended.)",
                n - shown
            ),
            (Lang::Ja, true) => format!("（ほかに {} 件の誤り）", n - shown),
            (Lang::En, true) => format!("({} more errors)", n - shown),
        });
    } else if !all {
        lines.push(
            Lang::pick(lang, "（何も追加していません）", "(nothing was appended)").to_string(),
        );
    }
    lines.join("\n")
}

fn ledger_dir(cli_dir: &Option<PathBuf>, lang: Lang) -> Result<PathBuf, Failure> {
    cli_dir.clone().ok_or_else(|| {
        Failure::Usage(
            lang.pick(
                "--ledger DIR（または JISSEKI_LEDGER）を指定してください",
                "give --ledger DIR (or JISSEKI_LEDGER)",
            )
            .into(),
        )
    })
}

/// The clock: the system's, or a fixed time from `JISSEKI_TEST_NOW` (RFC
/// 3339), which tests use to control transaction time.
fn clock() -> Result<Arc<dyn Clock>, Failure> {
    match std::env::var("JISSEKI_TEST_NOW") {
        Ok(s) => {
            let us = journal::chain::parse_timestamp(&s).ok_or_else(|| {
                Failure::Usage(format!("JISSEKI_TEST_NOW: not an RFC 3339 time: {s}"))
            })?;
            Ok(Arc::new(ManualClock::at(us)))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

fn open(dir: &Path, access: Access) -> Result<Ledger, Failure> {
    Ok(Ledger::open(dir, access, clock()?)?)
}

fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let lang = cli.lang;
    match &cli.command {
        Command::Init => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            Ledger::init(&dir)?;
            println!(
                "{}",
                match lang {
                    Lang::Ja => format!("台帳を作成しました: {}", dir.display()),
                    Lang::En => format!("created ledger {}", dir.display()),
                }
            );
            Ok(0)
        }
        Command::Import {
            file,
            check,
            restore,
            expect_seq,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            import(&dir, file, *check, *restore, *expect_seq, cli.format, lang)
        }
        Command::Record {
            event_type,
            expect_seq,
            fields,
        } => {
            // The field list swallows everything after TYPE, so global flags
            // written after it are picked out here.
            let mut ledger = cli.ledger.clone();
            let (mut format, mut lang, mut expect_seq) = (cli.format, lang, *expect_seq);
            let mut rest = Vec::new();
            let mut it = fields.iter();
            while let Some(a) = it.next() {
                let (name, inline) = match a.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (a.as_str(), None),
                };
                if !matches!(name, "--ledger" | "--format" | "--lang" | "--expect-seq") {
                    rest.push(a.clone());
                    continue;
                }
                let value = inline
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| Failure::Usage(format!("{name}: missing value")))?;
                match name {
                    "--ledger" => ledger = Some(PathBuf::from(value)),
                    "--format" => {
                        format = Format::from_str(&value, false).map_err(Failure::Usage)?
                    }
                    "--lang" => lang = Lang::from_str(&value, false).map_err(Failure::Usage)?,
                    _ => {
                        expect_seq = Some(value.parse().map_err(|_| {
                            Failure::Usage(format!("--expect-seq {value}: not a number"))
                        })?)
                    }
                }
            }
            let dir = ledger_dir(&ledger, lang)?;
            record(&dir, event_type, &rest, expect_seq, format, lang)
        }
        Command::Export { output } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            match output {
                Some(path) => {
                    let tmp = path.with_extension("partial");
                    let mut f =
                        std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|source| {
                            LedgerError::Io {
                                path: tmp.clone(),
                                source,
                            }
                        })?);
                    let n = ledger.export(&mut f)?;
                    let f = f.into_inner().map_err(|e| LedgerError::Io {
                        path: tmp.clone(),
                        source: e.into_error(),
                    })?;
                    f.sync_all().map_err(|source| LedgerError::Io {
                        path: tmp.clone(),
                        source,
                    })?;
                    std::fs::rename(&tmp, path).map_err(|source| LedgerError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    eprintln!(
                        "{}",
                        match lang {
                            Lang::Ja => format!("{n} 件を {} に書き出しました", path.display()),
                            Lang::En => format!("wrote {n} events to {}", path.display()),
                        }
                    );
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    match ledger.export(&mut out).and_then(|_| {
                        out.flush().map_err(|source| LedgerError::Io {
                            path: "-".into(),
                            source,
                        })
                    }) {
                        Ok(()) => {}
                        // A closed pipe (`export | head`) is not an error.
                        Err(LedgerError::Io { source, .. })
                            if source.kind() == std::io::ErrorKind::BrokenPipe => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(0)
        }
        Command::Verify => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            verify(&ledger, cli.format, lang)
        }
        Command::Log {
            types,
            menu,
            person,
            establishment,
            since,
            until,
            after_seq,
            limit,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            let filter = LogFilter {
                after_seq: *after_seq,
                types: types.clone(),
                menu: menu.clone(),
                person: person.clone(),
                establishment: establishment.clone(),
                since_us: since
                    .as_deref()
                    .map(|s| parse_time_arg(s, false, lang))
                    .transpose()?,
                until_us: until
                    .as_deref()
                    .map(|s| parse_time_arg(s, true, lang))
                    .transpose()?,
                limit: *limit,
            };
            for t in &filter.types {
                if !crate::domain::EVENT_TYPES.contains(&t.as_str()) {
                    return Err(Failure::Usage(format!(
                        "--type {t}: {}",
                        lang.pick("そのような種類はありません", "no such event type")
                    )));
                }
            }
            let events = ledger.log(&filter)?;
            print_log(&events, cli.format, lang);
            Ok(0)
        }
        Command::Demo { seed, keep } => demo(*seed, keep.as_deref(), lang),
        Command::Serve {
            root,
            listen,
            max_in_flight,
        } => {
            crate::server::serve(root, listen, *max_in_flight, |addr| {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!("待ち受け中: http://{addr}"),
                        Lang::En => format!("listening on http://{addr}"),
                    }
                );
                let _ = std::io::stdout().flush();
            })
            .map_err(|e| Failure::Usage(format!("serve: {e}")))?;
            Ok(0)
        }
        Command::Token { root, action } => {
            let Some(root) = root else {
                return Err(Failure::Usage(
                    lang.pick("--root が必要です", "--root is needed").into(),
                ));
            };
            token(root, action, cli.format, lang)
        }
        Command::Evaluate {
            year,
            known_at,
            output,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            if !matches!(year, 1 | 2) {
                return Err(Failure::Usage(match lang {
                    Lang::Ja => format!("--year {year}: 中間評価は1年度目と2年度目だけです（3年度目は jisseki report --as-of で年度末の実績を）"),
                    Lang::En => format!("--year {year}: mid-term judgements are for years 1 and 2 only (for year 3, use jisseki report --as-of the fiscal year end)"),
                }));
            }
            let known_at = known_at_arg(known_at.as_deref(), lang)?;
            let r = ledger.resolved(known_at)?;
            let e = crate::evaluate::evaluate(&r, *year, lang)
                .map_err(|e| Failure::Usage(e.to_string()))?;
            match cli.format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default())
                }
                Format::Xlsx => {
                    let path = xlsx_output(output, lang)?;
                    crate::report::xlsx::write_workbook(&r, &e, path)
                        .map_err(|err| Failure::Usage(format!("{}: {err}", path.display())))?;
                    eprintln!(
                        "{}",
                        match lang {
                            Lang::Ja => format!("ブックを書き出しました: {}", path.display()),
                            Lang::En => format!("wrote the workbook {}", path.display()),
                        }
                    );
                }
                Format::Csv => {
                    let _ = std::io::stdout()
                        .lock()
                        .write_all(&crate::report::sheets::evaluation_csv(&e, lang));
                }
                Format::Table => print!("{}", crate::evaluate::render(&e, lang)),
            }
            Ok(0)
        }
        Command::Chart {
            as_of,
            menu,
            known_at,
            output,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            let known_at = known_at_arg(known_at.as_deref(), lang)?;
            let r = ledger.resolved(known_at)?;
            let as_of = match as_of {
                Some(d) => when(d, None, false, lang)?.0,
                None => r.latest_date(),
            };
            let mut series = crate::report::chart::series(&r, as_of);
            if let Some(m) = menu {
                series.retain(|s| &s.menu == m);
                if series.is_empty() {
                    return Err(Failure::Usage(format!(
                        "--menu {m}: {}",
                        lang.pick("そのメニューは定義されていません", "no such menu")
                    )));
                }
            }
            let cutoff = r.project.as_ref().and_then(|p| {
                [1u8, 2]
                    .iter()
                    .filter_map(|y| crate::evaluate::cutoff(p.contract_start, *y))
                    .find(|c| {
                        crate::rules::time::fiscal_year(*c)
                            == crate::rules::time::fiscal_year(as_of)
                    })
            });
            let svg = crate::report::chart::svg(&series, cutoff, lang);
            std::fs::write(output, svg).map_err(|source| LedgerError::Io {
                path: output.clone(),
                source,
            })?;
            eprintln!(
                "{}",
                match lang {
                    Lang::Ja => format!("グラフを書き出しました: {}", output.display()),
                    Lang::En => format!("wrote the chart {}", output.display()),
                }
            );
            Ok(0)
        }
        Command::Eligibility {
            stats,
            national,
            national_ratio_3y,
            national_ratio_1y,
            national_decline_5y,
            municipalities,
            year,
        } => {
            let read = |path: &PathBuf, national: bool| {
                let bytes = std::fs::read(path).map_err(|source| LedgerError::Io {
                    path: path.clone(),
                    source,
                })?;
                crate::proposal::read_statistics(&bytes, &path.display().to_string(), national)
                    .map_err(|e| Failure::Listed(LedgerError::Input(e)))
            };
            let table = read(stats, false)?;
            let year = match year.or_else(|| table.latest_year()) {
                Some(y) => y,
                None => return Err(Failure::Usage("--year".into())),
            };
            let mut munis: Vec<String> = municipalities
                .iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            if munis.is_empty() {
                if let Some(dir) = &cli.ledger {
                    let r = open(dir, Access::Read)?.resolved(None)?;
                    if let Some(p) = r.project {
                        munis = p.municipalities.iter().map(|m| m.0.clone()).collect();
                    }
                }
            }
            let fail = |e: crate::proposal::ProposalError| match e {
                crate::proposal::ProposalError::Input(e) => Failure::Listed(LedgerError::Input(e)),
                other => Failure::Usage(other.render(lang)),
            };
            let national = match national {
                Some(path) => {
                    crate::proposal::national_from(&read(path, true)?, year).map_err(fail)?
                }
                None => {
                    let arg = |name: &str, v: &Option<String>| {
                        v.as_deref()
                            .and_then(crate::rules::proposal::Frac::parse_decimal)
                            .ok_or_else(|| {
                                Failure::Usage(format!(
                                    "--{name} {}: {}",
                                    v.as_deref().unwrap_or(""),
                                    lang.pick(
                                        "小数（0.85）または百分率（2.5%）で指定してください",
                                        "give a decimal (0.85) or a percentage (2.5%)"
                                    )
                                ))
                            })
                    };
                    crate::rules::proposal::National {
                        ratio_3y: arg("national-ratio-3y", national_ratio_3y)?,
                        ratio_1y: arg("national-ratio-1y", national_ratio_1y)?,
                        decline_5y: arg("national-decline-5y", national_decline_5y)?,
                    }
                }
            };
            let e = crate::proposal::eligibility(&table, national, &munis, year).map_err(fail)?;
            match cli.format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default())
                }
                Format::Csv => {
                    let _ = std::io::stdout()
                        .lock()
                        .write_all(&crate::proposal::eligibility_csv(&e));
                }
                _ => print!("{}", crate::proposal::render_eligibility(&e, lang)),
            }
            Ok(0)
        }
        Command::PlanCheck { as_of } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            let r = ledger.resolved(None)?;
            let as_of = match as_of {
                Some(d) => Some(when(d, None, false, lang)?.0),
                None => r.project.as_ref().map(|_| r.latest_date()),
            };
            let p = crate::proposal::plan_check(&r, as_of, lang);
            match cli.format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default())
                }
                Format::Csv => {
                    let _ = std::io::stdout()
                        .lock()
                        .write_all(&crate::proposal::plan_check_csv(&p));
                }
                _ => print!("{}", crate::proposal::render_plan_check(&p, lang)),
            }
            // Defects are findings, not failures: exit 0 either way, as
            // `check` does; programs read `defects`.
            Ok(0)
        }
        Command::Check { as_of } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            let r = ledger.resolved(None)?;
            let as_of = match as_of {
                Some(d) => when(d, None, false, lang)?.0,
                None => r.latest_date(),
            };
            let f = crate::projection::figures(
                &r,
                crate::projection::Query {
                    as_of,
                    scope: crate::rules::time::Scope::Cumulative,
                },
            );
            let w = crate::projection::warnings::warnings(&r, &f);
            match cli.format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&w).unwrap_or_default())
                }
                _ => print!("{}", crate::report::render_warnings(&w, lang)),
            }
            Ok(0)
        }
        Command::Report {
            as_of,
            known_at,
            cumulative,
            no_checkpoint,
            output,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let (as_of, known_at, scope) = when(as_of, known_at.as_deref(), *cumulative, lang)?;
            let format = cli.format;
            let request = format!("{format:?}/{lang:?}");
            // The report of the ledger as it stands, kept for its head,
            // is read without opening the journal.
            if !*no_checkpoint && format != Format::Xlsx && known_at.is_none() {
                if let Some(bytes) = Ledger::kept_report_at_rest(&dir, as_of, scope, &request) {
                    let _ = std::io::stdout().lock().write_all(&bytes);
                    return Ok(0);
                }
            }
            let mut ledger = open(&dir, Access::Read)?;
            if format == Format::Xlsx {
                let path = xlsx_output(output, lang)?;
                let report = match no_checkpoint {
                    true => ledger.report(as_of, known_at, scope)?,
                    false => ledger.report_kept(as_of, known_at, scope)?.0,
                };
                let bytes = crate::report::xlsx::report_workbook(&report, lang)
                    .map_err(|err| Failure::Usage(format!("{}: {err}", path.display())))?;
                return write_workbook_file(path, &bytes, lang);
            }
            let (bytes, note) = match no_checkpoint {
                true => (
                    render_report(&ledger.report(as_of, known_at, scope)?, format, lang),
                    crate::ledger::CheckpointNote::None,
                ),
                false => ledger.report_rendered(as_of, known_at, scope, &request, |r| {
                    render_report(r, format, lang)
                })?,
            };
            if let crate::ledger::CheckpointNote::Failed(e) = note {
                // The report stands; only the shortcut for the next one
                // was not saved.
                eprintln!(
                    "{}",
                    match lang {
                        Lang::Ja => format!(
                            "注意: チェックポイントを保存できませんでした（集計結果は正しい）: {e}"
                        ),
                        Lang::En =>
                            format!("note: the checkpoint was not saved (the report is sound): {e}"),
                    }
                );
            }
            let _ = std::io::stdout().lock().write_all(&bytes);
            Ok(0)
        }
        Command::Checkpoint { list, clear } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let mut ledger = open(&dir, Access::Read)?;
            if *clear {
                let n = ledger.clear_checkpoints()?;
                println!(
                    "{}",
                    match lang {
                        Lang::Ja =>
                            format!("チェックポイントと保存済みの集計結果を削除しました（{n} 件）"),
                        Lang::En =>
                            format!("removed every checkpoint and kept report ({n} entries)"),
                    }
                );
                return Ok(0);
            }
            if *list {
                let all = ledger.checkpoints()?;
                print_checkpoints(&all, cli.format, lang);
                return Ok(0);
            }
            let started = std::time::Instant::now();
            let (seq, folded) = ledger.checkpoint()?;
            let ms = started.elapsed().as_millis();
            match cli.format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({"seq": seq, "events_folded": folded, "ms": ms as u64})
                ),
                _ => println!(
                    "{}",
                    match (lang, seq, folded) {
                        (Lang::Ja, 0, _) => "台帳は空です。チェックポイントは不要です".to_string(),
                        (Lang::En, 0, _) => "the ledger is empty: no checkpoint needed".to_string(),
                        (Lang::Ja, s, 0) => format!("seq {s} のチェックポイントは保存済みです"),
                        (Lang::En, s, 0) => format!("a checkpoint at seq {s} is already saved"),
                        (Lang::Ja, s, n) => format!(
                            "seq {s} にチェックポイントを保存しました（{n} 件を集計, {ms} ms）"
                        ),
                        (Lang::En, s, n) =>
                            format!("saved a checkpoint at seq {s} ({n} events folded, {ms} ms)"),
                    }
                ),
            }
            Ok(0)
        }
        Command::Explain {
            menu,
            person,
            establishment,
            as_of,
            known_at,
            cumulative,
            output,
        } => {
            let dir = ledger_dir(&cli.ledger, lang)?;
            let ledger = open(&dir, Access::Read)?;
            let (as_of, known_at, scope) = when(as_of, known_at.as_deref(), *cumulative, lang)?;
            let xlsx_path = match cli.format {
                Format::Xlsx => Some(xlsx_output(output, lang)?),
                _ => None,
            };
            let subject = person.as_deref().or(establishment.as_deref());
            if menu.is_none() && subject.is_none() {
                return Err(Failure::Usage(
                    lang.pick(
                        "--menu、--person、--establishment のいずれかを指定してください",
                        "give --menu, --person or --establishment",
                    )
                    .into(),
                ));
            }
            let r = ledger.resolved(known_at)?;
            let f = crate::projection::figures(&r, crate::projection::Query { as_of, scope });
            if let Some(m) = menu {
                if !r.menus.contains_key(m.as_str()) {
                    return Err(Failure::Usage(format!(
                        "--menu {m}: {}",
                        lang.pick("そのメニューは定義されていません", "no such menu")
                    )));
                }
            }
            let report = crate::report::Report::new(&r, &f, as_of, known_at);
            let x = crate::report::explanation(report, &f, menu.as_deref(), subject);
            match cli.format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&x).unwrap_or_default())
                }
                Format::Csv => {
                    let _ = std::io::stdout()
                        .lock()
                        .write_all(&crate::report::sheets::explanation_csv(&x, lang));
                }
                Format::Xlsx => {
                    let path = xlsx_path.unwrap_or(std::path::Path::new(""));
                    let bytes = crate::report::xlsx::explanation_workbook(&x, lang)
                        .map_err(|err| Failure::Usage(format!("{}: {err}", path.display())))?;
                    return write_workbook_file(path, &bytes, lang);
                }
                Format::Table => print!("{}", crate::report::render_explanation(&x, lang)),
            }
            Ok(0)
        }
    }
}

/// Parses `--known-at` (RFC 3339) into microseconds.
fn known_at_arg(known_at: Option<&str>, lang: Lang) -> Result<Option<i64>, Failure> {
    known_at
        .map(|t| {
            journal::chain::parse_timestamp(t).ok_or_else(|| {
                Failure::Usage(format!(
                    "--known-at {t}: {}",
                    lang.pick(
                        "RFC 3339 の時刻で指定してください（例 2025-03-05T09:00:00+09:00）",
                        "give an RFC 3339 time (e.g. 2025-03-05T09:00:00+09:00)"
                    )
                ))
            })
        })
        .transpose()
}

/// Parses `--as-of`, `--known-at` and `--cumulative`.
fn when(
    as_of: &str,
    known_at: Option<&str>,
    cumulative: bool,
    lang: Lang,
) -> Result<(crate::domain::Date, Option<i64>, crate::rules::time::Scope), Failure> {
    let as_of = crate::domain::Date::parse_iso(as_of).ok_or_else(|| {
        Failure::Usage(format!(
            "--as-of {as_of}: {}",
            lang.pick(
                "YYYY-MM-DD の存在する日付で指定してください",
                "give an existing date YYYY-MM-DD"
            )
        ))
    })?;
    let known_at = known_at_arg(known_at, lang)?;
    let scope = if cumulative {
        crate::rules::time::Scope::Cumulative
    } else {
        crate::rules::time::Scope::FiscalYear
    };
    Ok((as_of, known_at, scope))
}

fn print_checkpoints(all: &[crate::ledger::CheckpointInfo], format: Format, lang: Lang) {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(all).unwrap_or_default());
        return;
    }
    let head = match lang {
        Lang::Ja => ["seq", "記録時刻", "サイズ (バイト)", "この版の規則"],
        Lang::En => ["seq", "recorded at", "bytes", "current rules"],
    };
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|c| {
            vec![
                c.seq.to_string(),
                journal::chain::timestamp_text(c.recorded_at_us),
                c.bytes.to_string(),
                match (lang, c.current) {
                    (Lang::Ja, true) => "○".into(),
                    (Lang::Ja, false) => "×（使われない）".into(),
                    (Lang::En, true) => "yes".into(),
                    (Lang::En, false) => "no (ignored)".into(),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        println!(
            "{}",
            match lang {
                Lang::Ja => "チェックポイントはありません",
                Lang::En => "no checkpoints",
            }
        );
        return;
    }
    print!("{}", crate::table::render(&head, &rows));
}

fn token(root: &Path, action: &TokenAction, format: Format, lang: Lang) -> Result<u8, Failure> {
    use crate::server::tokens;
    let fail = |e: tokens::TokenError| Failure::Usage(format!("token: {e}"));
    match action {
        TokenAction::Create { role, project } => {
            let (t, secret) = tokens::create(root, *role, project.as_deref()).map_err(fail)?;
            match format {
                Format::Json => println!(
                    "{}",
                    json!({"id": t.id, "token": secret, "role": t.role, "project": t.project})
                ),
                _ => {
                    println!("{secret}");
                    eprintln!(
                        "{}",
                        match lang {
                            Lang::Ja => format!(
                                "トークン {} を作成しました（{}）。秘密の値は今だけ表示されます",
                                t.id,
                                t.role.as_str()
                            ),
                            Lang::En => format!(
                                "created token {} ({}); the secret is shown only now",
                                t.id,
                                t.role.as_str()
                            ),
                        }
                    );
                }
            }
        }
        TokenAction::Revoke { id } => {
            let t = tokens::revoke(root, id).map_err(fail)?;
            println!(
                "{}",
                match lang {
                    Lang::Ja => format!("トークン {} を失効させました", t.id),
                    Lang::En => format!("revoked token {}", t.id),
                }
            );
        }
        TokenAction::List => {
            let all = tokens::load(root).map_err(fail)?;
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else {
                let head = match lang {
                    Lang::Ja => ["ID", "役割", "事業", "作成"],
                    Lang::En => ["id", "role", "project", "created"],
                };
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.clone(),
                            t.role.as_str().into(),
                            t.project.clone().unwrap_or_else(|| "*".into()),
                            t.created_at.clone(),
                        ]
                    })
                    .collect();
                print!("{}", crate::table::render(&head, &rows));
            }
        }
    }
    Ok(0)
}

/// The `--output` a workbook needs.
fn xlsx_output(output: &Option<PathBuf>, lang: Lang) -> Result<&std::path::Path, Failure> {
    output.as_deref().ok_or_else(|| {
        Failure::Usage(
            lang.pick(
                "--format xlsx には --output FILE.xlsx が必要です",
                "--format xlsx needs --output FILE.xlsx",
            )
            .into(),
        )
    })
}

/// Writes a workbook's bytes and says so on stderr.
fn write_workbook_file(path: &std::path::Path, bytes: &[u8], lang: Lang) -> Result<u8, Failure> {
    std::fs::write(path, bytes).map_err(|source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    eprintln!(
        "{}",
        match lang {
            Lang::Ja => format!("ブックを書き出しました: {}", path.display()),
            Lang::En => format!("wrote the workbook {}", path.display()),
        }
    );
    Ok(0)
}

fn render_report(r: &crate::report::Report, format: Format, lang: Lang) -> Vec<u8> {
    match format {
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(r).unwrap_or_default();
            v.push(b'\n');
            v
        }
        Format::Csv => crate::report::render_csv(r),
        Format::Table | Format::Xlsx => crate::report::render_table(r, lang).into_bytes(),
    }
}

/// `--since`/`--until`: RFC 3339, or a date (the start of that day, or its
/// end for `--until`, in JST since councils work in Japan).
fn parse_time_arg(s: &str, end_of_day: bool, lang: Lang) -> Result<i64, Failure> {
    if let Some(us) = journal::chain::parse_timestamp(s) {
        return Ok(us);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = if end_of_day {
            "23:59:59.999999"
        } else {
            "00:00:00"
        };
        if let Some(us) = journal::chain::parse_timestamp(&format!("{d}T{t}+09:00")) {
            return Ok(us);
        }
    }
    Err(Failure::Usage(format!(
        "{s}: {}",
        lang.pick(
            "RFC 3339 の時刻か YYYY-MM-DD で指定してください",
            "give an RFC 3339 time or YYYY-MM-DD"
        )
    )))
}

fn read_input(file: &Path) -> Result<Vec<u8>, LedgerError> {
    let io_err = |source| LedgerError::Io {
        path: file.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(io::INPUT_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    } else {
        let f = std::fs::File::open(file).map_err(io_err)?;
        bytes = io::read_file(&f, io::INPUT_BYTES_MAX).map_err(io_err)?;
    }
    if bytes.len() as u64 > io::INPUT_BYTES_MAX {
        return Err(InputErrors::from(InputError::new(
            Location {
                file: file.display().to_string(),
                ..Default::default()
            },
            InputErrorKind::TooLarge {
                limit: format!("{} MiB", io::INPUT_BYTES_MAX >> 20),
            },
        ))
        .into());
    }
    Ok(bytes)
}

fn progress(len: u64, lang: Lang) -> indicatif::ProgressBar {
    // Drawn on stderr only when it is a terminal, so logs and pipes stay clean.
    if !std::io::stderr().is_terminal() || len < 10_000 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(lang.pick("読み込み中", "reading").to_string());
    pb
}

fn import(
    dir: &Path,
    file: &Path,
    check: bool,
    restore: bool,
    expect_seq: Option<u64>,
    format: Format,
    lang: Lang,
) -> Result<u8, Failure> {
    let name = file.display().to_string();
    let mut ledger = open(dir, if check { Access::Read } else { Access::Write })?;
    let fmt = if file == Path::new("-") {
        InputFormat::JsonLines
    } else {
        InputFormat::from_name(&name)
    };
    let mode = if restore { Mode::Restore } else { Mode::Append };
    let listed = |e: LedgerError| {
        if check {
            Failure::Listed(e)
        } else {
            Failure::Ledger(e)
        }
    };
    let (events, format_errors, input_len, pb) =
        if matches!(fmt, InputFormat::JsonLines) && file != Path::new("-") {
            // Read a piece at a time as it is parsed (never the whole file in
            // memory).
            let io_err = |source| LedgerError::Io {
                path: file.to_path_buf(),
                source,
            };
            let f = std::fs::File::open(file).map_err(io_err)?;
            let len = f.metadata().map_or(0, |m| m.len());
            let pb = progress(len, lang);
            let (events, errors) = io::read_jsonl(&f, len, &name, mode, io::INPUT_BYTES_MAX, |n| {
                pb.set_position(n)
            })
            .map_err(io_err)?
            // Too large: refused whole, as when read at once.
            .map_err(|whole| Failure::Ledger(whole.into()))?;
            (events, errors, len, pb)
        } else {
            let bytes = read_input(file)?;
            let pb = progress(bytes.len() as u64, lang);
            let (events, errors) = io::read_events_partial(&bytes, &name, fmt, mode);
            // The events own their data now; the input's bytes are not needed.
            (events, errors, bytes.len() as u64, pb)
        };
    if !format_errors.0.is_empty() {
        if !check {
            return Err(Failure::Ledger(format_errors.into()));
        }
        // List every error at once: also check the references of the lines
        // that are valid in themselves.
        let mut all = format_errors.0;
        let refs = if restore {
            ledger.restore(events, &name, true)
        } else {
            ledger.append(
                events,
                &name,
                AppendOptions {
                    expect_seq: None,
                    check_only: true,
                },
            )
        };
        if let Err(LedgerError::Input(e)) = refs {
            all.extend(e.0);
        }
        all.sort_by_key(|e| e.at.line);
        return Err(Failure::Listed(InputErrors(all).into()));
    }
    pb.set_position(input_len);
    pb.set_message(
        lang.pick("検証・書き込み中", "checking and writing")
            .to_string(),
    );
    let report = if restore {
        ledger.restore(events, &name, check)
    } else {
        ledger.append(
            events,
            &name,
            AppendOptions {
                expect_seq,
                check_only: check,
            },
        )
    }
    .map_err(listed)?;
    pb.finish_and_clear();
    print_append(&report, check, format, lang);
    Ok(0)
}

fn print_append(r: &AppendReport, check: bool, format: Format, lang: Lang) {
    let head = r.head.unwrap_or(journal::Head {
        next_seq: 1,
        hash: journal::GENESIS,
        last_recorded_us: 0,
    });
    match format {
        Format::Json => {
            let v = json!({
                "checked_only": check,
                "appended": r.appended.iter().map(|(line, seq, id)| json!({"line": line, "seq": seq, "id": id.to_string()})).collect::<Vec<_>>(),
                "already_recorded": r.already.iter().map(|(line, seq, id)| json!({"line": line, "seq": seq, "id": id.to_string()})).collect::<Vec<_>>(),
                "head": {"seq": head.events(), "hash": hash_text(&head.hash)},
            });
            println!("{v}");
        }
        Format::Table | Format::Csv | Format::Xlsx => {
            let seqs = match (r.appended.first(), r.appended.last()) {
                (Some(a), Some(b)) => format!(" (seq {}–{})", a.1, b.1),
                _ => String::new(),
            };
            if check {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => "検査OK: 誤りはありません（何も追加していません）".to_string(),
                        Lang::En => "check passed: no errors (nothing appended)".to_string(),
                    }
                );
            } else {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!(
                            "追加: {} 件{seqs}、記録済み（重複のため追加せず）: {} 件",
                            r.appended.len(),
                            r.already.len()
                        ),
                        Lang::En => format!(
                            "appended: {}{seqs}, already recorded: {}",
                            r.appended.len(),
                            r.already.len()
                        ),
                    }
                );
                for (line, seq, id) in &r.already {
                    println!(
                        "{}",
                        match lang {
                            Lang::Ja => format!("  {line}行目: id {id} は seq {seq} に記録済み"),
                            Lang::En =>
                                format!("  line {line}: id {id} already recorded at seq {seq}"),
                        }
                    );
                }
                println!(
                    "{}: seq {} {}",
                    lang.pick("台帳の先頭", "ledger head"),
                    head.events(),
                    hash_text(&head.hash)
                );
            }
        }
    }
}

/// Turns `--field value` pairs into a one-row CSV, so that `record` reads
/// its values exactly as CSV import does (dates in any accepted form,
/// はい/いいえ, `;`-separated lists).
fn record(
    dir: &Path,
    ty: &str,
    args: &[String],
    expect_seq: Option<u64>,
    format: Format,
    lang: Lang,
) -> Result<u8, Failure> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            return Err(Failure::Usage(format!(
                "{a}: {}",
                lang.pick(
                    "--項目名 値 の形で指定してください",
                    "expected --field value"
                )
            )));
        };
        let (k, v) = match name.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match it.next() {
                Some(v) => (name.to_string(), v.clone()),
                None => {
                    return Err(Failure::Usage(format!(
                        "--{name}: {}",
                        lang.pick("値がありません", "missing value")
                    )))
                }
            },
        };
        pairs.push((k.replace('-', "_"), v));
    }
    let file = "record";
    let obj = if ty == "correction" {
        // Corrections carry a whole event; they are given as JSON.
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::String(ty.into()));
        for (k, v) in pairs {
            let value = if k == "replacement" {
                serde_json::from_str(&v).map_err(|e| {
                    LedgerError::from(InputErrors::from(InputError::new(
                        Location {
                            file: file.into(),
                            line: None,
                            field: Some(k.clone()),
                        },
                        InputErrorKind::Syntax {
                            detail: e.to_string(),
                        },
                    )))
                })?
            } else {
                Value::String(v)
            };
            m.insert(k, value);
        }
        m
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = std::iter::once("type")
            .chain(pairs.iter().map(|(k, _)| k.as_str()))
            .collect();
        let row: Vec<&str> = std::iter::once(ty)
            .chain(pairs.iter().map(|(_, v)| v.as_str()))
            .collect();
        let text = w
            .write_record(&header)
            .and_then(|_| w.write_record(&row))
            .map_err(|e| e.to_string())
            .and_then(|_| w.into_inner().map_err(|e| e.to_string()))
            .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
            .map_err(Failure::Usage)?;
        let unlocate = |mut errs: InputErrors| {
            for e in &mut errs.0 {
                e.at.file = file.into();
                e.at.line = None;
            }
            LedgerError::from(errs)
        };
        let mut objs = io::csv::csv_to_objects(&text, file).map_err(unlocate)?;
        objs.pop()
            .map(|(_, o)| o)
            .ok_or_else(|| Failure::Usage("no event".into()))?
    };
    let event = io::parse::parse_object(
        obj,
        &Location {
            file: file.into(),
            line: None,
            field: None,
        },
        Mode::Append,
        Vec::new(),
    )
    .map_err(|errs| LedgerError::from(InputErrors(errs)))?;
    let mut ledger = open(dir, Access::Write)?;
    let report = ledger.append(
        vec![event],
        file,
        AppendOptions {
            expect_seq,
            check_only: false,
        },
    )?;
    match format {
        Format::Json => print_append(&report, false, format, lang),
        _ => {
            if let Some((_, seq, id)) = report.appended.first() {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!("記録しました: seq {seq} id {id}"),
                        Lang::En => format!("recorded: seq {seq} id {id}"),
                    }
                );
            } else if let Some((_, seq, id)) = report.already.first() {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!("記録済みです（追加せず）: seq {seq} id {id}"),
                        Lang::En => format!("already recorded (not appended): seq {seq} id {id}"),
                    }
                );
            }
        }
    }
    Ok(0)
}

fn verify(ledger: &Ledger, format: Format, lang: Lang) -> Result<u8, Failure> {
    let v = ledger.verify();
    // Files no event comes from: named, not a failure (no figure depends
    // on them; the next import of a chunk file's size removes those an
    // interrupted one left).
    let stray = match &v {
        Verification::Intact { .. } => ledger.unreferenced_chunk_files()?,
        Verification::Broken { .. } => Vec::new(),
    };
    match (&v, format) {
        (Verification::Intact { events, head }, Format::Json) => println!(
            "{}",
            json!({
                "ok": true,
                "events": events,
                "head": hash_text(head),
                "unreferenced_files": stray,
            })
        ),
        (Verification::Broken { seq, detail }, Format::Json) => println!(
            "{}",
            json!({"ok": false, "first_bad_seq": seq, "detail": detail})
        ),
        (Verification::Intact { events, head }, _) => {
            println!(
                "{}",
                match lang {
                    Lang::Ja => format!(
                        "検証OK: {events} 件、ハッシュチェーンは連続しています。先頭 {}",
                        hash_text(head)
                    ),
                    Lang::En => format!(
                        "intact: {events} events, the hash chain holds; head {}",
                        hash_text(head)
                    ),
                }
            );
            for name in &stray {
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!(
                            "注意: chunks/{name} はどのイベントからも参照されていません（中断された取り込みの残りと思われます。集計には使われません）"
                        ),
                        Lang::En => format!(
                            "note: chunks/{name} is referred to by no event (likely left by an interrupted import; no figure reads it)"
                        ),
                    }
                );
            }
        }
        (Verification::Broken { seq, detail }, _) => eprintln!(
            "{}",
            match lang {
                Lang::Ja => format!("jisseki: 検証失敗: seq {seq} が壊れています（{detail}）"),
                Lang::En => format!("jisseki: verification failed at seq {seq}: {detail}"),
            }
        ),
    }
    Ok(match v {
        Verification::Intact { .. } => 0,
        Verification::Broken { .. } => 1,
    })
}

/// The Japanese name of an event type, for tables.
pub fn type_label(ty: &str, lang: Lang) -> &str {
    if lang == Lang::En {
        return ty;
    }
    match ty {
        "project_defined" => "事業定義",
        "menu_defined" => "メニュー定義",
        "targets_revised" => "目標変更",
        "session_held" => "講習会等開催",
        "attendance" => "参加",
        "hire" => "就職",
        "conversion" => "正社員転換",
        "startup" => "創業",
        "survey_response" => "アンケート回答",
        "plan_approved" => "改善計画承認",
        "retraction" => "取消",
        "correction" => "訂正",
        other => other,
    }
}

fn print_log(events: &[journal::RecordedEvent], format: Format, lang: Lang) {
    let row = |e: &journal::RecordedEvent| -> Vec<String> {
        let subject = e
            .body
            .person()
            .map(|p| p.to_string())
            .into_iter()
            .chain(e.body.establishment().map(|x| x.to_string()))
            .collect::<Vec<_>>()
            .join(" / ");
        let menus = e
            .body
            .menus()
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(";");
        let target = e.body.fixes().map(|t| t.to_string()).unwrap_or_default();
        vec![
            e.seq.to_string(),
            journal::chain::timestamp_text(e.recorded_at_us),
            type_label(e.body.type_name(), lang).to_string(),
            e.body.date().map(|d| d.to_string()).unwrap_or_default(),
            menus,
            subject,
            e.id.to_string(),
            target,
        ]
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Write errors on stdout (a closed pipe) end the listing quietly.
    let _ = match format {
        Format::Json => events
            .iter()
            .try_for_each(|e| writeln!(out, "{}", Value::Object(e.export_object()))),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let _ = w.write_record([
                "seq",
                "recorded_at",
                "type",
                "date",
                "menus",
                "subject",
                "id",
                "target",
            ]);
            for e in events {
                let mut r = row(e);
                r[2] = e.body.type_name().to_string();
                let _ = w.write_record(&r);
            }
            w.flush()
        }
        Format::Table | Format::Xlsx => {
            let header = match lang {
                Lang::Ja => [
                    "seq",
                    "記録日時 (UTC)",
                    "種類",
                    "日付",
                    "メニュー",
                    "参加者 / 事業所",
                    "id",
                    "対象",
                ],
                Lang::En => [
                    "seq",
                    "recorded at (UTC)",
                    "type",
                    "date",
                    "menus",
                    "person / establishment",
                    "id",
                    "target",
                ],
            };
            let rows: Vec<Vec<String>> = events.iter().map(row).collect();
            write!(out, "{}", crate::table::render(&header, &rows))
        }
    };
}

fn demo(seed: u64, keep: Option<&Path>, lang: Lang) -> Result<u8, Failure> {
    // The demo's directory stays, so that its workbook and chart can be
    // opened after it ends.
    let dir = match keep {
        Some(d) => d.to_path_buf(),
        None => tempfile::Builder::new()
            .prefix("jisseki-demo-")
            .tempdir()
            .map_err(|source| LedgerError::Io {
                path: std::env::temp_dir(),
                source,
            })?
            .keep()
            .join("ledger"),
    };
    Ledger::init(&dir)?;
    let cfg = crate::synth::SynthConfig {
        seed,
        ..Default::default()
    };
    let jsonl = crate::synth::generate_jsonl(&cfg);
    let events = io::read_events(
        jsonl.as_bytes(),
        "demo.jsonl",
        InputFormat::JsonLines,
        Mode::Append,
    )
    .map_err(LedgerError::from)?;
    let mut ledger = Ledger::open(&dir, Access::Write, clock()?)?;
    let report = ledger.append(events, "demo.jsonl", AppendOptions::default())?;
    let all = ledger.log(&LogFilter::default())?;
    let counts = crate::ledger::count_by_type(&all);
    let persons: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|e| e.body.person().map(|p| p.as_str()))
        .collect();
    let ests: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|e| e.body.establishment().map(|p| p.as_str()))
        .collect();
    let project = all.iter().find_map(|e| match &e.body {
        crate::domain::EventBody::ProjectDefined(p) => Some(p.clone()),
        _ => None,
    });
    let mut out = String::new();
    if let Some(p) = &project {
        out.push_str(&match lang {
            Lang::Ja => format!(
                "デモ台帳: {}（{}、{} から {} 年間）\n",
                p.name, p.project, p.contract_start, p.years.0
            ),
            Lang::En => format!(
                "demo ledger: {} ({}, from {} for {} years)\n",
                p.name, p.project, p.contract_start, p.years.0
            ),
        });
    }
    out.push_str(&match lang {
        Lang::Ja => format!("場所: {}\n", dir.display()),
        Lang::En => format!("at: {}\n", dir.display()),
    });
    out.push_str(&match lang {
        Lang::Ja => format!(
            "イベント {} 件を追加、参加者 {} 人、事業所 {} 社\n\n",
            report.appended.len(),
            persons.len(),
            ests.len()
        ),
        Lang::En => format!(
            "appended {} events; {} persons, {} establishments\n\n",
            report.appended.len(),
            persons.len(),
            ests.len()
        ),
    });
    // In the order of CONTRACT.md §2: definitions first, then what happened.
    let rows: Vec<Vec<String>> = crate::domain::EVENT_TYPES
        .iter()
        .filter_map(|t| {
            counts
                .get(t)
                .map(|n| vec![type_label(t, lang).to_string(), n.to_string()])
        })
        .collect();
    out.push_str(&crate::table::render(
        &[lang.pick("種類", "type"), lang.pick("件数", "events")],
        &rows,
    ));
    out.push('\n');
    match ledger.verify() {
        Verification::Intact { events, head } => out.push_str(&match lang {
            Lang::Ja => format!(
                "検証OK: {events} 件のハッシュチェーンは連続しています\n先頭ハッシュ: {}\n",
                hash_text(&head)
            ),
            Lang::En => format!(
                "verified: the hash chain of {events} events holds\nhead: {}\n",
                hash_text(&head)
            ),
        }),
        Verification::Broken { seq, detail } => {
            return Err(Failure::Usage(format!(
                "demo ledger failed verification at seq {seq}: {detail}"
            )));
        }
    }
    // The council's report as of its last February: the mid-term figures
    // of its latest year (E-1 uses the end of February in year 1).
    let last = all.iter().filter_map(|e| e.body.date()).max();
    if let Some(last) = last {
        let year = if chrono::Datelike::month(&last.0) >= 3 {
            chrono::Datelike::year(&last.0)
        } else {
            chrono::Datelike::year(&last.0) - 1
        };
        let feb_end = chrono::NaiveDate::from_ymd_opt(year, 3, 1)
            .and_then(|d| d.pred_opt())
            .and_then(crate::domain::Date::new);
        if let Some(as_of) = feb_end {
            let report = ledger.report(as_of, None, crate::rules::time::Scope::FiscalYear)?;
            out.push('\n');
            out.push_str(&crate::report::render_table(&report, lang));
        }
    }
    // And the council's year-1 judgement (E-1: as of the end of February).
    let resolved = ledger.resolved(None)?;
    if let Ok(e) = crate::evaluate::evaluate(&resolved, 1, lang) {
        out.push('\n');
        out.push_str(&crate::evaluate::render(&e, lang));
        // The workbook and the chart beside the ledger.
        let beside = dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let book = beside.join("demo-judgement.xlsx");
        let chart = beside.join("demo-chart.svg");
        crate::report::xlsx::write_workbook(&resolved, &e, &book)
            .map_err(|err| Failure::Usage(format!("{}: {err}", book.display())))?;
        let series = crate::report::chart::series(&resolved, e.cutoff);
        std::fs::write(
            &chart,
            crate::report::chart::svg(&series, Some(e.cutoff), lang),
        )
        .map_err(|source| LedgerError::Io {
            path: chart.clone(),
            source,
        })?;
        out.push_str(&match lang {
            Lang::Ja => format!(
                "\nブック: {}\nグラフ: {}\n",
                book.display(),
                chart.display()
            ),
            Lang::En => format!(
                "\nworkbook: {}\nchart: {}\n",
                book.display(),
                chart.display()
            ),
        });
    }
    {
        out.push_str(&match lang {
            Lang::Ja => format!("\n次に試す: jisseki log --ledger {0} --type correction\n          jisseki export --ledger {0} > export.jsonl\n", dir.display()),
            Lang::En => format!("\nnext: jisseki log --ledger {0} --type correction\n      jisseki export --ledger {0} > export.jsonl\n", dir.display()),
        });
    }
    print!("{out}");
    Ok(0)
}
