// Watchlist composer: filter the subjects by reference and category as one types (the same
// filter works without script through the GET form), and count the subjects chosen.
"use strict";
(function () {
  const q = document.getElementById("filter-q"), cat = document.getElementById("filter-cat");
  const count = document.getElementById("filter-count"), chosen = document.getElementById("chosen-count");
  const rows = [...document.querySelectorAll("tr.subject")];
  if (!q || !cat) return;
  function apply() {
    const needle = q.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of rows) {
      const ok = (!needle || tr.dataset.ref.includes(needle)) && (!cat.value || tr.dataset.cat === cat.value);
      tr.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = `${shown} of ${count.dataset.total} subjects shown`;
  }
  function tally() {
    const n = document.querySelectorAll("tr.subject input[type=checkbox]:checked").length;
    chosen.textContent = `Chosen: ${n} (a subject hidden by the filter stays chosen)`;
  }
  q.addEventListener("input", apply);
  cat.addEventListener("change", apply);
  document.querySelectorAll("tr.subject input[type=checkbox]").forEach((c) => c.addEventListener("change", tally));
  tally();
})();
