// Myconet web app: the little script htmx does not cover. Loaded from this
// origin only (the Content-Security-Policy forbids inline code).
(function () {
  "use strict";

  // Search: results stream in as they arrive; once the node has ranked them
  // all, put them in its order.
  function rankResults() {
    var ranked = document.getElementById("ranked");
    var list = document.getElementById("results");
    if (!ranked || !list) return;
    var note = document.getElementById("searching");
    if (note) note.hidden = true;
    var order = (ranked.getAttribute("data-order") || "").split(" ");
    order.forEach(function (id) {
      var el = document.getElementById("r-" + id);
      if (el) list.appendChild(el);
    });
  }

  // Publish: files and folders from the pickers or dropped on the zone, sent
  // with their relative paths, with an upload progress bar.
  var picked = [];

  function addFile(file, path) {
    picked.push({ file: file, path: path || file.webkitRelativePath || file.name });
  }

  function showPicked() {
    var out = document.getElementById("picked");
    if (!out) return;
    var total = 0;
    picked.forEach(function (p) { total += p.file.size; });
    out.textContent = picked.length === 0 ? "No files chosen." :
      picked.length + " file(s), " + fmtSize(total) + ": " +
      picked.slice(0, 8).map(function (p) { return p.path; }).join(", ") + (picked.length > 8 ? ", …" : "");
  }

  function fmtSize(n) {
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }

  function walk(entry, prefix, done) {
    if (entry.isFile) {
      entry.file(function (f) { addFile(f, prefix + f.name); done(); }, done);
      return;
    }
    if (!entry.isDirectory) { done(); return; }
    var reader = entry.createReader(), all = [];
    (function more() {
      reader.readEntries(function (batch) {
        if (batch.length) { all = all.concat(Array.prototype.slice.call(batch)); more(); return; }
        var left = all.length;
        if (!left) { done(); return; }
        all.forEach(function (e) { walk(e, prefix + entry.name + "/", function () { if (--left === 0) done(); }); });
      }, done);
    })();
  }

  function setupPublish() {
    var form = document.getElementById("publish-form");
    if (!form) return;
    var files = form.querySelector("input[name=files]");
    var folder = form.querySelector("input[name=folder]");
    [files, folder].forEach(function (inp) {
      if (!inp) return;
      inp.addEventListener("change", function () {
        picked = [];
        Array.prototype.forEach.call(inp.files, function (f) { addFile(f); });
        if (inp === files && folder) folder.value = "";
        if (inp === folder && files) files.value = "";
        showPicked();
      });
    });
    var zone = document.getElementById("dropzone");
    if (zone) {
      zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        zone.classList.remove("over");
        picked = [];
        var items = e.dataTransfer.items, left = 0, entries = [];
        if (items && items.length && items[0].webkitGetAsEntry) {
          Array.prototype.forEach.call(items, function (it) { var en = it.webkitGetAsEntry(); if (en) entries.push(en); });
        }
        if (!entries.length) {
          Array.prototype.forEach.call(e.dataTransfer.files, function (f) { addFile(f); });
          showPicked();
          return;
        }
        left = entries.length;
        entries.forEach(function (en) { walk(en, "", function () { if (--left === 0) showPicked(); }); });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var fd = new FormData();
      fd.append("csrf", form.querySelector("input[name=csrf]").value);
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.name === "csrf" || el.type === "file" || el.type === "submit") return;
        fd.append(el.name, el.value);
      });
      picked.forEach(function (p) { fd.append("file", p.file, p.path); });
      var bar = document.getElementById("upload-progress");
      var note = document.getElementById("upload-note");
      var btn = form.querySelector("button[type=submit]");
      btn.setAttribute("aria-busy", "true");
      btn.disabled = true;
      bar.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) {
          bar.max = ev.total; bar.value = ev.loaded;
          note.textContent = "Uploading " + fmtSize(ev.loaded) + " of " + fmtSize(ev.total);
        }
      };
      xhr.upload.onload = function () { bar.removeAttribute("value"); note.textContent = "Importing and signing…"; };
      xhr.onload = function () {
        if (xhr.status === 200 && xhr.responseURL && xhr.responseURL.indexOf("/ui/package/") >= 0) {
          window.location.assign(xhr.responseURL);
          return;
        }
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = doc.getElementById("publish-form");
        if (fresh) {
          form.replaceWith(fresh);
          setupPublish();
          var bad = fresh.querySelector("[aria-invalid=true]");
          if (bad) bad.focus();
          showPicked();
        } else {
          note.textContent = "Publishing failed (" + xhr.status + "): " + (doc.body ? doc.body.textContent.trim().slice(0, 300) : "");
          btn.disabled = false; btn.removeAttribute("aria-busy");
        }
      };
      xhr.onerror = function () {
        note.textContent = "Upload failed: the node did not answer.";
        btn.disabled = false; btn.removeAttribute("aria-busy");
      };
      xhr.send(fd);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    rankResults();
    setupPublish();
  });
})();
