// The chat playground: posts the conversation to /playground/chat and renders the proxy's
// event stream (OpenAI chat chunks) as it arrives. The conversation lives in this page only:
// nothing is written to any browser storage, and no key ever reaches the browser.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function formatMs(ms) {
    return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(2) + " s";
  }

  function init(root) {
    var messages = JSON.parse(root.getAttribute("data-messages") || "{}");
    var url = root.getAttribute("data-chat-url");
    var conversation = document.getElementById("pg-conversation");
    var alerts = document.getElementById("pg-alerts");
    var composer = document.getElementById("pg-composer");
    var prompt = document.getElementById("pg-prompt");
    var send = document.getElementById("pg-send");
    var stop = document.getElementById("pg-stop");
    var clear = document.getElementById("pg-clear");
    var metrics = document.getElementById("pg-metrics");
    var history = [];
    var controller = null;

    function metric(name, value) {
      metrics.querySelector('[data-metric="' + name + '"]').textContent = value;
    }

    function showError(code, detail) {
      alerts.textContent = "";
      var alert = document.createElement("div");
      alert.className = "pf-v6-c-alert pf-m-danger pf-m-inline";
      alert.setAttribute("data-testid", "playground-error");
      alert.setAttribute("data-error-code", code);
      var title = document.createElement("p");
      title.className = "pf-v6-c-alert__title";
      var text = messages[code] || messages.unknown;
      if (detail && (code === "playground_model_refused" || code === "playground_invalid_request")) {
        text += " " + detail;
      }
      title.textContent = text;
      alert.appendChild(title);
      alerts.appendChild(alert);
    }

    function bubble(role, text) {
      var item = document.createElement("li");
      item.className = "lm-playground__message lm-playground__message--" + role;
      item.setAttribute("data-role", role);
      var who = document.createElement("span");
      who.className = "lm-playground__who";
      who.textContent = role === "user" ? messages.you : messages.assistant;
      var body = document.createElement("div");
      body.className = "lm-playground__text";
      body.textContent = text;
      item.appendChild(who);
      item.appendChild(body);
      conversation.appendChild(item);
      return body;
    }

    function busy(on) {
      send.disabled = on;
      stop.disabled = !on;
      clear.disabled = on;
    }

    function payload() {
      var model = document.getElementById("pg-model").value;
      var system = document.getElementById("pg-system").value.trim();
      var temperature = parseFloat(document.getElementById("pg-temperature").value);
      var maxTokens = parseInt(document.getElementById("pg-max-tokens").value, 10);
      var turns = system ? [{ role: "system", content: system }] : [];
      var body = { model: model, messages: turns.concat(history) };
      if (!isNaN(temperature)) body.temperature = temperature;
      if (!isNaN(maxTokens)) body.max_tokens = maxTokens;
      return body;
    }

    async function errorOf(response) {
      var code = response.status === 403 || response.status === 401 ? "forbidden" : "unknown";
      var detail = "";
      if ((response.headers.get("content-type") || "").indexOf("application/json") === 0) {
        try {
          var body = await response.json();
          code = body.error || code;
          detail = body.detail || "";
        } catch (e) {
          /* not JSON after all */
        }
      }
      return { code: code, detail: detail };
    }

    async function turn(text) {
      alerts.textContent = "";
      history.push({ role: "user", content: text });
      bubble("user", text);
      var answer = bubble("assistant", "");
      answer.parentNode.setAttribute("aria-busy", "true");
      ["ttft", "total", "tokens"].forEach(function (name) { metric(name, "…"); });
      controller = new AbortController();
      busy(true);
      var started = performance.now();
      var first = null;
      var content = "";
      var outcome = "done";
      try {
        var response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken(), Accept: "text/event-stream" },
          body: JSON.stringify(payload()),
          signal: controller.signal,
        });
        if (!response.ok || !response.body) {
          var error = await errorOf(response);
          showError(error.code, error.detail);
          outcome = "failed";
        } else {
          var reader = response.body.getReader();
          var decoder = new TextDecoder();
          var buffer = "";
          for (;;) {
            var chunk = await reader.read();
            if (chunk.done) break;
            buffer += decoder.decode(chunk.value, { stream: true });
            var events = buffer.split("\n\n");
            buffer = events.pop();
            for (var i = 0; i < events.length; i++) {
              var line = events[i].trim();
              if (line.indexOf("data:") !== 0) continue;
              var data = line.slice(5).trim();
              if (data === "[DONE]") continue;
              var event;
              try {
                event = JSON.parse(data);
              } catch (e) {
                continue;
              }
              if (event.error) {
                showError(event.error.code === "stream_broken" ? "stream_broken" : "playground_model_refused", event.error.message || "");
                outcome = "failed";
                continue;
              }
              var delta = event.choices && event.choices[0] && event.choices[0].delta;
              if (delta && delta.content) {
                if (first === null) {
                  first = performance.now() - started;
                  metric("ttft", formatMs(first));
                }
                content += delta.content;
                answer.textContent = content;
              }
              if (event.usage) {
                metric("tokens", event.usage.prompt_tokens + " / " + event.usage.completion_tokens);
              }
            }
          }
        }
      } catch (e) {
        if (e && e.name === "AbortError") {
          outcome = "stopped";
        } else {
          showError("upstream_unavailable", "");
          outcome = "failed";
        }
      }
      controller = null;
      busy(false);
      answer.parentNode.removeAttribute("aria-busy");
      metric("total", formatMs(performance.now() - started));
      if (first === null) metric("ttft", "–");
      if (metrics.querySelector('[data-metric="tokens"]').textContent === "…") metric("tokens", "–");
      if (outcome === "stopped") {
        var note = document.createElement("span");
        note.className = "lm-playground__stopped";
        note.setAttribute("data-testid", "playground-stopped");
        note.textContent = messages.stopped;
        answer.parentNode.appendChild(note);
      }
      var item = answer.parentNode;
      item.setAttribute("data-outcome", outcome);
      if (content) {
        // A stopped answer stays in the conversation as far as it got.
        history.push({ role: "assistant", content: content });
      } else {
        // No answer: the question goes back to the message box, to send again.
        item.remove();
        var asked = conversation.lastElementChild;
        if (asked) asked.remove();
        history.pop();
        if (!prompt.value) prompt.value = text;
      }
    }

    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = prompt.value.trim();
      if (!text || controller) return;
      prompt.value = "";
      turn(text);
    });
    prompt.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });
    stop.addEventListener("click", function () {
      if (controller) controller.abort();
    });
    clear.addEventListener("click", function () {
      history = [];
      conversation.textContent = "";
      alerts.textContent = "";
      ["ttft", "total", "tokens"].forEach(function (name) { metric(name, "–"); });
      prompt.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("playground");
    if (root) init(root);
  });
})();
