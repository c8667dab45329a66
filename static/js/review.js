// The review player: the proxy plays in a <video>, the track is drawn over it on a canvas (mask
// outlines, filled or not, and the box), frame-accurately while playing and scrubbing. A timeline shows
// confidence and where the product is hidden or lost. Masks arrive in chunks of CHUNK frames as
// outline polygons in pixels of the normalised video. Clicks on the video correct the track.
(function () {
  const root = document.getElementById("job");
  const video = document.getElementById("review-video");
  if (!root || !video) return;
  const $ = (id) => document.getElementById(id);
  const overlay = $("overlay");
  const timeline = $("timeline");
  const CHUNK = 50;
  const COLOUR = "#00e676"; // the overlay's colour: rare in product footage, easy to see and to test
  let track = null; // the current version's overview: fps, frame count, per-frame visibility and score
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
    drawTimeline();
    draw(frame);
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
    if (!data.visible) { overlay.dataset.drawn = "hidden"; return; }
    const sx = overlay.width / track.video.width, sy = overlay.height / track.video.height;
    ctx.lineWidth = Math.max(2, 2 * (window.devicePixelRatio || 1));
    ctx.strokeStyle = COLOUR;
    ctx.fillStyle = "rgba(0, 230, 118, 0.35)";
    for (const polygon of data.outlines || []) {
      ctx.beginPath();
      polygon.forEach(([x, y], k) => (k ? ctx.lineTo(x * sx, y * sy) : ctx.moveTo(x * sx, y * sy)));
      ctx.closePath();
      if ($("fill-mask").checked) ctx.fill();
      ctx.stroke();
    }
    if (data.box) {
      const [x, y, w, h] = data.box;
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
      ctx.setLineDash([]);
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
    for (let i = 0; i < n; i++) {
      if (track.visible[i]) {
        ctx.fillStyle = "#2e9d5b"; // confidence as height
        const h = Math.max(2, track.scores[i] * (H - 12));
        ctx.fillRect(i * step, H - h, Math.ceil(step), h);
      } else {
        ctx.fillStyle = "rgba(217, 83, 79, 0.55)"; // product hidden or lost
        ctx.fillRect(i * step, 8, Math.ceil(step), H - 8);
      }
    }
    if (track.revised) {
      ctx.fillStyle = "#f2b705"; // what the last change replaced
      ctx.fillRect(track.revised[0] * step, 0, (track.revised[1] - track.revised[0] + 1) * step, 5);
    }
    ctx.fillStyle = "#1d1d24";
    for (const a of track.anchors) ctx.fillRect(a * step, 0, Math.max(2, step), 8);
    timeline.dataset.frames = n;
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
    if (ev.target.closest("input, select, textarea")) return;
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

  const KIND = { initial: "First run", correction: "Click or box", hide: "Not in shot" };
  function showVersions(state) {
    const list = $("versions");
    list.textContent = "";
    for (const v of state.versions.slice().reverse()) {
      const li = document.createElement("li");
      let what = KIND[v.kind] || v.kind;
      if (v.kind === "correction") what += ` on frame ${v.correction.frame}`;
      if (v.kind === "hide") what += ` ${v.correction.start}–${v.correction.end}`;
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

  HL.onState((state) => { loadTrack(state); showVersions(state); });

  // --- rendering -----------------------------------------------------------------------------------

  const form = $("render-form");
  async function render(aspects) {
    const style = Array.from(form.querySelectorAll("input[name=style]:checked")).map((b) => b.value);
    const motion = form.querySelector("select[name=motion]").value;
    $("render-error").textContent = "";
    try {
      await HL.postJSON(root.dataset.rendersUrl, { style, aspect: aspects, motion });
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
