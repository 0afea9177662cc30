// The FewStep playground: plain JS against the app's own API (POST /api/generations, its status URL,
// DELETE to cancel, GET /api/v1/models). The function key is typed by the user and kept in sessionStorage only.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const keyStore = "fewstep-function-key";
  const pollMs = 250;
  let current = null; // { id, statusUrl, aborted }
  let debounce = null;

  $("key").value = sessionStorage.getItem(keyStore) || "";
  $("key").addEventListener("change", () => {
    sessionStorage.setItem(keyStore, $("key").value.trim());
    loadModels();
  });

  function headers(json) {
    const h = {};
    const key = sessionStorage.getItem(keyStore);
    if (key) h["x-functions-key"] = key;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }

  function say(text, error) {
    $("status").textContent = text;
    $("status").classList.toggle("error", !!error);
  }

  // An error body of either API: RFC 9457 problems (errors by field) or OpenAI's {"error": {...}}.
  async function describe(response) {
    try {
      const body = await response.json();
      if (body.error && body.error.message) return body.error.message;
      if (body.errors) return Object.entries(body.errors).map(([f, m]) => `${f} ${m.join(" ")}`).join("; ");
      return body.detail || body.title || `HTTP ${response.status}`;
    } catch {
      return response.status === 401 ? "The function key was refused (401)." : `HTTP ${response.status}`;
    }
  }

  async function loadModels() {
    const response = await fetch("v1/models", { headers: headers(false) });
    if (!response.ok) {
      say(`Models: ${await describe(response)}`, true);
      return;
    }
    const list = await response.json();
    const select = $("model");
    const chosen = select.value;
    select.replaceChildren(...list.data.map((m) => new Option(m.id, m.id)));
    if (chosen && list.data.some((m) => m.id === chosen)) select.value = chosen;
    say(list.data.length ? `${list.data.length} model(s) installed.` : "No models are installed.", !list.data.length);
  }

  function request() {
    const body = { model: $("model").value, prompt: $("prompt").value, num_images_per_prompt: Number($("count").value || 1) };
    const size = /^(\d+)x(\d+)$/.exec($("size").value.trim());
    if (size) { body.width = Number(size[1]); body.height = Number(size[2]); }
    if ($("steps").value) body.num_inference_steps = Number($("steps").value);
    if ($("seed").value) body.seed = Number($("seed").value);
    return body;
  }

  async function cancel(run) {
    run.aborted = true;
    try { await fetch(run.statusUrl, { method: "DELETE", headers: headers(false) }); } catch { /* best effort */ }
  }

  async function generate() {
    if (!$("prompt").value.trim()) { say("Type a prompt.", true); return; }
    if (current && !current.done) await cancel(current);
    const started = performance.now();
    say("Starting...");
    const response = await fetch("generations", { method: "POST", headers: headers(true), body: JSON.stringify(request()) });
    if (response.status !== 202) { say(await describe(response), true); return; }
    const accepted = await response.json();
    const run = { id: accepted.id, statusUrl: accepted.status_url, aborted: false, done: false, shown: new Set() };
    current = run;
    $("images").replaceChildren();
    $("preview-box").hidden = true;
    while (!run.aborted) {
      const poll = await fetch(run.statusUrl, { headers: headers(false) });
      if (!poll.ok) { say(await describe(poll), true); return; }
      const status = await poll.json();
      if (run.aborted) return;
      show(run, status, started);
      if (["succeeded", "failed", "canceled"].includes(status.status)) { run.done = true; return; }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  function show(run, status, started) {
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const progress = `${status.progress.completed}/${status.progress.total}`;
    if (status.preview) {
      $("preview-box").hidden = false;
      $("preview").src = status.preview.image;
      $("preview-step").textContent = `step ${status.preview.step}/${status.preview.steps}`;
    }
    for (const image of status.images) {
      if (run.shown.has(image.blob)) continue;
      run.shown.add(image.blob);
      const img = new Image();
      img.alt = `image ${image.prompt_index}-${image.image_index}, seed ${image.seed}`;
      img.dataset.seed = image.seed;
      img.src = image.url;
      $("images").append(img);
    }
    if (status.status === "succeeded") { $("preview-box").hidden = true; say(`Done: ${progress} images in ${seconds} s (seed ${status.seed}).`); }
    else if (status.status === "failed") say(`Failed: ${status.error ? status.error.message : "see the logs"}`, true);
    else if (status.status === "canceled") say("Canceled.");
    else say(`${status.status}: ${progress} images, ${seconds} s`);
  }

  $("form").addEventListener("submit", (e) => { e.preventDefault(); generate().catch((err) => say(String(err), true)); });
  $("prompt").addEventListener("input", () => {
    if (!$("live").checked) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => generate().catch((err) => say(String(err), true)), 400);
  });

  loadModels().catch((err) => say(String(err), true));
})();
