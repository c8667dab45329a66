// Small helpers shared by the pages: JSON posts with Django's CSRF token, "time left" text, and
// forms that ask before they are sent.
window.HL = (function () {
  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function postJSON(url, data) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(data || {}),
    });
    let body = {};
    try { body = await response.json(); } catch (err) { body = {}; }
    if (!response.ok) throw new Error(body.error || `The request failed (${response.status}). Try again.`);
    return body;
  }

  function timeLeft(seconds) {
    if (seconds == null || !isFinite(seconds)) return "";
    if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
    return `about ${Math.round(seconds / 60)} min left`;
  }

  // A form with data-confirm asks before it is sent (an inline onsubmit would break the page's CSP).
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  return { csrfToken, postJSON, timeLeft };
})();
