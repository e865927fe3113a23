/* The chat sidebar's script: sign the JS-SDK, find the chat's customer, send quick replies.
 * Every word it shows comes from the page's data-msg-* attributes (translated server-side);
 * it writes text with textContent only. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.getAttribute("data-csrf") || "";
  var statusBox = document.getElementById("sidebar-status");

  function msg(name, reason) {
    var text = body.getAttribute("data-msg-" + name) || name;
    return text.replace("{reason}", reason || "");
  }

  function say(text, bad) {
    statusBox.textContent = text;
    statusBox.className = bad ? "status bad" : "status";
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Siyu-Csrf": csrf},
      body: JSON.stringify(data || {})
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || String(response.status)); }
        return answer;
      });
    });
  }

  var configured = null;

  /* wx.config, then wx.agentConfig: resolved once WeCom accepted both signatures. */
  function configure() {
    if (configured) { return configured; }
    configured = new Promise(function (resolve, reject) {
      if (!window.wx || !window.wx.agentConfig) { reject(new Error(msg("no-sdk"))); return; }
      post("/sidebar/signature", {url: location.href.split("#")[0]}).then(function (signed) {
        var apis = signed.jsApiList;
        wx.config({beta: true, debug: false, appId: signed.config.appId,
                   timestamp: signed.config.timestamp, nonceStr: signed.config.nonceStr,
                   signature: signed.config.signature, jsApiList: apis});
        wx.error(function (res) { reject(new Error(msg("failed", res && res.errMsg))); });
        wx.ready(function () {
          wx.agentConfig({
            corpid: signed.agent.corpid, agentid: signed.agent.agentid,
            timestamp: signed.agent.timestamp, nonceStr: signed.agent.nonceStr,
            signature: signed.agent.signature, jsApiList: apis,
            success: function () { resolve(); },
            fail: function (res) {
              reject(new Error(msg("failed", res && (res.errMsg || res.err_msg))));
            }
          });
        });
      }, reject);
    });
    configured.catch(function () { configured = null; });
    return configured;
  }

  function invoke(name, args) {
    return new Promise(function (resolve, reject) {
      wx.invoke(name, args || {}, function (res) {
        if (res && res.err_msg === name + ":ok") { resolve(res); }
        else if (res && /:cancel/.test(res.err_msg || "")) { reject(new Error(msg("cancelled"))); }
        else { reject(new Error(msg("failed", res && res.err_msg))); }
      });
    });
  }

  function findCustomer() {
    configure().then(function () {
      return invoke("getContext");
    }).then(function (context) {
      if (context.entry !== "single_chat_tools") { throw new Error(msg("not-chat")); }
      return invoke("getCurExternalContact");
    }).then(function (res) {
      location.replace("/sidebar/customer?external_userid=" + encodeURIComponent(res.userId));
    }).catch(function (error) {
      var notice = document.querySelector(".siyu-sidebar-finding p");
      if (notice) { notice.textContent = error.message; notice.className = "bad"; }
      else { say(error.message, true); }
    });
  }

  function send(button) {
    var id = button.getAttribute("data-reply");
    var kind = button.getAttribute("data-kind");
    button.disabled = true;
    say(msg("sending"));
    configure().then(function () {
      if (kind === "image") {
        return post("/sidebar/replies/" + id + "/media").then(function (answer) {
          return invoke("sendChatMessage", {msgtype: "image", enterChat: false,
                                            image: {mediaid: answer.media_id}});
        });
      }
      return invoke("sendChatMessage", {msgtype: "text", enterChat: false,
                                        text: {content: button.getAttribute("data-text")}});
    }).then(function () {
      say(msg("sent"));
      return post("/sidebar/replies/" + id + "/used").catch(function () { return null; });
    }).catch(function (error) {
      say(error.message, true);
    }).then(function () { button.disabled = false; });
  }

  function filterReplies(input) {
    var words = input.value.trim().toLowerCase();
    var items = document.querySelectorAll(".siyu-sidebar-reply");
    Array.prototype.forEach.call(items, function (item) {
      var hit = !words || item.getAttribute("data-search").indexOf(words) >= 0;
      item.style.display = hit ? "" : "none";
    });
    Array.prototype.forEach.call(document.querySelectorAll(".siyu-sidebar-category"),
      function (group) { if (words) { group.open = true; } });
  }

  var view = body.getAttribute("data-view");
  if (view === "shell") { findCustomer(); }
  if (view === "customer") {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button.send") : null;
      if (button) { send(button); }
    });
    var search = document.querySelector(".siyu-sidebar-search");
    if (search) { search.addEventListener("input", function () { filterReplies(search); }); }
    if (statusBox.textContent) {
      setTimeout(function () { if (!statusBox.classList.contains("bad")) { say(""); } }, 4000);
    }
  }
})();
