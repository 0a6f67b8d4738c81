// jisseki — the little JavaScript the page needs: keyboard entry of a
// roster (Enter adds a row carrying the values of the row above), checks
// before anything is sent, and the CSV upload's preview. Every page works
// as a plain form where this does not run, but the upload.
(function () {
  "use strict";
  var ja = document.documentElement.lang !== "en";
  function t(jaText, enText) { return ja ? jaText : enText; }

  function renumber(tbody) {
    var rows = tbody.querySelectorAll("tr.row");
    rows.forEach(function (tr, i) {
      tr.dataset.row = String(i);
      tr.querySelector("td.num").textContent = String(i + 1);
      tr.querySelectorAll("input[type=checkbox]").forEach(function (cb) {
        cb.name = cb.name.replace(/_\d+$/, "_" + i);
      });
      var person = tr.querySelector("input[name=person]");
      person.setAttribute("aria-label", t("参加者ID ", "Participant ID ") + (i + 1));
    });
  }

  function addRow(tbody, focus) {
    var rows = tbody.querySelectorAll("tr.row");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.classList.remove("invalid");
    // Carry the row above: selects and checkboxes keep their values; the
    // ID is new.
    var from = last.querySelectorAll("select, input");
    var to = copy.querySelectorAll("select, input");
    to.forEach(function (el, k) {
      if (el.type === "checkbox") { el.checked = from[k].checked; }
      else if (el.tagName === "SELECT") { el.value = from[k].value; }
      else if (el.name === "person") { el.value = ""; }
      else { el.value = from[k].value; }
    });
    var next = last.nextElementSibling;
    while (next && next.classList.contains("row-error")) { next = next.nextElementSibling; }
    tbody.insertBefore(copy, next);
    renumber(tbody);
    if (focus) { copy.querySelector("input[name=person]").focus(); }
    return copy;
  }

  function clearErrors(tbody) {
    tbody.querySelectorAll("tr.row-error[data-client]").forEach(function (tr) { tr.remove(); });
    tbody.querySelectorAll("tr.row").forEach(function (tr) { tr.classList.remove("invalid"); });
  }

  function showError(tr, messages) {
    tr.classList.add("invalid");
    var err = document.createElement("tr");
    err.className = "row-error";
    err.dataset.client = "1";
    var pad = document.createElement("td");
    var cell = document.createElement("td");
    cell.colSpan = 10;
    cell.setAttribute("role", "alert");
    cell.textContent = messages.join(" / ");
    err.appendChild(pad);
    err.appendChild(cell);
    tr.parentNode.insertBefore(err, tr.nextSibling);
  }

  // The checks the ledger would make on each row, before anything is sent.
  function validate(form) {
    var tbody = form.querySelector("#rows");
    clearErrors(tbody);
    // Server errors from the last try are replaced by this check.
    tbody.querySelectorAll("tr.row-error").forEach(function (tr) { tr.remove(); });
    var bad = 0, filled = 0, seen = {};
    tbody.querySelectorAll("tr.row").forEach(function (tr) {
      var id = tr.querySelector("input[name=person]").value.trim();
      var est = tr.querySelector("input[name=establishment]").value.trim();
      var role = tr.querySelector("select[name=role]").value;
      var school = tr.querySelector("select[name=student_school]").value;
      var year = tr.querySelector("input[name=student_graduating_year]").value.trim();
      var msgs = [];
      if (id === "" && est === "") { return; }
      filled++;
      if (/\s/.test(id) || id.length > 64) { msgs.push(t("参加者ID: 空白を含まない64文字以内で入力してください", "Participant ID: up to 64 characters, no spaces")); }
      if (/\s/.test(est) || est.length > 64) { msgs.push(t("事業所ID: 空白を含まない64文字以内で入力してください", "Establishment ID: up to 64 characters, no spaces")); }
      if (role === "establishment" && est === "") { msgs.push(t("事業所ID: 区分が事業所の行には事業所IDが必要です", "Establishment ID: needed for an establishment's attendance")); }
      if (id !== "" && seen[id]) { msgs.push(t("参加者ID: " + seen[id] + "行目と重複しています", "Participant ID: repeats row " + seen[id])); }
      if (id !== "") { seen[id] = seen[id] || String(Number(tr.dataset.row) + 1); }
      if (school !== "" && !/^\d{4}$/.test(year)) { msgs.push(t("卒業年度: 学生は卒業年度（例 2025）を入力してください", "Graduating FY: give the year (e.g. 2025) for a student")); }
      if (msgs.length) { bad++; showError(tr, msgs); }
    });
    if (!form.querySelector("#date").value) { bad++; }
    if (filled === 0) {
      bad++;
      var first = tbody.querySelector("tr.row");
      showError(first, [t("参加者IDを1行以上入力してください", "Enter at least one participant ID")]);
    }
    return bad === 0;
  }

  var roster = document.getElementById("roster");
  if (roster) {
    var tbody = roster.querySelector("#rows");
    document.getElementById("add-row").addEventListener("click", function () { addRow(tbody, true); });
    tbody.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.target.tagName === "BUTTON") { return; }
      ev.preventDefault();
      var tr = ev.target.closest("tr.row");
      var inputs = tr.querySelectorAll("input, select");
      var isLast = ev.target === inputs[inputs.length - 1];
      var rows = tbody.querySelectorAll("tr.row");
      if (isLast || ev.target.name === "person" && tr === rows[rows.length - 1] && ev.shiftKey === false && ev.ctrlKey) {
        addRow(tbody, true);
      } else if (ev.ctrlKey) {
        if (validate(roster)) { roster.submit(); }
      } else {
        // Enter moves on, as Tab does.
        var all = Array.prototype.slice.call(roster.querySelectorAll("input:not([type=hidden]), select, button"));
        var at = all.indexOf(ev.target);
        if (at >= 0 && at + 1 < all.length) { all[at + 1].focus(); }
      }
    });
    roster.addEventListener("submit", function (ev) {
      if (!validate(roster)) {
        ev.preventDefault();
        var firstBad = roster.querySelector("tr.invalid input[name=person]");
        if (firstBad) { firstBad.focus(); }
      } else {
        roster.querySelector("#save").disabled = true;
      }
    });
  }

  // Long operations show progress: any form sent says so until the next
  // page arrives (a report of a large ledger can take seconds).
  document.querySelectorAll("form:not([data-upload])").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) { return; }
      var note = document.getElementById("busy");
      if (!note) {
        note = document.createElement("p");
        note.id = "busy";
        note.className = "progress";
        note.setAttribute("role", "status");
        note.setAttribute("aria-live", "polite");
        document.querySelector("main").appendChild(note);
      }
      note.textContent = t("処理中…", "Working…");
      document.body.setAttribute("aria-busy", "true");
    });
  });

  // The upload: the file's bytes go as they are (Shift_JIS stays
  // Shift_JIS); the answer is the preview page.
  var upload = document.querySelector("form[data-upload]");
  if (upload) {
    upload.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = upload.querySelector("input[type=file]").files[0];
      if (!file) { return; }
      var progress = upload.querySelector(".progress");
      progress.hidden = false;
      var lang = ja ? "" : "&lang=en";
      fetch(location.pathname + "?name=" + encodeURIComponent(file.name) + lang, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: file,
        credentials: "same-origin"
      }).then(function (r) { return r.text(); }).then(function (html) {
        document.open(); document.write(html); document.close();
      }).catch(function () {
        progress.textContent = t("送信できませんでした。もう一度お試しください（何も保存していません）。", "Could not send; try again (nothing was saved).");
      });
    });
  }
})();
