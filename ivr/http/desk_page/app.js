// The desk page: an agent's own desk or a supervisor's wallboard, kept live by the daemon's
// server-sent events (GET /api/events). Plain JS, no build step. Everything shown is set with
// textContent, never as HTML: names, topics and notes come from callers and staff.
"use strict";

const I18N = {
  en: {
    title: "Desk", offline: "offline", live: "live", sign_in: "Sign in", name: "Name",
    password: "Password", sign_out_page: "Sign out of the page", my_state: "My state",
    unregistered: "phone not registered", go_available: "Available", pause: "Pause",
    sign_out: "Sign out", reason_break: "Break", reason_lunch: "Lunch",
    reason_training: "Training", reason_meeting: "Meeting",
    disposition: "What came of the call?", my_call: "My call", no_call: "No call right now.",
    caller: "Caller", topic: "Topic", language: "Language", queue: "Queue", waited: "Waited",
    talking: "Talking", transferred_by: "Transferred by", note: "Note for the next agent",
    save_note: "Save note", previous: "Previous calls from this number", none: "None.",
    when: "When", outcome: "Outcome", disposition_short: "Disposition", transfer: "Transfer",
    to_queue: "Queue", to_agent: "Agent", to_number: "Number", blind: "Blind", warm: "Warm",
    complete: "Complete", cancel: "Cancel", conference: "Three-way", leave: "Leave the call",
    my_callbacks: "My callback tasks", number: "Number", status: "Status", window: "Window",
    csat_today: "CSAT today", nps_today: "NPS today", callbacks_pending: "Callbacks pending",
    my_phone: "My phone (listen, whisper, barge)", queues: "Queues", waiting: "Waiting",
    longest_wait: "Longest wait", service_level: "Service level", answered: "Answered",
    abandoned: "Abandoned", agents_free: "Agents free / at work", callbacks_short: "Callbacks",
    agents: "Agents", agent: "Agent", team: "Team", state: "State", in_state: "In state",
    phone: "Phone", calls: "Calls in progress", for: "For", supervising: "Listening now",
    listen: "Listen", whisper: "Whisper", barge: "Barge", move: "Move", end: "End",
    registered: "registered", not_registered: "not registered", closed: "closed",
    state_available: "available", state_on_call: "on a call", state_ringing: "ringing",
    state_wrap_up: "wrap-up", state_paused: "paused", state_signed_out: "signed out",
    state_off_duty: "off duty", call_menu: "in the menu", call_waiting: "waiting",
    call_ringing: "ringing", call_talking: "talking", no_roster: "No agent roster is loaded.",
    saved: "Saved.", transfer_ringing: "Ringing the target…", transfer_done: "Transferred.",
    need_phone: "Type your phone first (e.g. PJSIP/supervisor1).",
    need_target: "Type where to transfer to.", signed_in_as: "{name} ({role})",
    dispo_resolved: "Resolved", "dispo_follow-up": "Follow-up",
    "dispo_order-placed": "Order placed", dispo_complaint: "Complaint",
    disposition_saved: "Disposition saved: {d}",
  },
  ru: {
    title: "Рабочее место", offline: "нет связи", live: "на связи", sign_in: "Войти",
    name: "Имя", password: "Пароль", sign_out_page: "Выйти со страницы",
    my_state: "Мой статус", unregistered: "телефон не зарегистрирован",
    go_available: "Готов", pause: "Пауза", sign_out: "Закончить смену",
    reason_break: "Перерыв", reason_lunch: "Обед", reason_training: "Обучение",
    reason_meeting: "Совещание", disposition: "Чем закончился звонок?", my_call: "Мой звонок",
    no_call: "Сейчас звонка нет.", caller: "Звонящий", topic: "Тема", language: "Язык",
    queue: "Очередь", waited: "Ждал", talking: "Разговор", transferred_by: "Перевёл",
    note: "Заметка для следующего оператора", save_note: "Сохранить заметку",
    previous: "Прошлые звонки с этого номера", none: "Нет.", when: "Когда",
    outcome: "Итог", disposition_short: "Результат", transfer: "Перевод",
    to_queue: "В очередь", to_agent: "Оператору", to_number: "На номер", blind: "Сразу",
    warm: "С консультацией", complete: "Завершить перевод", cancel: "Отменить",
    conference: "Втроём", leave: "Выйти из разговора", my_callbacks: "Мои обратные звонки",
    number: "Номер", status: "Статус", window: "Окно", csat_today: "CSAT сегодня",
    nps_today: "NPS сегодня", callbacks_pending: "Ждут обратного звонка",
    my_phone: "Мой телефон (прослушка, подсказка, вмешательство)", queues: "Очереди",
    waiting: "Ждут", longest_wait: "Дольше всех", service_level: "Уровень сервиса",
    answered: "Отвечено", abandoned: "Брошено", agents_free: "Свободны / на смене",
    callbacks_short: "Обратные", agents: "Операторы", agent: "Оператор", team: "Команда",
    state: "Статус", in_state: "В статусе", phone: "Телефон", calls: "Звонки сейчас",
    for: "Сколько", supervising: "Слушаю сейчас", listen: "Слушать", whisper: "Подсказать",
    barge: "Вмешаться", move: "Перевести", end: "Закончить", registered: "на связи",
    not_registered: "не зарегистрирован", closed: "закрыта",
    state_available: "готов", state_on_call: "разговаривает", state_ringing: "звонит",
    state_wrap_up: "после звонка", state_paused: "пауза", state_signed_out: "не на смене",
    state_off_duty: "вне графика", call_menu: "в меню", call_waiting: "ждёт",
    call_ringing: "звонит оператору", call_talking: "разговор",
    no_roster: "Список операторов не загружен.", saved: "Сохранено.",
    transfer_ringing: "Звоним тому, кому переводим…", transfer_done: "Переведено.",
    need_phone: "Сначала укажите свой телефон (например, PJSIP/supervisor1).",
    need_target: "Укажите, куда перевести.", signed_in_as: "{name} ({role})",
    dispo_resolved: "Решено", "dispo_follow-up": "Нужно вернуться",
    "dispo_order-placed": "Оформлен заказ", dispo_complaint: "Жалоба",
    disposition_saved: "Результат сохранён: {d}",
  },
};

const $ = (id) => document.getElementById(id);
let lang = pickLanguage();
let session = null; // {name, role, agent, csrf}
let view = null; // what the events said, patched as changes come
let skew = 0; // server's clock minus ours, seconds
let stream = null;
let popCall = null; // the call whose full screen pop was fetched
let fullPop = null;
let sessions = []; // supervision sessions this page started

function pickLanguage() {
  const kept = localStorage.getItem("desk.lang");
  if (kept && I18N[kept]) return kept;
  return (navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";
}

function t(key, args) {
  let text = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
  for (const [name, value] of Object.entries(args || {})) text = text.replace(`{${name}}`, value);
  return text;
}

// A roster may list its own dispositions: shown as written when the page has no words for them.
function dispoText(d) {
  const text = t(`dispo_${d}`);
  return text === `dispo_${d}` ? d : text;
}

function translatePage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.title = t("title");
  render();
}

function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.hidden = !text;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    const message = (data && (data.message || data.error)) || text || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

async function act(method, path, body) {
  try {
    const answer = await api(method, path, body);
    showError("");
    return answer;
  } catch (error) {
    if (error.status === 401) return signedOut();
    showError(error.message);
    return null;
  }
}

// --- Time -----------------------------------------------------------------------------

function serverNow() { return Date.now() / 1000 + skew; }

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function since(el, moment) {
  // The tick below keeps it counting: the server is not asked again.
  if (moment === null || moment === undefined) { delete el.dataset.since; el.textContent = "–"; return; }
  el.dataset.since = String(moment);
  el.textContent = duration(serverNow() - moment);
}

function tick() {
  const now = serverNow();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = duration(now - Number(el.dataset.since));
  }
}

// --- Sign-in and the stream -------------------------------------------------------------

async function boot() {
  try {
    session = await api("GET", "/api/session");
  } catch (error) {
    session = null;
  }
  if (session) start(); else signedOut();
}

function signedOut() {
  session = null;
  view = null;
  if (stream) { stream.close(); stream = null; }
  $("agent").hidden = true;
  $("board").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
  setLive(false);
  return null;
}

async function signIn(event) {
  event.preventDefault();
  try {
    session = await api("POST", "/api/session", {
      name: $("signin-name").value, password: $("signin-password").value,
    });
    $("signin-password").value = "";
    showError("");
    start();
  } catch (error) {
    showError(error.message);
  }
}

async function signOutOfPage() {
  try { await api("DELETE", "/api/session"); } catch (error) { /* signed out anyway */ }
  signedOut();
}

function start() {
  $("signin").hidden = true;
  $("sign-out").hidden = false;
  $("who").textContent = t("signed_in_as", { name: session.name, role: session.role });
  $("agent").hidden = session.role !== "agent";
  $("board").hidden = session.role === "agent";
  connect();
}

function setLive(on) {
  const badge = $("live");
  badge.classList.toggle("off", !on);
  badge.dataset.t = on ? "live" : "offline";
  badge.textContent = t(badge.dataset.t);
}

function connect() {
  if (stream) stream.close();
  stream = new EventSource("/api/events");
  stream.addEventListener("snapshot", (e) => {
    const data = JSON.parse(e.data);
    skew = data.now - Date.now() / 1000;
    view = data;
    setLive(true);
    render();
  });
  stream.addEventListener("change", (e) => {
    const data = JSON.parse(e.data);
    skew = data.now - Date.now() / 1000;
    apply(data);
    render();
  });
  stream.onerror = async () => {
    setLive(false);
    // EventSource tries again by itself; a session that expired needs the form instead.
    try { await api("GET", "/api/session"); } catch (error) { if (error.status === 401) signedOut(); }
  };
}

function apply(change) {
  if (!view) return;
  for (const [section, patch] of Object.entries(change.patch || {})) {
    const items = view[section] || (view[section] = {});
    for (const [key, item] of Object.entries(patch.set || {})) items[key] = item;
    for (const key of patch.drop || []) delete items[key];
  }
  for (const [section, value] of Object.entries(change.replace || {})) view[section] = value;
}

// --- Rendering ----------------------------------------------------------------------------

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function button(label, onClick, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

// Rows kept by key: a row's own inputs (a chosen queue) survive updates of its figures.
function syncRows(tbody, items, build) {
  const seen = new Set();
  for (const [key, item] of items) {
    seen.add(key);
    let row = tbody.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.key = key;
      tbody.appendChild(row);
    }
    build(row, item);
    // On a phone the table becomes cards: each value says which column it is (style.css).
    const heads = tbody.parentElement.tHead ? [...tbody.parentElement.tHead.rows[0].cells] : [];
    [...row.cells].forEach((td, i) => { td.dataset.label = heads[i] ? heads[i].textContent : ""; });
  }
  for (const row of [...tbody.querySelectorAll("tr[data-key]")]) {
    if (!seen.has(row.dataset.key)) row.remove();
  }
}

function render() {
  if (!view || !session) return;
  if (view.staffed === false) return showError(t("no_roster"));
  if (session.role === "agent") renderAgent(); else renderBoard();
  tick();
}

function stateText(state, reason) {
  const text = t(`state_${state}`);
  return reason && state === "paused" ? `${text}: ${reason}` : text;
}

function renderAgent() {
  const me = view.me;
  if (!me) return;
  const state = $("my-state");
  state.textContent = stateText(me.state, me.pause_reason);
  state.className = `state s-${me.state}`;
  since($("my-since"), me.since);
  $("my-presence").hidden = me.reachable !== false;
  $("go-available").disabled = me.state === "available" || me.state === "on_call";
  $("go-pause").disabled = me.state === "paused" || me.state === "signed_out";
  $("go-signout").disabled = me.state === "signed_out";
  renderWrapUp(me);
  if (!$("transfer-targets").children.length) fillTargets();
  renderCall(me);
  renderTasks();
}

function renderWrapUp(me) {
  const box = $("wrapup");
  box.hidden = me.state !== "wrap_up";
  const chosen = view.pop && view.pop.disposition;
  if (chosen) {
    $("disposition-done").textContent = t("disposition_saved", { d: dispoText(chosen) });
    $("disposition-done").hidden = false;
  }
  const list = $("dispositions");
  const wanted = (view.dispositions || []).join("|") + lang;
  if (list.dataset.made === wanted) return;
  list.dataset.made = wanted;
  list.replaceChildren(...(view.dispositions || []).map((d) =>
    button(dispoText(d), async () => {
      const done = await act("POST", `/api/agents/${encodeURIComponent(me.id)}/disposition`, { disposition: d });
      if (done !== null) {
        const note = $("disposition-done");
        note.textContent = t("disposition_saved", { d: dispoText(d) });
        note.hidden = false;
      }
    })));
}

function myCall() {
  const calls = Object.values(view.calls || {});
  return calls.find((c) => c.state === "talking") || calls[0] || null;
}

function renderCall(me) {
  const call = myCall();
  $("no-call").hidden = !!call;
  $("call").hidden = !call;
  if (!call) { popCall = null; fullPop = null; $("transfer-warm-actions").hidden = true; return; }
  if (call.call !== popCall && call.state === "talking") {
    popCall = call.call;
    fullPop = null;
    $("pop-note").value = "";
    $("disposition-done").hidden = true;
    loadPop(me.id, call.call);
  }
  const pop = fullPop || (view.pop && view.pop.call === call.call ? view.pop : null) || {};
  $("pop-number").textContent = pop.caller_number || call.number || "";
  $("pop-topic").textContent = pop.topic || call.topic || "";
  $("pop-language").textContent = pop.language || call.language || "";
  $("pop-queue").textContent = pop.queue || call.queue || "";
  $("pop-wait").textContent = pop.wait_seconds !== undefined ? duration(pop.wait_seconds) : "–";
  since($("pop-talk"), call.state === "talking" ? call.since : null);
  const by = pop.transferred_by || "";
  for (const el of document.querySelectorAll(".transferred")) el.hidden = !by;
  $("pop-transferred").textContent = by;
  if (pop.note && !$("pop-note").value) $("pop-note").value = pop.note;
  const vars = Object.entries(pop.variables || call.variables || {});
  $("pop-vars").tBodies[0].replaceChildren(...vars.map(([name, value]) => {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = name;
    row.appendChild(th);
    cell(row, value);
    return row;
  }));
  const previous = pop.previous || [];
  $("previous").hidden = !previous.length;
  $("previous-none").hidden = !!previous.length;
  $("previous").tBodies[0].replaceChildren(...previous.map((p) => {
    const row = document.createElement("tr");
    cell(row, p.at ? new Date(p.at * 1000).toLocaleString(lang) : "");
    cell(row, p.topic);
    cell(row, p.outcome);
    cell(row, p.disposition ? dispoText(p.disposition) : "");
    return row;
  }));
}

async function loadPop(agent, call) {
  try {
    const pop = await api("GET", `/api/agents/${encodeURIComponent(agent)}/screen-pop`);
    if (pop && pop.call === call && popCall === call) { fullPop = pop; render(); }
  } catch (error) {
    if (error.status === 401) signedOut();
  }
}

function renderTasks() {
  const tasks = Object.values(view.callbacks || {});
  $("no-callbacks").hidden = !!tasks.length;
  $("callbacks").hidden = !tasks.length;
  syncRows($("callbacks").tBodies[0], tasks.map((task) => [task.task, task]), (row, task) => {
    row.replaceChildren();
    cell(row, task.number);
    cell(row, task.queue);
    cell(row, task.topic);
    cell(row, task.status);
    const from = task.not_before ? new Date(task.not_before * 1000).toLocaleString(lang) : "";
    const to = task.not_after ? new Date(task.not_after * 1000).toLocaleString(lang) : "";
    cell(row, from || to ? `${from} – ${to}` : "");
  });
}

async function agentAction(action, body) {
  if (!view || !view.me) return;
  await act("POST", `/api/agents/${encodeURIComponent(view.me.id)}/${action}`, body);
}

async function transfer(mode) {
  const to = $("transfer-to").value.trim();
  if (!to) return showError(t("need_target"));
  const answer = await act("POST", `/api/agents/${encodeURIComponent(view.me.id)}/transfer`,
    { mode, to: { [$("transfer-kind").value]: to } });
  if (!answer) return;
  const warm = mode === "warm" && answer.transfer !== "done";
  $("transfer-warm-actions").hidden = !warm;
  $("transfer-status").textContent = t(warm ? "transfer_ringing" : "transfer_done");
}

async function transferStep(step) {
  const answer = await act("POST", `/api/agents/${encodeURIComponent(view.me.id)}/${step}`, {});
  if (answer && (step === "transfer/complete" || step === "transfer/cancel" || step === "leave")) {
    $("transfer-warm-actions").hidden = true;
  }
}

function fillTargets() {
  const kind = $("transfer-kind").value;
  const names = kind === "number" || !view ? [] : (view.targets || {})[kind] || [];
  $("transfer-targets").replaceChildren(...names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  }));
}

// --- The wallboard ------------------------------------------------------------------------

function renderBoard() {
  const survey = view.survey || {};
  $("csat").textContent = survey.csat === null || survey.csat === undefined ? "–" : String(survey.csat);
  $("nps").textContent = survey.nps === null || survey.nps === undefined ? "–" : String(survey.nps);
  $("callbacks-pending").textContent = String(view.callbacks_pending || 0);
  const queues = Object.values(view.queues || {}).sort((a, b) => a.queue.localeCompare(b.queue));
  syncRows($("queues").tBodies[0], queues.map((q) => [q.queue, q]), (row, q) => {
    row.replaceChildren();
    cell(row, q.open === false ? `${q.queue} (${t("closed")})` : q.queue);
    cell(row, q.waiting + q.ringing, "num waiting");
    since(cell(row, "", "num"), q.oldest_since);
    cell(row, q.service_level_today === null || q.service_level_today === undefined ? "–" : `${q.service_level_today}%`, "num");
    cell(row, q.answered_today, "num");
    cell(row, q.abandoned_today, "num");
    cell(row, `${q.agents_available} / ${q.agents_staffed}`, "num");
    cell(row, q.callbacks_pending, "num");
  });
  const agents = Object.values(view.agents || {});
  syncRows($("agents").tBodies[0], agents.map((a) => [a.id, a]), (row, a) => {
    row.replaceChildren();
    cell(row, a.name);
    cell(row, a.team);
    cell(row, stateText(a.state, a.pause_reason), `state s-${a.state}`);
    since(cell(row, "", "num"), a.since);
    cell(row, t(a.reachable === false ? "not_registered" : "registered"),
      a.reachable === false ? "presence" : "hint");
    const actions = cell(row, "");
    if (a.state !== "signed_out") {
      actions.appendChild(button(t("sign_out"), () =>
        act("POST", `/api/agents/${encodeURIComponent(a.id)}/sign-out`, {}), "quiet"));
    }
  });
  const names = Object.fromEntries(agents.map((a) => [a.id, a.name]));
  const calls = Object.values(view.calls || {}).sort((a, b) => a.since - b.since);
  $("no-calls").hidden = !!calls.length;
  syncRows($("calls").tBodies[0], calls.map((c) => [c.call, c]), (row, c) => {
    // The move picker is the row's own: kept while the figures change.
    const picker = row.querySelector("select");
    const chosen = picker ? picker.value : "";
    row.replaceChildren();
    cell(row, c.number);
    cell(row, c.queue || "");
    cell(row, t(`call_${c.state}`), `call-${c.state}`);
    cell(row, c.agent ? names[c.agent] || c.agent : "");
    since(cell(row, "", "num"), c.since);
    cell(row, c.topic);
    const actions = document.createElement("div");
    actions.className = "actions";
    cell(row, "").appendChild(actions);
    if (c.state === "talking") {
      for (const mode of ["listen", "whisper", "barge"]) {
        actions.appendChild(button(t(mode), () => supervise(c.call, mode)));
      }
    } else if (c.state === "waiting" || c.state === "ringing") {
      const select = document.createElement("select");
      select.setAttribute("aria-label", t("queue"));
      for (const q of queues) {
        if (q.queue === c.queue) continue;
        const option = document.createElement("option");
        option.value = q.queue;
        option.textContent = q.queue;
        select.appendChild(option);
      }
      if (chosen) select.value = chosen;
      actions.appendChild(select);
      actions.appendChild(button(t("move"), () =>
        act("POST", `/api/calls/${encodeURIComponent(c.call)}/move`, { queue: select.value })));
    }
  });
  renderSessions();
}

async function supervise(call, mode) {
  const phone = $("supervisor-phone").value.trim();
  if (!phone) return showError(t("need_phone"));
  localStorage.setItem("desk.phone", phone);
  const answer = await act("POST", `/api/calls/${encodeURIComponent(call)}/${mode}`, { phone });
  if (answer && answer.session) {
    sessions.push({ call, mode, session: answer.session });
    renderSessions();
  }
}

function renderSessions() {
  sessions = sessions.filter((s) => view.calls && view.calls[s.call]);
  $("sessions").hidden = !sessions.length;
  $("session-list").replaceChildren(...sessions.map((s) => {
    const item = document.createElement("li");
    const call = view.calls[s.call];
    item.textContent = `${t(s.mode)}: ${call ? call.number : s.call} `;
    item.appendChild(button(t("end"), async () => {
      await act("DELETE", `/api/calls/${encodeURIComponent(s.call)}/supervision/${encodeURIComponent(s.session)}`);
      sessions = sessions.filter((x) => x !== s);
      renderSessions();
    }, "quiet"));
    return item;
  }));
}

// --- Wiring -------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOutOfPage);
  $("lang").addEventListener("change", () => {
    lang = $("lang").value;
    localStorage.setItem("desk.lang", lang);
    translatePage();
  });
  $("go-available").addEventListener("click", () =>
    agentAction(view && view.me && view.me.state === "paused" ? "resume" : "sign-in", {}));
  $("go-pause").addEventListener("click", () => agentAction("pause", { reason: $("pause-reason").value }));
  $("go-signout").addEventListener("click", () => agentAction("sign-out", {}));
  $("save-note").addEventListener("click", async () => {
    if (await act("POST", `/api/agents/${encodeURIComponent(view.me.id)}/note`, { note: $("pop-note").value }) !== null) {
      showError("");
    }
  });
  $("transfer-kind").addEventListener("change", fillTargets);
  $("transfer-blind").addEventListener("click", () => transfer("blind"));
  $("transfer-warm").addEventListener("click", () => transfer("warm"));
  $("transfer-complete").addEventListener("click", () => transferStep("transfer/complete"));
  $("transfer-cancel").addEventListener("click", () => transferStep("transfer/cancel"));
  $("transfer-conference").addEventListener("click", () => transferStep("transfer/conference"));
  $("transfer-leave").addEventListener("click", () => transferStep("leave"));
  $("supervisor-phone").value = localStorage.getItem("desk.phone") || "";
  translatePage();
  setInterval(tick, 1000);
  boot();
});
