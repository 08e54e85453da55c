/* outage-notify banner. Embed: <script src="https://HOST/banner.js" data-area="CODE" async></script>
   Optional data-lang="en" or "zh-CN" (else the page's lang). No dependencies; text from the
   data only ever goes in through textContent. */
(function () {
  "use strict";
  var d = document, KEY = "outage-notify:dismissed:", me = d.currentScript;
  if (!me) { // no currentScript (old browsers): the first banner script not yet claimed
    var all = d.querySelectorAll('script[src*="banner.js"]');
    for (var i = 0; i < all.length && !me; i++) if (!all[i].hasAttribute("data-claimed")) me = all[i];
  }
  if (!me) return;
  me.setAttribute("data-claimed", "");
  var area = me.getAttribute("data-area") || "";
  var url = new URL("banner.json", me.src);
  if (area) url.searchParams.set("area", area);
  var UI = { "zh-CN": { more: "详情", close: "关闭通知" }, en: { more: "Details", close: "Dismiss notice" } };
  var CSS = ":host{all:initial;display:block}" +
    ".w{font:15px/1.45 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;color:#1b1b1b}" +
    ".i{display:flex;gap:.75em;align-items:flex-start;margin:0 0 2px;padding:.6em .9em;" +
    "background:#fff4e0;border-left:6px solid #b35900}" +
    ".i.CANCELLED,.i.RESTORED{background:#e9f7ee;border-color:#1e7a3c}" +
    "p{margin:0;flex:1;overflow-wrap:anywhere}strong{font-weight:700}a{color:#0b4fa8}" +
    "button{flex:none;font:inherit;font-size:1.25em;line-height:1;padding:.1em .45em;border:0;" +
    "border-radius:4px;background:transparent;color:inherit;cursor:pointer}" +
    "button:hover{background:rgba(0,0,0,.08)}button:focus-visible{outline:3px solid #0b4fa8}";

  function language(data) {
    var l = me.getAttribute("data-lang") || d.documentElement.lang || navigator.language || "";
    return /^zh/i.test(l) ? "zh-CN" : /^en/i.test(l) ? "en" : data.default_language || "zh-CN";
  }
  function seen(k) { try { return localStorage.getItem(k) === "1"; } catch (e) { return false; } }
  function remember(k) { try { localStorage.setItem(k, "1"); } catch (e) { /* storage off */ } }
  function el(tag, text, cls) {
    var n = d.createElement(tag);
    if (text) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }

  function show(data, now) {
    var lang = language(data), ui = UI[lang] || UI.en;
    var tel = String(data.hotline || "").replace(/[^\d+*#]/g, "");
    var items = (data.outages || []).filter(function (o) {
      return (!area || (o.areas || []).indexOf(area) >= 0) &&
        Date.parse(o.show_from) <= now && now < Date.parse(o.show_until) &&
        !seen(KEY + o.id + ":" + o.revision);
    });
    if (!items.length) return;
    var host = el("outage-notify-banner");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var box = el("div", "", "w");
    box.setAttribute("role", "status");
    box.setAttribute("lang", lang);
    items.forEach(function (o) {
      var item = el("div", "", "i " + o.state), p = el("p"), b = el("button", "\u00d7");
      item.setAttribute("data-outage", o.id + ":" + o.revision);
      p.appendChild(el("strong", o.title));
      // The hotline in the text becomes a tel: link (only digits, + * # reach its URL).
      (" " + ((o.text || {})[lang] || "") + " ").split(tel ? data.hotline : undefined).forEach(
        function (part, i) {
          if (i) { var h = el("a", data.hotline); h.href = "tel:" + tel; p.appendChild(h); }
          p.appendChild(d.createTextNode(part));
        });
      if (/^https?:\/\//i.test(o.url)) { // only http(s): never a javascript: URL from the data
        var a = el("a", ui.more);
        a.href = o.url;
        p.appendChild(a);
      }
      b.type = "button";
      b.setAttribute("aria-label", ui.close);
      function close() {
        remember(KEY + o.id + ":" + o.revision);
        box.removeChild(item);
        if (!box.firstChild) host.parentNode.removeChild(host);
      }
      b.addEventListener("click", close);
      item.addEventListener("keydown", function (e) {
        if (e.key === "Escape" || e.key === "Esc") { e.preventDefault(); close(); }
      });
      item.appendChild(p);
      item.appendChild(b);
      box.appendChild(item);
    });
    root.appendChild(el("style", CSS));
    root.appendChild(box);
    var body = d.body;
    if (body.contains(me)) me.parentNode.insertBefore(host, me); // where the site put the tag
    else body.insertBefore(host, body.firstChild);
  }

  fetch(url.href, { credentials: "omit" }).then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status);
    // The server's clock decides what is due, when it tells (a wrong PC clock must not hide it).
    var now = Date.parse(r.headers.get("Date") || "") || Date.now();
    return r.json().then(function (data) {
      if (d.body) show(data, now);
      else d.addEventListener("DOMContentLoaded", function () { show(data, now); });
    });
  }).catch(function (e) { if (window.console) console.warn("outage-notify banner:", e); });
})();
