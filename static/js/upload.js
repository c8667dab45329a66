// Upload with a byte progress bar; the plain form still works without this script.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const drop = document.getElementById("drop");
  const progress = document.getElementById("upload-progress");
  const bar = progress.querySelector(".bar");
  const label = progress.querySelector(".label");
  const button = document.getElementById("upload-button");
  const maxBytes = Number(form.dataset.maxBytes || 0);

  function showErrors(errors) {
    form.querySelectorAll(".error[data-field]").forEach((el) => { el.textContent = ""; });
    for (const [field, messages] of Object.entries(errors)) {
      const el = form.querySelector(`.error[data-field="${field}"]`) || form.querySelector('.error[data-field="file"]');
      el.textContent = messages.join(" ");
    }
  }

  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) input.files = e.dataTransfer.files; });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const file = input.files[0];
    if (file && maxBytes && file.size > maxBytes) {
      showErrors({ file: [form.dataset.tooLarge] });
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (ev) => {
      if (!ev.lengthComputable) return;
      const pct = Math.round((ev.loaded / ev.total) * 100);
      bar.style.width = pct + "%";
      label.textContent = pct < 100 ? `Uploading ${pct}%` : "Checking the video…";
    });
    xhr.addEventListener("load", () => {
      button.disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = { errors: { __all__: ["The upload failed. Try again."] } }; }
      if (xhr.status === 201 && body.url) { window.location.assign(body.url); return; }
      progress.hidden = true;
      showErrors(body.errors || { __all__: ["The upload failed. Try again."] });
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      progress.hidden = true;
      showErrors({ __all__: ["The connection dropped during the upload. Check your network and try again."] });
    });
    progress.hidden = false;
    button.disabled = true;
    xhr.send(new FormData(form));
  });
})();
