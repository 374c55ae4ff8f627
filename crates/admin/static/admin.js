// duet admin: select-all, confirm-free niceties, and the live change list. The pages work
// without it; with it, rows changed elsewhere appear without a reload, keeping the page,
// the filters and the selection.
const table = document.querySelector("[data-live]");
const all = document.querySelector("#select-all");
const selected = () => [...document.querySelectorAll("input[name=_selected]")];
function syncAll() {
  if (!all) return;
  const boxes = selected();
  all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
  const count = boxes.filter((b) => b.checked).length;
  const label = document.querySelector("#selected-count");
  if (label) label.textContent = count ? `${count} selected` : "";
}
all?.addEventListener("change", () => {
  selected().forEach((b) => (b.checked = all.checked));
  syncAll();
});
document.addEventListener("change", (e) => {
  if (e.target.name === "_selected") syncAll();
});
if (table && window.EventSource) {
  const source = new EventSource(table.dataset.live);
  let timer = null;
  const changed = new Set();
  source.addEventListener("change", (e) => {
    try { changed.add(String(JSON.parse(e.data).id)); } catch { /* a refresh all the same */ }
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });
  async function refresh() {
    const keep = new Set(selected().filter((b) => b.checked).map((b) => b.value));
    const url = new URL(location.href);
    url.searchParams.set("_rows", "1");
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const body = document.createElement("tbody");
    body.innerHTML = await response.text();
    table.querySelector("tbody").replaceWith(body);
    for (const box of selected()) box.checked = keep.has(box.value);
    for (const row of body.querySelectorAll("tr[data-pk]")) {
      if (changed.has(row.dataset.pk)) row.classList.add("changed");
    }
    changed.clear();
    syncAll();
    table.dispatchEvent(new CustomEvent("duet:refreshed"));
  }
}
