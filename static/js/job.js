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
  let confirmShown = false;

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
      const pct = Math.round(track.summary.visible_fraction * 100);
      summary.textContent = `Tracked with the ${track.backend} tracker: the product is in shot in ${pct}% of ${track.summary.frames} frames.`;
      summary.hidden = false;
    }
  }

  cancelButton && cancelButton.addEventListener("click", async () => {
    if (!cancelUrl) return;
    cancelButton.disabled = true;
    try { await HL.postJSON(cancelUrl); } catch (err) { error.hidden = false; error.textContent = err.message; }
    cancelButton.disabled = false;
    poll(true);
  });

  // --- confirming the product on key frames -------------------------------------------------------

  function showConfirm(state) {
    const panel = $("confirm");
    if (!panel) return;
    panel.hidden = state.phase !== "confirm";
    if (state.phase !== "confirm" || confirmShown || !["done", "failed"].includes(state.preview.status)) return;
    confirmShown = true;
    const strip = $("key-frames");
    const { width, height } = state.video;
    for (const frame of state.preview.frames) {
      const card = document.createElement("figure");
      card.className = "key-frame";
      card.dataset.frame = frame.index;
      const stage = document.createElement("div");
      stage.className = "stage";
      const img = document.createElement("img");
      img.src = frame.thumbnail_url;
      img.alt = `Frame ${frame.index}`;
      img.draggable = false;
      stage.append(img);
      const marks = [];
      function mark(box, cls) {  // box [x, y, w, h] in video pixels, drawn in percent of the thumbnail
        const div = document.createElement("div");
        div.className = cls;
        Object.assign(div.style, {
          left: (100 * box[0]) / width + "%", top: (100 * box[1]) / height + "%",
          width: (100 * box[2]) / width + "%", height: (100 * box[3]) / height + "%",
        });
        stage.append(div);
        marks.push(div);
        return div;
      }
      if (frame.box) mark(frame.box, "found-box");
      const caption = document.createElement("figcaption");
      caption.textContent = `${frame.time.toFixed(1)} s`;
      if (frame.box) {
        const yes = document.createElement("button");
        yes.type = "button";
        yes.className = "confirm-found small";
        yes.textContent = "Track this";
        const [x, y, w, h] = frame.box;
        yes.addEventListener("click", () => confirm({ frame: frame.index, box: [x, y, x + w, y + h] }));
        caption.append(" ", yes);
      } else {
        caption.append(" · not found here: click it");
      }
      // A click is a point on the product; a drag draws a box around it.
      let start = null;
      const toVideo = (ev) => {
        const r = stage.getBoundingClientRect();
        return [Math.min(width - 1, Math.max(0, ((ev.clientX - r.left) / r.width) * width)),
                Math.min(height - 1, Math.max(0, ((ev.clientY - r.top) / r.height) * height))];
      };
      let dragBox = null;
      stage.addEventListener("pointerdown", (ev) => { start = toVideo(ev); stage.setPointerCapture(ev.pointerId); });
      stage.addEventListener("pointermove", (ev) => {
        if (!start) return;
        const p = toVideo(ev);
        if (dragBox) dragBox.remove();
        dragBox = mark([Math.min(start[0], p[0]), Math.min(start[1], p[1]), Math.abs(p[0] - start[0]), Math.abs(p[1] - start[1])], "drawn-box");
      });
      stage.addEventListener("pointerup", (ev) => {
        if (!start) return;
        const p = toVideo(ev);
        const s = start;
        start = null;
        const dx = Math.abs(p[0] - s[0]), dy = Math.abs(p[1] - s[1]);
        if (dx > width / 50 && dy > height / 50) {
          confirm({ frame: frame.index, box: [Math.min(s[0], p[0]), Math.min(s[1], p[1]), Math.max(s[0], p[0]), Math.max(s[1], p[1])] });
        } else {
          if (dragBox) dragBox.remove();
          mark([s[0] - width / 100, s[1] - width / 100, width / 50, width / 50], "clicked-point");
          confirm({ frame: frame.index, point: [s[0], s[1]] });
        }
      });
      card.append(stage, caption);
      strip.append(card);
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
  byText && byText.addEventListener("click", () => confirm({}));

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
