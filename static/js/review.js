// The review player: the proxy plays in a <video>, the track is drawn over it on a canvas (mask
// outlines, filled or not, and the box), frame-accurately while playing and scrubbing; with several
// products, each in its own colour. A timeline shows confidence and where a product is hidden or lost,
// a row per product, the chosen one's highlighted. Masks arrive in chunks of CHUNK frames as outline
// polygons in pixels of the normalised video. Clicks on the video correct the chosen product's track.
(function () {
  const root = document.getElementById("job");
  const video = document.getElementById("review-video");
  if (!root || !video) return;
  const $ = (id) => document.getElementById(id);
  const overlay = $("overlay");
  const timeline = $("timeline");
  const CHUNK = 50;
  let track = null; // the current version's overview: fps, frame count, per-frame visibility and score, per product
  let panel = null; // the products list, whose chosen product corrections apply to
  let trackId = null;
  let chunks = new Map(); // chunk number -> frames, or a pending Promise
  let frame = 0;

  const fps = () => (track ? track.video.fps : 25);
  const frameCount = () => (track ? track.frame_count : 1);
  const clampFrame = (i) => Math.max(0, Math.min(frameCount() - 1, i));
  // Frame i is shown from i/fps to (i+1)/fps; the small epsilon absorbs rounding of currentTime.
  const frameAt = (seconds) => clampFrame(Math.floor(seconds * fps() + 1e-3));

  // --- loading -------------------------------------------------------------------------------------

  async function loadTrack(state) {
    if (!state.track || state.track.status !== "done" || state.track.id === trackId) return;
    const response = await fetch(state.track.overview_url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    track = await response.json();
    trackId = track.id;
    chunks = new Map();
    $("hide-start").max = $("hide-end").max = frameCount() - 1;
    // One row of the timeline per product (the old single row for one).
    const rows = track.objects.length;
    timeline.style.height = rows > 1 ? `${12 + 26 * rows}px` : "";
    showLegend();
    drawTimeline();
    draw(frame);
  }

  function showLegend() {
    const legend = $("timeline-legend");
    legend.hidden = track.objects.length < 2;
    legend.textContent = "";
    for (const o of track.objects.length > 1 ? track.objects : []) {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = o.colour;
      item.append(swatch, ` ${o.name}`);
      legend.append(item);
    }
  }

  // A product renamed or given another colour: the overlay, the timeline and its legend follow at once
  // (the track's overview is fetched once per version).
  function syncProducts(state) {
    if (!track || track.objects.length < 2) return;
    let changed = false;
    for (const o of track.objects) {
      const p = state.products.find((q) => q.id === o.id);
      if (p && (p.colour !== o.colour || p.name !== o.name)) { Object.assign(o, { colour: p.colour, name: p.name }); changed = true; }
    }
    if (!changed) return;
    showLegend();
    drawTimeline();
    draw(frame);
  }

  const chosen = () => (panel && panel.selected() !== "new" ? panel.selected() : null);
  // A frame's products: [[object, its frame data]], from the chunk's per-product data or, for one
  // product, the frame itself.
  function frameObjects(data) {
    if (!data.objects) return [[track.objects[0], data]];
    return track.objects.filter((o) => data.objects[o.id]).map((o) => [o, data.objects[o.id]]);
  }

  function chunk(number) {
    if (!track || number < 0 || number * CHUNK >= frameCount()) return null;
    const have = chunks.get(number);
    if (Array.isArray(have)) return have;
    if (!have) {
      const forId = trackId;
      const url = `${track.frames_url}?start=${number * CHUNK}&count=${CHUNK}`;
      chunks.set(number, fetch(url, { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))))
        .then((body) => {
          if (forId !== trackId) return;
          chunks.set(number, body.frames);
          if (Math.floor(frame / CHUNK) === number) draw(frame);
        })
        .catch(() => chunks.delete(number)));
    }
    return null;
  }

  function frameData(i) {
    const frames = chunk(Math.floor(i / CHUNK));
    chunk(Math.floor(i / CHUNK) + 1); // the next chunk, before playback needs it
    return frames ? frames[i - Math.floor(i / CHUNK) * CHUNK] : null;
  }

  // --- drawing -------------------------------------------------------------------------------------

  function sizeCanvas(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.round(canvas.clientWidth * ratio), h = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  }

  function draw(i) {
    frame = i;
    $("frame-label").textContent = `Frame ${i} of ${frameCount() - 1} · ${(i / fps()).toFixed(2)} s`;
    sizeCanvas(overlay);
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    overlay.dataset.frame = i;
    overlay.dataset.drawn = "0";
    drawPlayhead();
    if (!track || !$("show-track").checked) return;
    const data = frameData(i);
    if (!data) { overlay.dataset.drawn = "loading"; return; }
    const shown = frameObjects(data).filter(([, d]) => d.visible);
    overlay.dataset.visible = shown.map(([o]) => o.id).join(",");
    if (!shown.length) { overlay.dataset.drawn = "hidden"; return; }
    const sx = overlay.width / track.video.width, sy = overlay.height / track.video.height;
    const ratio = window.devicePixelRatio || 1;
    const several = track.objects.length > 1;
    for (const [o, d] of shown) {
      // The chosen product's outline is thicker, so the marketer sees which one a click corrects.
      ctx.lineWidth = Math.max(2, 2 * ratio) * (several && o.id === chosen() ? 2 : 1);
      ctx.strokeStyle = o.colour;
      ctx.fillStyle = o.colour;
      for (const polygon of d.outlines || []) {
        ctx.beginPath();
        polygon.forEach(([x, y], k) => (k ? ctx.lineTo(x * sx, y * sy) : ctx.moveTo(x * sx, y * sy)));
        ctx.closePath();
        if ($("fill-mask").checked) { ctx.globalAlpha = 0.35; ctx.fill(); ctx.globalAlpha = 1; }
        ctx.stroke();
      }
      if (d.box) {
        const [x, y, w, h] = d.box;
        ctx.setLineDash([6, 4]);
        ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
        ctx.setLineDash([]);
      }
    }
    overlay.dataset.drawn = "1";
  }

  function drawTimeline() {
    sizeCanvas(timeline);
    const ctx = timeline.getContext("2d");
    const W = timeline.width, H = timeline.height;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#f0efec";
    ctx.fillRect(0, 0, W, H);
    if (!track) return;
    const n = frameCount(), step = W / n;
    const objects = track.objects, several = objects.length > 1;
    const rowH = (H - 8) / objects.length; // below an 8 px strip for anchors and the last change
    objects.forEach((o, row) => {
      const top = 8 + row * rowH, bottom = top + rowH;
      if (several && o.id === chosen()) {
        ctx.fillStyle = "#fde9c9"; // the chosen product's row
        ctx.fillRect(0, top, W, rowH);
      }
      for (let i = 0; i < n; i++) {
        if (o.visible[i]) {
          ctx.fillStyle = several ? o.colour : "#2e9d5b"; // confidence as height
          const h = Math.max(2, o.scores[i] * (rowH - 4));
          ctx.fillRect(i * step, bottom - h, Math.ceil(step), h);
        } else {
          ctx.fillStyle = "rgba(217, 83, 79, 0.55)"; // product hidden or lost
          ctx.fillRect(i * step, top + 2, Math.ceil(step), rowH - 2);
        }
      }
      if (o.revised) {
        ctx.fillStyle = "#f2b705"; // what the last change replaced
        ctx.fillRect(o.revised[0] * step, several ? top : 0, (o.revised[1] - o.revised[0] + 1) * step, 5);
      }
      ctx.fillStyle = "#1d1d24";
      for (const a of o.anchors) ctx.fillRect(a * step, several ? top : 0, Math.max(2, step), 8);
    });
    timeline.dataset.frames = n;
    timeline.dataset.rows = objects.length;
    timeline.dataset.chosen = chosen() || "";
  }

  function drawPlayhead() {
    drawTimeline();
    if (!track) return;
    const ctx = timeline.getContext("2d");
    const x = ((frame + 0.5) * timeline.width) / frameCount();
    ctx.fillStyle = "#e0452b";
    ctx.fillRect(x - 1, 0, 2, timeline.height);
  }

  // Frame-accurate redraws: requestVideoFrameCallback gives each presented frame's timestamp.
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const onFrame = (now, meta) => {
      // Paused, the time we seeked to is exact; playing, the presented frame's own timestamp is.
      draw(video.paused ? frameAt(video.currentTime) : clampFrame(Math.round(meta.mediaTime * fps())));
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  } else {
    const loop = () => { if (!video.paused) { draw(frameAt(video.currentTime)); requestAnimationFrame(loop); } };
    video.addEventListener("play", loop);
  }
  video.addEventListener("seeked", () => draw(frameAt(video.currentTime)));
  video.addEventListener("loadeddata", () => draw(frameAt(video.currentTime)));
  window.addEventListener("resize", () => draw(frame));
  $("show-track").addEventListener("change", () => draw(frame));
  $("fill-mask").addEventListener("change", () => draw(frame));

  // --- playing and scrubbing -----------------------------------------------------------------------

  function seek(i) {
    video.pause();
    i = clampFrame(i);
    video.currentTime = (i + 0.5) / fps(); // the middle of the frame: never rounds to a neighbour
    draw(i);
  }
  function togglePlay() { if (video.paused) video.play(); else video.pause(); }
  video.addEventListener("play", () => { $("play").textContent = "Pause"; });
  video.addEventListener("pause", () => { $("play").textContent = "Play"; });
  $("play").addEventListener("click", togglePlay);
  $("prev").addEventListener("click", () => seek(frame - 1));
  $("next").addEventListener("click", () => seek(frame + 1));

  let scrubbing = false;
  const scrubTo = (ev) => {
    const r = timeline.getBoundingClientRect();
    seek(Math.floor(((ev.clientX - r.left) / r.width) * frameCount()));
  };
  timeline.addEventListener("pointerdown", (ev) => { scrubbing = true; timeline.setPointerCapture(ev.pointerId); scrubTo(ev); });
  timeline.addEventListener("pointermove", (ev) => { if (scrubbing) scrubTo(ev); });
  timeline.addEventListener("pointerup", () => { scrubbing = false; });

  document.addEventListener("keydown", (ev) => {
    // Typing in a field is typing; on a chosen product's radio (or a checkbox), the arrows still step
    // frames and Space still toggles the box.
    const choice = ev.target.closest("input[type=radio], input[type=checkbox]");
    if ((choice && ev.key === " ") || (!choice && ev.target.closest("input, select, textarea"))) return;
    const step = ev.shiftKey ? 10 : 1;
    if (ev.key === " ") { ev.preventDefault(); togglePlay(); }
    else if (ev.key === "ArrowLeft") { ev.preventDefault(); seek(frame - step); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); seek(frame + step); }
    else if (ev.key === "Home") seek(0);
    else if (ev.key === "End") seek(frameCount() - 1);
    else if (ev.key === "i" || ev.key === "I") $("hide-start").value = frame;
    else if (ev.key === "o" || ev.key === "O") { $("hide-end").value = frame; }
  });

  // --- corrections ---------------------------------------------------------------------------------

  const tool = () => document.querySelector("input[name=tool]:checked").value;
  const status = $("correction-status");
  const problem = $("correction-error");
  function toTrack(ev) {
    const r = overlay.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * track.video.width, ((ev.clientY - r.top) / r.height) * track.video.height];
  }
  async function send(url, body, what) {
    problem.textContent = "";
    if (chosen()) body = { ...body, product: chosen() };
    try {
      const result = await HL.postJSON(url, body);
      status.textContent = `${what}: version ${result.version} is being made…`;
      HL.refresh();
    } catch (err) {
      problem.textContent = err.message;
    }
  }
  let start = null;
  overlay.addEventListener("pointerdown", (ev) => {
    if (!track) return;
    video.pause();
    start = toTrack(ev);
    overlay.setPointerCapture(ev.pointerId);
  });
  overlay.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const end = toTrack(ev);
    const s = start;
    start = null;
    const w = Math.abs(end[0] - s[0]), h = Math.abs(end[1] - s[1]);
    if (panel && panel.selected() === "new") { // a new product, clicked or boxed on this frame
      const drawn = w >= 4 && h >= 4;
      const where = drawn ? { box: [Math.min(s[0], end[0]), Math.min(s[1], end[1]), Math.max(s[0], end[0]), Math.max(s[1], end[1])] }
        : { point: [s[0], s[1]] };
      panel.add({ frame, ...where }).then((result) => {
        if (result) status.textContent = `${result.product.name} added on frame ${frame}: it is being tracked…`;
        HL.refresh();
      });
      return;
    }
    if (tool() === "box") {
      if (w < 4 || h < 4) { problem.textContent = "Drag from one corner of the product to the opposite corner."; return; }
      const box = [Math.min(s[0], end[0]), Math.min(s[1], end[1]), Math.max(s[0], end[0]), Math.max(s[1], end[1])];
      send(root.dataset.correctUrl, { frame, boxes: [box] }, `Box on frame ${frame}`);
    } else {
      const positive = tool() === "positive" ? 1 : 0;
      send(root.dataset.correctUrl, { frame, points: [[s[0], s[1], positive]] }, `Click on frame ${frame}`);
    }
  });
  $("hide").addEventListener("click", () => {
    const a = Number($("hide-start").value), b = Number($("hide-end").value);
    send(root.dataset.hideUrl, { start: a, end: b }, `Frames ${a}–${b} not in shot`);
  });
  $("undo").addEventListener("click", async () => {
    problem.textContent = "";
    try { await HL.postJSON(root.dataset.undoUrl); HL.refresh(); } catch (err) { problem.textContent = err.message; }
  });

  const KIND = { initial: "First run", correction: "Click or box", hide: "Not in shot", add: "Added", remove: "Removed" };
  function showVersions(state) {
    const list = $("versions");
    list.textContent = "";
    for (const v of state.versions.slice().reverse()) {
      const li = document.createElement("li");
      let what = KIND[v.kind] || v.kind;
      const product = v.correction.product && (state.product_names || {})[v.correction.product];
      if (v.kind === "add" || v.kind === "remove") what += ` ${product || "a product"}`;
      if (v.kind === "correction") what += ` on frame ${v.correction.frame}`;
      if (v.kind === "hide") what += ` ${v.correction.start}–${v.correction.end}`;
      if (product && (v.kind === "correction" || v.kind === "hide")) what += ` (${product})`;
      li.textContent = `v${v.version} · ${what} · ${v.status}${v.current ? " (shown)" : ""}`;
      li.dataset.version = v.version;
      if (v.current) li.className = "current";
      list.append(li);
    }
    $("undo").disabled = !state.can_undo;
    const working = state.working;
    if (working) status.textContent = `Version ${working.version}: ${working.status === "running" ? "re-tracking" : "waiting"}…`;
    else if (state.track && state.track.summary && state.track.summary.revised && state.track.version > 1) {
      const [a, b] = state.track.summary.revised;
      status.textContent = `Showing version ${state.track.version}: frames ${a}–${b} changed.`;
    }
    if (!working && state.versions.length && state.versions[0].status === "failed") {
      const failed = state.versions[0];
      problem.textContent = `Version ${failed.version} failed. The version shown is unchanged.`;
    }
  }

  function showProducts(state) {
    if (!panel) {
      panel = HL.productPanel($("review-products"), {
        addLabel: "Add a product: click it on the video, or draw a box around it",
        onChoose: () => draw(frame),
        onChanged: () => HL.refresh(),
      });
    }
    panel.update(state.products);
    $("products-hint").hidden = state.products.length < 2;
    const names = $("product-names");
    if (names) names.textContent = state.products.map((p) => p.name).join(", ");
    showProductLooks(state.products);
  }

  HL.onState((state) => { loadTrack(state).then(() => syncProducts(state)); showProducts(state); showVersions(state); });

  // --- rendering -----------------------------------------------------------------------------------

  const form = $("render-form");
  const checked = (name) => Array.from(form.querySelectorAll(`input[name="${name}"]:checked`)).map((b) => b.value);
  // Several products: the same looks for all (the default), or each its own; and whom the camera follows.
  let looksFor = "";
  let focusProducts = []; // the products a focus range may follow (fillRangeChoices)
  function showProductLooks(products) {
    $("product-looks").hidden = products.length < 2;
    const key = products.map((p) => `${p.id}:${p.name}`).join("|");
    if (key === looksFor) return;
    looksFor = key;
    const each = $("looks-each");
    const kept = {};
    each.querySelectorAll("fieldset").forEach((f) => { kept[f.dataset.product] = checked(`looks-${f.dataset.product}`); });
    each.textContent = "";
    const choices = Array.from(form.querySelectorAll("input[name=style]")).map((b) => [b.value, b.closest("label").textContent.trim()]);
    for (const p of products.length > 1 ? products : []) {
      const set = document.createElement("fieldset");
      set.className = "choices";
      set.dataset.product = p.id;
      const legend = document.createElement("legend");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = p.colour;
      legend.append(swatch, ` ${p.name}`);
      set.append(legend);
      const wanted = kept[p.id] || (p.looks ? p.looks.split(",") : checked("style"));
      for (const [value, label] of choices) {
        const line = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.name = `looks-${p.id}`;
        box.value = value;
        box.checked = wanted.includes(value);
        line.append(box, ` ${label}`);
        set.append(line);
      }
      each.append(set);
    }
    const focus = $("focus");
    const was = focus.value;
    focus.querySelectorAll("option[data-product]").forEach((o) => o.remove());
    const byRange = focus.querySelector("option[value=ranges]");
    for (const p of products) focus.insertBefore(productOption(p), byRange);
    focus.value = ["auto", "all", "ranges"].includes(was) || products.some((p) => p.id === was) ? was : "auto";
    focusProducts = products;
    $("focus-range-list").querySelectorAll("select").forEach(fillRangeChoices);
  }
  $("same-looks").addEventListener("change", () => { $("looks-each").hidden = $("same-looks").checked; });

  // The camera's focus by time range: rows of start, end (seconds) and the product (or all of them).
  function productOption(p) {
    const option = new Option(p.name, p.id);
    option.dataset.product = p.id;
    return option;
  }
  function fillRangeChoices(select) {
    const was = select.value;
    select.textContent = "";
    for (const p of focusProducts) select.append(productOption(p));
    select.append(new Option("Every product, while they fit", "all"));
    if (Array.from(select.options).some((o) => o.value === was)) select.value = was;
  }
  // Times to the millisecond below a frame's start, so that the engine (a range covers the frames whose
  // start lies in it) takes exactly the frames meant, whatever the frame rate.
  const frameStart = (i) => Math.floor((i / fps()) * 1000 + 1e-6) / 1000;
  // The shot (inclusive frames) that holds frame i: the whole video when the track has no shots.
  const shotOf = (i) => (track && track.shots || []).find(([a, b]) => a <= i && i <= b) || [0, frameCount() - 1];
  // A new row: from `given` ([start, end, product], a render's range) or, without it, the first range
  // starts at the playhead's frame, the next where the last ends; each runs to the end of its shot.
  function addFocusRange(given) {
    const list = $("focus-range-list");
    const ends = Array.from(list.querySelectorAll("input.range-end")).map((i) => i.valueAsNumber).filter((v) => !Number.isNaN(v));
    const start = Array.isArray(given) ? given[0]
      : ends.length ? Math.min(Math.max(...ends), frameStart(frameCount() - 1)) : frameStart(frameAt(video.currentTime));
    const end = Array.isArray(given) ? given[1] : frameStart(shotOf(frameAt(start))[1] + 1);
    const row = document.createElement("li");
    const number = (cls, value, label) => {
      const input = document.createElement("input");
      Object.assign(input, { type: "number", min: "0", step: "any", className: cls, value: String(value) });
      input.setAttribute("aria-label", label);
      return input;
    };
    const product = document.createElement("select");
    product.className = "range-product";
    product.setAttribute("aria-label", "The camera follows");
    fillRangeChoices(product);
    if (Array.isArray(given) && Array.from(product.options).some((o) => o.value === given[2])) product.value = given[2];
    const from = number("range-start", start, "Start, in seconds");
    const to = number("range-end", end, "End, in seconds");
    const shot = document.createElement("button");
    Object.assign(shot, { type: "button", className: "secondary small whole-shot", textContent: "Its whole shot" });
    shot.addEventListener("click", () => {
      const [a, b] = shotOf(frameAt(Number.isNaN(from.valueAsNumber) ? video.currentTime : from.valueAsNumber));
      from.value = String(frameStart(a));
      to.value = String(frameStart(b + 1));
    });
    const remove = document.createElement("button");
    Object.assign(remove, { type: "button", className: "secondary small remove-range", textContent: "Remove" });
    remove.addEventListener("click", () => row.remove());
    row.append("From ", from, " s to ", to, " s, the camera follows ", product, " ", shot, " ", remove);
    list.append(row);
  }
  function focusRanges() {
    return Array.from($("focus-range-list").querySelectorAll("li")).map((row) => [
      row.querySelector(".range-start").valueAsNumber, row.querySelector(".range-end").valueAsNumber, row.querySelector(".range-product").value,
    ]);
  }
  $("focus").addEventListener("change", () => {
    $("focus-ranges").hidden = $("focus").value !== "ranges";
    if (!$("focus-ranges").hidden && !$("focus-range-list").children.length) addFocusRange();
  });
  $("add-focus-range").addEventListener("click", () => addFocusRange());

  // Once a visit: the camera's focus of the newest render (its ranges too), so that a render made
  // again starts from what the marketer chose last time. A product since removed: auto, as new.
  let focusRestored = false;
  function restoreFocus(state) {
    if (focusRestored || $("product-looks").hidden) return;
    focusRestored = true;
    const last = state.renders[0];
    if (!last) return;
    const focus = $("focus");
    const known = (pid) => pid === "all" || focusProducts.some((p) => p.id === pid);
    if (last.focus_ranges && last.focus_ranges.length && last.focus_ranges.every((range) => known(range[2]))) {
      focus.value = "ranges";
      $("focus-range-list").textContent = "";
      for (const range of last.focus_ranges) addFocusRange(range);
      $("focus-ranges").hidden = false;
    } else if (Array.from(focus.options).some((o) => o.value === last.focus)) {
      focus.value = last.focus;
    }
  }
  HL.onState(restoreFocus); // after the products' choices are built (the listener above)

  async function render(aspects) {
    const style = checked("style");
    const motion = form.querySelector("select[name=motion]").value;
    const body = { style, aspect: aspects, motion };
    if (!$("product-looks").hidden) {
      body.focus = $("focus").value;
      if (body.focus === "ranges") {
        body.focus = "auto";
        body.focus_ranges = focusRanges();
        const problem = !body.focus_ranges.length ? "Add a time range, or choose whom the camera follows for the whole video."
          : body.focus_ranges.some(([start, end]) => Number.isNaN(start) || Number.isNaN(end)) ? "Give each time range a start and an end, in seconds."
          : "";
        if (problem) {
          $("render-error").textContent = problem;
          return;
        }
      }
      if (!$("same-looks").checked) {
        body.looks = {};
        $("looks-each").querySelectorAll("fieldset").forEach((f) => { body.looks[f.dataset.product] = checked(`looks-${f.dataset.product}`); });
      }
    }
    $("render-error").textContent = "";
    try {
      await HL.postJSON(root.dataset.rendersUrl, body);
      HL.refresh();
    } catch (err) {
      $("render-error").textContent = err.message;
    }
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    render(Array.from(form.querySelectorAll("input[name=aspect]:checked")).map((b) => b.value));
  });
  $("render-all").addEventListener("click", () => {
    render(Array.from(form.querySelectorAll("input[name=aspect]")).map((b) => b.value).filter((v) => v !== "source"));
  });
})();
