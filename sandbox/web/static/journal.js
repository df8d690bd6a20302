// Live journal: re-reads /_sandbox/requests every two seconds and redraws the rows (no framework, no CDN).
(function () {
  const body = document.getElementById("journal-rows");
  const live = document.getElementById("live");
  if (!body) return;
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  // an entry is two rows: the request line, then its bodies across the whole table (as ui_journal.html draws them)
  const row = (e) => `<tr class="entry"><td>${esc(e.time)}</td><td>${esc(e.partnerId)}</td><td><code>${esc(e.method)} ${esc(e.path)}</code>` +
    (e.fault ? ` <span class="pill FAILED">fault: ${esc(e.fault.kind)}</span>` : "") + (e.encrypted ? ' <span class="pill">AES</span>' : "") +
    `</td><td class="num">${esc(e.status)}</td><td class="num">${esc(e.latencyMs)}</td></tr>` +
    `<tr class="bodies"><td colspan="5"><details data-entry="${esc(e.id)}"><summary>request and response bodies</summary>` +
    `<div class="body-label">Request</div><pre class="journal-body">${esc(JSON.stringify(e.requestBody, null, 2))}</pre>` +
    `<div class="body-label">Response</div><pre class="journal-body">${esc(JSON.stringify(e.responseBody, null, 2))}</pre></details></td></tr>`;
  async function refresh() {
    try {
      const r = await fetch("/_sandbox/requests?limit=50", {credentials: "same-origin"});
      if (!r.ok) throw new Error(r.status);
      // bodies someone opened stay open across the redraw (by entry id: new entries push the rows down)
      const open = new Set([...body.querySelectorAll("details[open]")].map((d) => d.dataset.entry));
      body.innerHTML = (await r.json()).map(row).join("");
      live.textContent = "live · " + new Date().toLocaleTimeString();
      body.querySelectorAll("details").forEach((d) => { if (open.has(d.dataset.entry)) d.open = true; });
    } catch (err) {
      live.textContent = "paused (" + err.message + ")";
    }
  }
  setInterval(refresh, 2000);
})();
