// Calls the app's /api/me, which calls the API with the user's token on the
// server, and shows the answer.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("call-api");
  const out = document.getElementById("api-result");
  if (!button) return;
  button.addEventListener("click", async () => {
    out.textContent = "calling...";
    try {
      const resp = await fetch("/api/me", { headers: { Accept: "application/json" } });
      const answer = await resp.json();
      out.textContent = JSON.stringify(answer, null, 2);
      out.dataset.status = String(answer.status ?? resp.status);
    } catch (err) {
      out.textContent = "error: " + err;
    }
  });
});
