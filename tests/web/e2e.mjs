// End-to-end tests of jisseki's web page in a real browser (Debian's
// Chromium, driven by playwright-core). Run by tests/web.rs, which starts
// the server and passes: JISSEKI_BASE, JISSEKI_TOKEN (a council token for
// project "kushiro"), JISSEKI_OTHER (a project that token may not see),
// JISSEKI_SJIS_BAD and JISSEKI_SJIS_GOOD (Shift_JIS CSV files) and
// JISSEKI_SHOTS (where to keep screenshots).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.JISSEKI_BASE;
const token = process.env.JISSEKI_TOKEN;
const shots = process.env.JISSEKI_SHOTS;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.JISSEKI_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: "ja-JP" });
const step = async (name, f) => {
  try {
    await f();
    console.log("ok   " + name);
  } catch (e) {
    await page.screenshot({ path: `${shots}/failed-${name.replace(/\W+/g, "-")}.png`, fullPage: true });
    console.log("FAIL " + name);
    throw e;
  }
};

await step("sign in", async () => {
  await page.goto(base + "/ui/p/kushiro");
  assert.match(page.url(), /\/ui\/login$/, "signed out: the login page");
  await page.getByLabel("アクセストークン").fill("jsk_wrong");
  await page.getByRole("button", { name: "サインイン" }).click();
  await page.locator("#login-error").waitFor();
  await page.getByLabel("アクセストークン").fill(token);
  await page.getByRole("button", { name: "サインイン" }).click();
  await page.waitForURL(/\/ui\/p\/kushiro/);
  await page.getByRole("heading", { name: /ダッシュボード/ }).waitFor();
  const cookies = await page.context().cookies();
  const c = cookies.find((c) => c.name === "__Host-jisseki_token");
  assert.ok(c && c.httpOnly && c.secure && c.sameSite === "Strict", JSON.stringify(c));
});

await step("enter a roster of 10 with one invalid row, fix it, save", async () => {
  await page.goto(base + "/ui/p/kushiro/roster");
  await page.selectOption("#menu", "B-01");
  await page.fill("#date", "2024-11-20");
  // By keyboard: an ID, then Enter on the row's last field adds a row that
  // carries the row above.
  const ids = ["W-01", "W-02", "W-03", "W 04", "W-05", "W-06", "W-07", "W-08", "W-09", "W-10"];
  for (let i = 0; i < ids.length; i++) {
    const row = page.locator("tr.row").nth(i);
    await row.locator("input[name=person]").fill(ids[i]);
    // Intent confirmed is off by default (CONTRACT §2); ticked on the
    // first row, the rows added after carry it.
    if (i === 0) await row.locator("input[name=intent_confirmed_0]").check();
    if (i < ids.length - 1) {
      await row.locator("input[name=student_graduating_year]").focus();
      await page.keyboard.press("Enter");
      await page.locator("tr.row").nth(i + 1).waitFor();
    }
  }
  assert.equal(await page.locator("tr.row").count(), 10);
  // The new rows carried the role and residence of the row above.
  assert.equal(await page.locator("tr.row").nth(9).locator("select[name=residence]").inputValue(), "in_region");
  assert.ok(await page.locator("tr.row").nth(9).locator("input[name=intent_confirmed_9]").isChecked());
  await page.screenshot({ path: `${shots}/roster.png`, fullPage: true });
  await page.click("#save");
  // "W 04" is refused before anything is sent.
  const err = page.locator("tr.row-error");
  await err.first().waitFor();
  assert.equal(await err.count(), 1);
  assert.match(await err.first().innerText(), /参加者ID/);
  assert.match(page.url(), /\/roster$/);
  await page.locator("tr.row").nth(3).locator("input[name=person]").fill("W-04");
  const sent = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/roster"));
  await page.click("#save");
  const request = await sent;
  await page.locator("#saved").waitFor();
  assert.match(await page.locator("#saved").innerText(), /保存しました: 10 件/);
  // What each row counts as.
  const verdicts = await page.locator("table.explain tbody tr").allInnerTexts();
  assert.equal(verdicts.length, 10);
  for (const v of verdicts) assert.match(v, /計上 O-BC1/);
  await page.screenshot({ path: `${shots}/roster-saved.png`, fullPage: true });
  // The same form sent again (a retry after a network error): nothing
  // appended twice.
  const again = await page.context().request.post(request.url(), {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    data: request.postData(),
  });
  assert.equal(again.status(), 200);
  assert.match(await again.text(), /保存しました: 0 件（既に保存済み 10 件）/);
});

await step("an A roster: an establishment's attendance, and a freelance start-up hopeful", async () => {
  await page.goto(base + "/ui/p/kushiro/roster");
  await page.selectOption("#menu", "A-01");
  await page.fill("#date", "2024-11-05");
  const first = page.locator("tr.row").nth(0);
  await first.locator("input[name=establishment]").fill("E-77");
  await first.locator("select[name=role]").selectOption("establishment");
  await page.click("#add-row");
  const second = page.locator("tr.row").nth(1);
  await second.locator("input[name=establishment]").fill("");
  await second.locator("input[name=person]").fill("H-1");
  await second.locator("select[name=role]").selectOption("startup_hopeful");
  await second.locator("input[name=intent_confirmed_1]").check();
  await second.locator("input[name=freelance_1]").check();
  await page.click("#save");
  await page.locator("#saved").waitFor();
  const verdicts = await page.locator("table.explain tbody tr").allInnerTexts();
  assert.match(verdicts[0], /E-77[\s\S]*計上 O-A1/);
  assert.match(verdicts[1], /H-1[\s\S]*除外 XO-4/);
});

await step("record a hire", async () => {
  await page.goto(base + "/ui/p/kushiro/outcome?kind=hire");
  await page.getByLabel("参加者ID").fill("W-01");
  await page.getByLabel("内定日").fill("2024-12-10");
  await page.getByLabel("就職日").fill("2025-01-06");
  await page.getByLabel("週の所定労働時間").fill("40");
  await page.getByLabel("計上するメニュー（任意）").fill("B-01");
  await page.getByRole("button", { name: "保存" }).click();
  await page.locator("#saved").waitFor();
  // Without a start date: saved, with a warning (not a refusal).
  await page.getByLabel("参加者ID").fill("W-02");
  await page.getByLabel("週の所定労働時間").fill("30");
  await page.getByRole("button", { name: "保存" }).click();
  await page.locator("#saved").waitFor();
  assert.match(await page.locator("p.warning").first().innerText(), /就職日が未定/);
  // Before the person's first attendance (2024-11-20): saved, with a warning.
  await page.getByLabel("参加者ID").fill("W-05");
  await page.getByLabel("就職日").fill("2024-06-03");
  await page.getByLabel("週の所定労働時間").fill("40");
  await page.getByRole("button", { name: "保存" }).click();
  await page.locator("#saved").waitFor();
  assert.match((await page.locator("p.warning").allInnerTexts()).join("\n"), /初回参加より前/);
  // Refused: hours missing; nothing saved, the form keeps its values.
  await page.getByLabel("参加者ID").fill("W-03");
  await page.locator("#f-weekly_hours").evaluate((el) => el.removeAttribute("required"));
  await page.getByRole("button", { name: "保存" }).click();
  await page.locator("#outcome-errors").waitFor();
  assert.equal(await page.getByLabel("参加者ID").inputValue(), "W-03");
});

await step("upload a Shift_JIS CSV with an error, then a good one", async () => {
  await page.goto(base + "/ui/p/kushiro/upload");
  await page.setInputFiles("#file", process.env.JISSEKI_SJIS_BAD);
  await page.getByRole("button", { name: "内容を確認" }).click();
  await page.locator("#preview-errors").waitFor();
  assert.match(await page.locator("#upload-encoding").innerText(), /ShiftJis|Shift/i);
  const rows = await page.locator("table.errors tbody tr").allInnerTexts();
  assert.equal(rows.length, 1, rows.join("\n"));
  assert.match(rows[0], /^3\s+date/);
  await page.goto(base + "/ui/p/kushiro/upload");
  await page.setInputFiles("#file", process.env.JISSEKI_SJIS_GOOD);
  await page.getByRole("button", { name: "内容を確認" }).click();
  await page.locator("#preview-ok").waitFor();
  assert.equal(await page.locator("#upload-rows").innerText(), "2");
  const sent = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/upload/confirm"));
  await page.click("#confirm");
  const request = await sent;
  await page.locator("#uploaded").waitFor();
  assert.match(await page.locator("#uploaded").innerText(), /保存しました: 2 件/);
  // Confirmed again (a retry after a network error): nothing twice.
  const again = await page.context().request.post(request.url(), {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    data: request.postData(),
  });
  assert.match(await again.text(), /保存しました: 0 件（既に保存済み 2 件）/);
});

await step("open the dashboard and click a figure through to its events", async () => {
  await page.goto(base + "/ui/p/kushiro?as_of=2025-03-31");
  await page.locator("table.figures").waitFor();
  await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
  const output = page.locator("a[data-figure=output][data-menu=B-01]");
  const shown = Number(await output.innerText());
  assert.ok(shown >= 10, `B-01 output ${shown}`);
  // The project's total, too, opens every menu's subjects.
  const total = Number(await page.locator("a[data-figure=total-output]").innerText());
  await page.locator("a[data-figure=total-output]").click();
  await page.waitForURL(/\/explain\?as_of=/);
  assert.equal(await page.locator("table.subjects tbody tr .counted").count(), total);
  await page.goBack();
  await output.click();
  await page.waitForURL(/\/explain\?menu=B-01/);
  const subjects = page.locator("table.subjects tbody tr");
  const counted = await page.locator("table.subjects tbody tr .counted").count();
  assert.equal(counted, shown, "the figure is the number of subjects counted");
  const w01 = subjects.filter({ hasText: "W-01" });
  assert.match(await w01.innerText(), /計上 O-BC1/);
  await w01.locator("td").last().locator("a").first().click();
  await page.waitForURL(/\/log\?after_seq=/);
  const line = await page.locator("table.log tbody tr").first().innerText();
  assert.match(line, /attendance/);
  assert.match(line, /W-01/);
});

await step("the plan check and the region's eligibility, read-only for a council", async () => {
  await page.goto(base + "/ui/p/kushiro");
  await page.getByRole("link", { name: "計画・地域要件" }).click();
  await page.waitForURL(/\/plan$/);
  const plan = await page.locator("#plan-check").innerText();
  assert.match(plan, /P-3/);
  assert.match(plan, /アウトカム1人当たり/);
  const elig = await page.locator("#eligibility").innerText();
  assert.match(elig, /ケース \d/);
  assert.equal(await page.locator("main form[method=post]").count(), 0, "nothing to write here");
});

await step("a council token is refused on another project's pages", async () => {
  for (const path of ["", "/roster", "/report", "/log", "/explain?menu=B-01"]) {
    const r = await page.goto(base + "/ui/p/" + process.env.JISSEKI_OTHER + path);
    assert.equal(r.status(), 403, path);
  }
  const r = await page.goto(base + "/v1/projects/" + process.env.JISSEKI_OTHER + "/export");
  assert.equal(r.status(), 403);
});

await step("every asset comes from the server itself, the Japanese font included", async () => {
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
  await page.goto(base + "/ui/p/kushiro?as_of=2025-03-31");
  await page.goto(base + "/ui/p/kushiro/roster");
  assert.deepEqual(outside, [], "nothing from elsewhere");
  const font = await page.context().request.get(base + "/ui/assets/ja.woff2");
  assert.equal(font.status(), 200);
  assert.equal(font.headers()["content-type"], "font/woff2");
  assert.equal((await font.body()).subarray(0, 4).toString(), "wOF2");
  // The page can render Japanese with it alone.
  const ok = await page.evaluate(async () => {
    await document.fonts.load('16px "jisseki-ja"', "出席簿の入力");
    return document.fonts.check('16px "jisseki-ja"', "出席簿の入力");
  });
  assert.ok(ok, "the embedded font loads and covers the page's text");
});

await step("sign out", async () => {
  await page.goto(base + "/ui/p/kushiro");
  await page.getByRole("button", { name: "サインアウト" }).click();
  await page.waitForURL(/\/ui\/login$/);
  await page.goto(base + "/ui/p/kushiro");
  assert.match(page.url(), /\/ui\/login$/);
});

await step("auditor: read-only views, report, judgement, verify, downloads", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ja-JP" });
  const p2 = await ctx.newPage();
  await p2.goto(base + "/ui/login");
  await p2.getByLabel("アクセストークン").fill(process.env.JISSEKI_AUDITOR);
  await p2.getByRole("button", { name: "サインイン" }).click();
  await p2.waitForURL(/\/ui\/p\/kushiro/);
  // No entry pages for an auditor.
  assert.equal(await p2.getByRole("link", { name: "出席簿の入力" }).count(), 0);
  assert.equal((await p2.goto(base + "/ui/p/kushiro/roster")).status(), 403);
  // The report and judgement as of the year-1 cutoff, as known now.
  await p2.goto(base + "/ui/p/kushiro/report?as_of=2025-02-28&year=1");
  const report = await p2.locator("main").innerText();
  assert.match(report, /中間評価/);
  assert.match(report, /B-01/);
  // Known before anything was recorded: no menu yet.
  await p2.goto(base + "/ui/p/kushiro/report?as_of=2025-02-28&known_at=2000-01-01T00:00:00Z");
  assert.doesNotMatch(await p2.locator("main section").first().innerText(), /B-01/);
  assert.equal(await p2.locator("input[name=known_at]").inputValue(), "2000-01-01T00:00:00Z");
  // A parameter that is not a number: a page that says so, not JSON.
  const bad = await p2.goto(base + "/ui/p/kushiro/report?year=x");
  assert.equal(bad.status(), 400);
  assert.match(await p2.locator("#request-error").innerText(), /400/);
  await p2.goto(base + "/ui/p/kushiro/verify");
  assert.match(await p2.locator("#verify-result").innerText(), /改ざんはありません/);
  // A download, read with the sign-in cookie.
  const href = await (await ctx.newPage()).goto(base + "/ui/p/kushiro/report?as_of=2025-02-28").then(async (r) => {
    return base + (await r.frame().locator("a[download]").first().getAttribute("href"));
  });
  const xlsx = await ctx.request.get(href);
  assert.equal(xlsx.status(), 200);
  assert.match(xlsx.headers()["content-type"], /spreadsheetml/);
  const bytes = await xlsx.body();
  assert.equal(bytes.subarray(0, 2).toString(), "PK");
  // The log, filtered.
  await p2.goto(base + "/ui/p/kushiro/log?type=hire");
  const rows = await p2.locator("table.log tbody tr").allInnerTexts();
  assert.ok(rows.length >= 2 && rows.every((r) => /hire/.test(r)), rows.join("\n"));
  await ctx.close();
});

await step("readable at 200 % zoom and on a tablet", async () => {
  for (const [name, viewport, scale] of [["zoom200", { width: 640, height: 900 }, 2], ["tablet", { width: 768, height: 1024 }, 1]]) {
    const ctx = await browser.newContext({ viewport, deviceScaleFactor: scale, locale: "ja-JP" });
    const p3 = await ctx.newPage();
    await p3.goto(base + "/ui/login");
    await p3.getByLabel("アクセストークン").fill(token);
    await p3.getByRole("button", { name: "サインイン" }).click();
    await p3.waitForURL(/\/ui\/p\/kushiro/);
    for (const path of ["/ui/p/kushiro?as_of=2025-03-31", "/ui/p/kushiro/roster"]) {
      await p3.goto(base + path);
      const overflow = await p3.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${name} ${path}: the page is ${overflow}px wider than the window`);
    }
    await p3.goto(base + "/ui/p/kushiro?as_of=2025-03-31");
    await p3.screenshot({ path: `${shots}/dashboard-${name}.png`, fullPage: true });
    await ctx.close();
  }
});

await browser.close();
console.log("all passed");
