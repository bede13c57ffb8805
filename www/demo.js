// The demo page: asks the edge Worker this page is served from.
const result = document.getElementById("result");
document.getElementById("check").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = document.getElementById("email").value;
  result.textContent = "…";
  try {
    const response = await fetch(`/v1/verify?email=${encodeURIComponent(email)}`);
    result.textContent = JSON.stringify(await response.json(), null, 2);
  } catch (error) {
    result.textContent = `The check could not be made: ${error.message}`;
  }
});
fetch("/healthz")
  .then((r) => r.json())
  .then((h) => { document.getElementById("health").textContent = `${h.status} (${h.service} ${h.version})`; })
  .catch(() => { document.getElementById("health").textContent = "unreachable"; });
