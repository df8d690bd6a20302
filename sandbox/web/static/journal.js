// Live journal: re-reads /_sandbox/requests every two seconds and redraws the rows (no framework, no CDN).
(function () {
  const body = document.getElementById("journal-rows");
  const live = document.getElementById("live");
  if (!body) return;
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const row = (e) => `<tr><td>${esc(e.time)}</td><td>${esc(e.partnerId)}</td><td><code>${esc(e.method)} ${esc(e.path)}</code>` +
    (e.fault ? ` <span class="pill FAILED">fault: ${esc(e.fault.kind)}</span>` : "") + (e.encrypted ? ' <span class="pill">AES</span>' : "") +
    `</td><td class="num">${esc(e.status)}</td><td class="num">${esc(e.latencyMs)}</td><td><details><summary>show</summary>` +
    `<pre>${esc(JSON.stringify(e.requestBody, null, 2))}</pre><pre>${esc(JSON.stringify(e.responseBody, null, 2))}</pre></details></td></tr>`;
  async function refresh() {
    try {
      const r = await fetch("/_sandbox/requests?limit=50", {credentials: "same-origin"});
      if (!r.ok) throw new Error(r.status);
      const open = new Set([...body.querySelectorAll("details[open]")].map((d) => d.closest("tr").rowIndex));
      body.innerHTML = (await r.json()).map(row).join("");
      live.textContent = "live · " + new Date().toLocaleTimeString();
      [...body.rows].forEach((tr, i) => { if (open.has(i + 1)) tr.querySelector("details").open = true; });
    } catch (err) {
      live.textContent = "paused (" + err.message + ")";
    }
  }
  setInterval(refresh, 2000);
})();
