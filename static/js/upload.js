// Upload one or several videos with the same products: a byte progress bar with time left and a
// cancel button. Each file is its own request (and its own video). The plain form works without this.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const drop = document.getElementById("drop");
  const list = document.getElementById("file-list");
  const progress = document.getElementById("upload-progress");
  const bar = progress.querySelector(".bar");
  const label = progress.querySelector(".label");
  const eta = document.getElementById("upload-eta");
  const button = document.getElementById("upload-button");
  const cancel = document.getElementById("upload-cancel");
  const maxBytes = Number(form.dataset.maxBytes || 0);
  let current = null;
  let cancelled = false;

  function showErrors(errors) {
    form.querySelectorAll(".error[data-field]").forEach((el) => { el.textContent = ""; });
    for (const [field, messages] of Object.entries(errors)) {
      const el = form.querySelector(`.error[data-field="${field}"]`) || form.querySelector('.error[data-field="file"]');
      el.textContent = messages.join(" ");
    }
  }

  function listFiles() {
    list.textContent = "";
    for (const file of input.files) {
      const li = document.createElement("li");
      li.textContent = `${file.name} (${(file.size / 1024 / 1024).toFixed(1)} MB)`;
      list.append(li);
    }
  }

  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; listFiles(); } });
  input.addEventListener("change", listFiles);
  // Several products: one box each, "Add another product" adds a box, "Remove" takes one away.
  const lines = document.getElementById("product-lines");
  const addProduct = document.getElementById("add-product");
  function renumber() {
    const all = lines.querySelectorAll(".product-line");
    all.forEach((line, i) => {
      const box = line.querySelector("input");
      box.id = `description-${i}`;
      box.setAttribute("aria-label", `Product ${i + 1}`);
      line.querySelector(".remove-line").hidden = all.length === 1;
    });
    addProduct.hidden = all.length >= Number(lines.dataset.max || 6);
  }
  addProduct.addEventListener("click", () => {
    const all = lines.querySelectorAll(".product-line");
    const line = all[all.length - 1].cloneNode(true);
    const box = line.querySelector("input");
    box.value = "";
    box.placeholder = "another product, e.g. the white sneakers";
    all[all.length - 1].after(line);
    renumber();
    box.focus();
  });
  lines.addEventListener("click", (e) => {
    if (!e.target.classList.contains("remove-line")) return;
    e.target.closest(".product-line").remove();
    renumber();
  });
  renumber();
  document.getElementById("all-formats").addEventListener("click", () => {
    form.querySelectorAll("input[name=aspect]").forEach((box) => { box.checked = box.value !== "source"; });
  });

  function sendOne(file, index, total, sentBefore, totalBytes, started) {
    return new Promise((resolve) => {
      const data = new FormData(form);
      data.delete("file");
      data.append("file", file);
      const xhr = new XMLHttpRequest();
      current = xhr;
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (ev) => {
        if (!ev.lengthComputable) return;
        const sent = sentBefore + ev.loaded * (file.size / ev.total);
        const pct = Math.min(100, Math.round((sent / totalBytes) * 100));
        bar.style.width = pct + "%";
        const which = total > 1 ? ` (${index + 1} of ${total})` : "";
        label.textContent = ev.loaded < ev.total ? `Uploading ${pct}%${which}` : `Checking the video${which}…`;
        const elapsed = (performance.now() - started) / 1000;
        eta.textContent = sent > 0 && sent < totalBytes ? HL.timeLeft((elapsed * (totalBytes - sent)) / sent) : "";
      });
      xhr.addEventListener("load", () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = { errors: { __all__: ["The upload failed. Try again."] } }; }
        resolve({ ok: xhr.status === 201 && body.url, body });
      });
      xhr.addEventListener("error", () => resolve({ ok: false, body: { errors: { __all__: ["The connection dropped during the upload. Check your network and try again."] } } }));
      xhr.addEventListener("abort", () => resolve({ ok: false, aborted: true, body: {} }));
      xhr.send(data);
    });
  }

  function finish() {
    button.disabled = false;
    cancel.hidden = true;
    current = null;
  }

  cancel.addEventListener("click", () => {
    cancelled = true;
    if (current) current.abort();
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const files = Array.from(input.files);
    if (!files.length) { showErrors({ file: ["Choose a video to upload."] }); return; }
    const big = files.find((f) => maxBytes && f.size > maxBytes);
    if (big) { showErrors({ file: [`${big.name}: ${form.dataset.tooLarge}`] }); return; }
    showErrors({});
    cancelled = false;
    progress.hidden = false;
    eta.hidden = false;
    button.disabled = true;
    cancel.hidden = false;
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0) || 1;
    const started = performance.now();
    const urls = [];
    let sent = 0;
    for (let i = 0; i < files.length; i++) {
      const result = await sendOne(files[i], i, files.length, sent, totalBytes, started);
      if (result.aborted || cancelled) {
        finish();
        progress.hidden = true;
        eta.textContent = urls.length ? `Upload cancelled; ${urls.length} video(s) were uploaded before.` : "Upload cancelled.";
        return;
      }
      if (!result.ok) {
        finish();
        progress.hidden = true;
        const errors = result.body.errors || { __all__: ["The upload failed. Try again."] };
        if (files.length > 1) for (const k of Object.keys(errors)) errors[k] = errors[k].map((m) => `${files[i].name}: ${m}`);
        showErrors(errors);
        return;
      }
      urls.push(result.body.url);
      sent += files[i].size;
    }
    finish();
    window.location.assign(urls.length === 1 ? urls[0] : form.dataset.libraryUrl);
  });
})();
