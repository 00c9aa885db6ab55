// Enrolment page: refuse an oversized file before the upload starts, so the typed custody
// facts are not lost to a server refusal (the server checks the same limits).
"use strict";
(function () {
  const form = document.getElementById("enrol-form");
  const box = document.getElementById("size-error");
  if (!form || !box) return;
  const maxImage = Number(form.dataset.maxImage), maxBody = Number(form.dataset.maxBody);
  const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
  form.addEventListener("submit", (ev) => {
    let total = 0;
    const problems = [];
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const f of input.files) {
        total += f.size;
        if (f.size > maxImage) problems.push(`${f.name} is ${mib(f.size)}, over the ${mib(maxImage)} limit`);
      }
    }
    if (total > maxBody) problems.push(`the files total ${mib(total)}, over the ${mib(maxBody)} limit`);
    box.textContent = problems.join("; ");
    box.hidden = problems.length === 0;
    if (problems.length) ev.preventDefault();
  });
})();
