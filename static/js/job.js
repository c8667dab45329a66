// Polls the job's status and updates the page; when done, plays the result and offers the download.
(function () {
  const root = document.getElementById("job");
  if (!root) return;
  const phase = document.getElementById("phase");
  const bar = root.querySelector("#progress .bar");
  const label = root.querySelector("#progress .label");
  const error = document.getElementById("error");
  const results = document.getElementById("results");
  let shown = false;

  function showResults(state) {
    if (shown) return;
    shown = true;
    const track = state.track;
    if (track && track.summary && track.summary.frames) {
      const summary = document.getElementById("summary");
      const pct = Math.round(track.summary.visible_fraction * 100);
      summary.textContent = `Tracked with the ${track.backend} tracker: the product is in shot in ${pct}% of ${track.summary.frames} frames.`;
      summary.hidden = false;
    }
    for (const r of state.renders) {
      const box = document.createElement("div");
      box.className = "result";
      const video = document.createElement("video");
      video.controls = true;
      video.playsInline = true;
      video.src = r.play_url;
      video.className = r.aspect === "9:16" ? "portrait" : "landscape";
      const link = document.createElement("a");
      link.className = "button download";
      link.href = `/renders/${r.id}/download`;
      link.textContent = `Download ${r.download_name}`;
      box.append(video, link);
      results.append(box);
    }
  }

  async function poll() {
    let state;
    try {
      const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.statusText);
      state = await response.json();
    } catch (err) {
      setTimeout(poll, 3000);
      return;
    }
    const pct = Math.round(state.progress * 100);
    bar.style.width = pct + "%";
    label.textContent = pct + "%";
    phase.textContent = state.message;
    phase.dataset.phase = state.phase;
    if (state.phase === "failed") {
      error.hidden = false;
      error.textContent = state.message;
      return;
    }
    if (state.phase === "done") { showResults(state); return; }
    setTimeout(poll, 1000);
  }
  poll();
})();
