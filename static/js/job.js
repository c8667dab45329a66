// The video's job: polls its status, moves the progress bar (with frames and time left), offers
// cancel, shows the key frames to confirm the product, and lists the outputs with their downloads.
// The review page uses it too and listens to each state through HL.onState.
(function () {
  const root = document.getElementById("job");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const phase = $("phase");
  const bar = root.querySelector("#progress .bar");
  const label = root.querySelector("#progress .label");
  const error = $("error");
  const results = $("results");
  const cancelButton = $("cancel-job");
  const listeners = [];
  HL.onState = (fn) => listeners.push(fn);
  let cancelUrl = null;

  function activeJob(state) {
    if (state.phase === "confirm") return [null, null]; // nothing is sent to a worker before the confirmation
    if (state.working && state.working.cancel_url) return ["Re-tracking", state.working];
    if (state.track && state.track.cancel_url) return ["Tracking", state.track];
    const render = state.renders.find((r) => r.status === "running") || state.renders.find((r) => r.cancel_url);
    return render ? ["Rendering", render] : [null, null];
  }

  function showProgress(state) {
    if (!phase) return;
    const pct = Math.round(state.progress * 100);
    bar.style.width = pct + "%";
    label.textContent = pct + "%";
    phase.textContent = state.message;
    phase.dataset.phase = state.phase;
    const [what, job] = activeJob(state);
    const detail = $("detail"), eta = $("eta");
    if (job && job.status === "running" && job.frames_total) {
      detail.textContent = `${what}: frame ${job.frames_done} of ${job.frames_total}.`;
    } else {
      detail.textContent = job ? `${what}: waiting for a worker.` : "";
    }
    eta.textContent = job ? HL.timeLeft(job.eta_seconds) : "";
    cancelUrl = job ? job.cancel_url : null;
    cancelButton.hidden = !cancelUrl || job.cancel_requested;
    error.hidden = state.phase !== "failed";
    if (state.phase === "failed") error.textContent = state.message;
    const review = $("review-link");
    if (review) review.hidden = !(state.track && state.track.status === "done");
    const track = state.track;
    const summary = $("summary");
    if (summary && track && track.summary && track.summary.frames && track.status === "done") {
      const each = track.summary.products;
      if (each) {
        const parts = state.products.filter((p) => each[p.id])
          .map((p) => `${p.name} in ${Math.round(each[p.id].visible_fraction * 100)}%`);
        summary.textContent = `Tracked with the ${track.backend} tracker: ${parts.join(", ")} of ${track.summary.frames} frames.`;
      } else {
        const pct = Math.round(track.summary.visible_fraction * 100);
        summary.textContent = `Tracked with the ${track.backend} tracker: the product is in shot in ${pct}% of ${track.summary.frames} frames.`;
      }
      summary.hidden = false;
    }
    const names = $("product-names");
    if (names && state.products.length) names.textContent = state.products.map((p) => p.name).join(", ");
  }

  cancelButton && cancelButton.addEventListener("click", async () => {
    if (!cancelUrl) return;
    cancelButton.disabled = true;
    try { await HL.postJSON(cancelUrl); } catch (err) { error.hidden = false; error.textContent = err.message; }
    cancelButton.disabled = false;
    poll(true);
  });

  // --- confirming the products on key frames -------------------------------------------------------
  // One product: "Track this" under a found box, or a click or box on a frame, starts tracking at once.
  // Several: each one is confirmed on a frame ("This is <name>", or the product chosen in the list and
  // a click or box), then "Start tracking" sends them all. "Add a product" in the list, then a click or
  // box on a frame, adds one; names are edited in the list.

  let panel = null;
  let confirmProducts = [];
  let preview = null;
  const choices = {}; // product id -> {frame, box: [x1, y1, x2, y2]} or {frame, point: [x, y]}
  const cards = []; // {frame, stage, caption, marks: []}
  const several = () => confirmProducts.length > 1;

  function productNote(p) {
    const choice = choices[p.id];
    if (choice) return choice.box ? `box on frame ${choice.frame}` : `click on frame ${choice.frame}`;
    if (p.clicked_frame != null) return `shown by a click on frame ${p.clicked_frame}`;
    const found = preview.frames.filter((f) => f.boxes && f.boxes[p.id]).length;
    if (found) return `found on ${found} of ${preview.frames.length} frames`;
    return p.description ? "not found on these frames: click it" : "";
  }

  function showConfirm(state) {
    const box = $("confirm");
    if (!box) return;
    box.hidden = state.phase !== "confirm";
    if (state.phase !== "confirm" || !["done", "failed"].includes(state.preview.status)) return;
    preview = state.preview;
    confirmProducts = state.products;
    for (const id of Object.keys(choices)) if (!confirmProducts.some((p) => p.id === id)) delete choices[id];
    if (!panel) {
      panel = HL.productPanel($("confirm-products"), {
        addLabel: "Add a product: click it on a frame below, or draw a box around it",
        onChoose: () => drawMarks(),
        onChanged: () => poll(true),
      });
    }
    panel.update(confirmProducts, productNote);
    if (!cards.length) buildCards(state);
    drawMarks();
    $("confirm-text").textContent = several()
      ? `Start tracking the ${confirmProducts.length} products`
      : "Start tracking by the description alone";
    $("confirm-hint").textContent = several()
      ? "For each product, click This is … under the frame where its box is right, or choose it in the list and click it on a frame (or drag a box around it). Then start tracking."
      : "Click Track this under the frame where the highlighted box is the product. If it is the wrong thing, click the right product on any frame, or drag a box around it.";
  }

  function mark(card, box, cls, colour) { // box [x, y, w, h] in video pixels, drawn in percent of the thumbnail
    const { width, height } = card.size;
    const div = document.createElement("div");
    div.className = cls;
    Object.assign(div.style, {
      left: (100 * box[0]) / width + "%", top: (100 * box[1]) / height + "%",
      width: (100 * box[2]) / width + "%", height: (100 * box[3]) / height + "%",
    });
    if (colour) div.style.borderColor = colour;
    card.stage.append(div);
    card.marks.push(div);
    return div;
  }

  function drawMarks() {
    for (const card of cards) {
      card.marks.forEach((m) => m.remove());
      card.marks = [];
      card.buttons.textContent = "";
      const { width } = card.size;
      let found = 0;
      for (const p of confirmProducts) {
        const box = card.frame.boxes && card.frame.boxes[p.id];
        const choice = choices[p.id];
        if (choice && choice.frame === card.frame.index) {
          if (choice.box) {
            const [x1, y1, x2, y2] = choice.box;
            mark(card, [x1, y1, x2 - x1, y2 - y1], "chosen-box", p.colour).dataset.product = p.id;
          } else {
            const [x, y] = choice.point;
            mark(card, [x - width / 100, y - width / 100, width / 50, width / 50], "clicked-point", p.colour).dataset.product = p.id;
          }
        }
        if (!box) continue;
        found += 1;
        mark(card, box, "found-box", p.colour).dataset.product = p.id;
        const yes = document.createElement("button");
        yes.type = "button";
        yes.className = "confirm-found small";
        yes.dataset.product = p.id;
        yes.textContent = several() ? `This is ${p.name}` : "Track this";
        const [x, y, w, h] = box;
        yes.addEventListener("click", () => pick(card.frame.index, { box: [x, y, x + w, y + h] }, p.id));
        card.buttons.append(" ", yes);
      }
      if (!found) card.buttons.append(" · not found here: click it");
    }
  }

  // A found box accepted, or a click or box drawn on frame ``index``: for ``productId``, else the
  // product chosen in the list (or a new one).
  async function pick(index, what, productId) {
    $("confirm-error").textContent = "";
    const target = productId || panel.selected();
    if (target === "new") {
      await panel.add({ frame: index, ...what });
      return;
    }
    if (!several()) {
      await confirm({ frame: index, ...what });
      return;
    }
    choices[target] = { frame: index, ...what };
    panel.update(confirmProducts, productNote);
    drawMarks();
  }

  function buildCards(state) {
    const strip = $("key-frames");
    const size = { width: state.video.width, height: state.video.height };
    for (const frame of state.preview.frames) {
      const figure = document.createElement("figure");
      figure.className = "key-frame";
      figure.dataset.frame = frame.index;
      const stage = document.createElement("div");
      stage.className = "stage";
      const img = document.createElement("img");
      img.src = frame.thumbnail_url;
      img.alt = `Frame ${frame.index}`;
      img.draggable = false;
      stage.append(img);
      const caption = document.createElement("figcaption");
      caption.textContent = `${frame.time.toFixed(1)} s`;
      const buttons = document.createElement("span");
      buttons.className = "found-buttons";
      caption.append(buttons);
      const card = { frame, stage, caption, buttons, size, marks: [] };
      cards.push(card);
      // A click is a point on the product; a drag draws a box around it.
      const { width, height } = size;
      let start = null;
      let dragBox = null;
      const toVideo = (ev) => {
        const r = stage.getBoundingClientRect();
        return [Math.min(width - 1, Math.max(0, ((ev.clientX - r.left) / r.width) * width)),
                Math.min(height - 1, Math.max(0, ((ev.clientY - r.top) / r.height) * height))];
      };
      stage.addEventListener("pointerdown", (ev) => { start = toVideo(ev); stage.setPointerCapture(ev.pointerId); });
      stage.addEventListener("pointermove", (ev) => {
        if (!start) return;
        const p = toVideo(ev);
        if (dragBox) dragBox.remove();
        dragBox = mark(card, [Math.min(start[0], p[0]), Math.min(start[1], p[1]), Math.abs(p[0] - start[0]), Math.abs(p[1] - start[1])], "drawn-box");
      });
      stage.addEventListener("pointerup", (ev) => {
        if (!start) return;
        const p = toVideo(ev);
        const s = start;
        start = null;
        if (dragBox) { dragBox.remove(); dragBox = null; }
        const dx = Math.abs(p[0] - s[0]), dy = Math.abs(p[1] - s[1]);
        if (dx > width / 50 && dy > height / 50) {
          pick(frame.index, { box: [Math.min(s[0], p[0]), Math.min(s[1], p[1]), Math.max(s[0], p[0]), Math.max(s[1], p[1])] });
        } else {
          pick(frame.index, { point: [s[0], s[1]] });
        }
      });
      figure.append(stage, caption);
      strip.append(figure);
    }
  }

  async function confirm(body) {
    try {
      await HL.postJSON(root.dataset.confirmUrl, body);
      $("confirm").hidden = true;
      poll(true);
    } catch (err) {
      $("confirm-error").textContent = err.message;
    }
  }
  const byText = $("confirm-text");
  byText && byText.addEventListener("click", () => confirm({ products: choices }));

  // --- outputs --------------------------------------------------------------------------------------

  function showOutputs(state) {
    if (!results) return;
    for (const r of state.renders) {
      let box = results.querySelector(`[data-render="${r.id}"]`);
      if (!box) {
        box = document.createElement("div");
        box.className = "result";
        box.dataset.render = r.id;
        box.innerHTML = '<p class="render-title"></p><p class="render-status hint"></p>';
        results.append(box);
      }
      box.dataset.status = r.status;
      box.querySelector(".render-title").textContent = `${r.download_name}`;
      const status = box.querySelector(".render-status");
      if (r.status === "running") {
        status.textContent = `Rendering frame ${r.frames_done || 0} of ${r.frames_total || "?"} ${HL.timeLeft(r.eta_seconds)}`;
      } else if (r.status === "done") {
        status.textContent = "";
      } else {
        status.textContent = r.error || r.status.charAt(0).toUpperCase() + r.status.slice(1);
      }
      let cancel = box.querySelector("button.cancel-render");
      if (r.cancel_url && !r.cancel_requested && !cancel) {
        cancel = document.createElement("button");
        cancel.type = "button";
        cancel.className = "secondary small cancel-render";
        cancel.textContent = "Cancel";
        cancel.addEventListener("click", async () => { await HL.postJSON(r.cancel_url).catch(() => {}); poll(true); });
        box.append(cancel);
      } else if (cancel && (!r.cancel_url || r.cancel_requested)) {
        cancel.remove();
      }
      if (r.status === "done" && r.play_url && !box.querySelector("video")) {
        const video = document.createElement("video");
        video.controls = true;
        video.playsInline = true;
        video.preload = "metadata";
        video.src = r.play_url;
        const [w, h] = (r.aspect || "16:9").split(":").map(Number);
        video.className = r.aspect === "source" || w > h ? "landscape" : "portrait";
        const link = document.createElement("a");
        link.className = "button download";
        link.href = r.download_url;
        link.textContent = `Download ${r.download_name}`;
        box.append(video, link);
      }
    }
    const downloads = $("downloads");
    const track = state.track;
    if (downloads && track && track.downloads) {
      const names = { json: "Track (JSON)", masks: "Masks (PNG, zip)", crop_path: "Crop path 9:16 (JSON)" };
      downloads.textContent = `Version ${track.version}: `;
      for (const [kind, url] of Object.entries(track.downloads)) {
        const a = document.createElement("a");
        a.href = url;
        a.className = `track-download download-${kind}`;
        a.textContent = names[kind] || kind;
        downloads.append(a, " ");
      }
      const each = { masks: "masks (PNG, zip)", crop_path: "crop path 9:16 (JSON)" };
      for (const p of state.products) {
        const links = (track.product_downloads || {})[p.id];
        if (!links) continue;
        for (const [kind, url] of Object.entries(links)) {
          const a = document.createElement("a");
          a.href = url;
          a.className = `track-download download-${kind} product-${p.id}`;
          a.textContent = `${p.name}: ${each[kind] || kind}`;
          downloads.append(a, " ");
        }
      }
      downloads.hidden = false;
    }
  }

  let timer = null;
  async function poll(now) {
    clearTimeout(timer);
    let state;
    try {
      const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.statusText);
      state = await response.json();
    } catch (err) {
      timer = setTimeout(poll, 3000);
      return;
    }
    showProgress(state);
    showConfirm(state);
    showOutputs(state);
    listeners.forEach((fn) => fn(state));
    const busy = !["done", "failed", "cancelled"].includes(state.phase) || state.working ||
      state.renders.some((r) => r.status === "queued" || r.status === "running");
    timer = setTimeout(poll, busy ? 1000 : 4000);
  }
  HL.refresh = () => poll(true);
  poll();
})();
