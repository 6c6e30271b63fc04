// Compare any two versions of a policy, in the browser, from each version's blocks
// (<policy>/compare/<version>.json, written by the build). A line-by-line port of
// legal_pages/redline.py, so the redline here is the one the build makes for consecutive
// versions (a test checks both give the same HTML). Only this site's own files are fetched.
(function () {
  "use strict";

  // -- difflib.SequenceMatcher (autojunk off, no junk), on lists of strings ----------------------
  function matchingBlocks(a, b) {
    var b2j = new Map();
    b.forEach(function (x, j) {
      if (!b2j.has(x)) b2j.set(x, []);
      b2j.get(x).push(j);
    });
    function longest(alo, ahi, blo, bhi) {
      var besti = alo, bestj = blo, bestsize = 0, j2len = new Map();
      for (var i = alo; i < ahi; i++) {
        var newj2len = new Map(), js = b2j.get(a[i]) || [];
        for (var n = 0; n < js.length; n++) {
          var j = js[n];
          if (j < blo) continue;
          if (j >= bhi) break;
          var k = (j2len.get(j - 1) || 0) + 1;
          newj2len.set(j, k);
          if (k > bestsize) { besti = i - k + 1; bestj = j - k + 1; bestsize = k; }
        }
        j2len = newj2len;
      }
      while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) { besti--; bestj--; bestsize++; }
      while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
      return [besti, bestj, bestsize];
    }
    var queue = [[0, a.length, 0, b.length]], found = [];
    while (queue.length) {
      var q = queue.pop(), m = longest(q[0], q[1], q[2], q[3]);
      if (m[2]) {
        found.push(m);
        if (q[0] < m[0] && q[2] < m[1]) queue.push([q[0], m[0], q[2], m[1]]);
        if (m[0] + m[2] < q[1] && m[1] + m[2] < q[3]) queue.push([m[0] + m[2], q[1], m[1] + m[2], q[3]]);
      }
    }
    found.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    var merged = [], i1 = 0, j1 = 0, k1 = 0;
    found.forEach(function (m) {
      if (i1 + k1 === m[0] && j1 + k1 === m[1]) k1 += m[2];
      else { if (k1) merged.push([i1, j1, k1]); i1 = m[0]; j1 = m[1]; k1 = m[2]; }
    });
    if (k1) merged.push([i1, j1, k1]);
    merged.push([a.length, b.length, 0]);
    return merged;
  }

  function opcodes(a, b) {
    var i = 0, j = 0, out = [];
    matchingBlocks(a, b).forEach(function (m) {
      var tag = i < m[0] && j < m[1] ? "replace" : i < m[0] ? "delete" : j < m[1] ? "insert" : "";
      if (tag) out.push([tag, i, m[0], j, m[1]]);
      i = m[0] + m[2]; j = m[1] + m[2];
      if (m[2]) out.push(["equal", m[0], i, m[1], j]);
    });
    return out;
  }

  function ratio(a, b) {
    var matches = matchingBlocks(a, b).reduce(function (sum, m) { return sum + m[2]; }, 0);
    var length = a.length + b.length;
    return length ? 2.0 * matches / length : 1.0;
  }

  // -- blocks ---------------------------------------------------------------------------------
  var VOID = { br: 1, img: 1, wbr: 1 };
  var THRESHOLD = 0.5;

  function prepare(block) {  // words, keys, once
    if (block.c) block.c.forEach(prepare);
    block.words = block.c ? [].concat.apply([], block.c.map(function (c) { return c.words; }))
      : block.p.filter(function (p) { return !p[3]; }).map(function (p) { return p[0]; });
    if (block.h) {  // an element is its HTML: the same HTML, the same block
      block.key = JSON.stringify([block.t, block.h]);
    } else {
      var pieces = allPieces(block);
      var attrs = block.a.slice().sort(function (x, y) { return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0; });
      block.key = JSON.stringify([block.t, attrs, block.words, pieces.map(function (p) { return [p[1], p[2], p[3]]; })]);
    }
    if (block.p) block.pkeys = block.p.map(function (p) { return JSON.stringify(p); });
    return block;
  }

  function allPieces(block) {
    return block.c ? [].concat.apply([], block.c.map(allPieces)) : block.p;
  }

  function similarity(a, b) {
    if (a.t !== b.t || !a.c !== !b.c) return 0.0;
    if (!a.words.length && !b.words.length) return 1.0;
    return ratio(a.words, b.words);
  }

  function pair(old, neu) {
    var steps = [];
    opcodes(old.map(function (b) { return b.key; }), neu.map(function (b) { return b.key; })).forEach(function (op) {
      if (op[0] === "equal") {
        for (var k = 0; k < op[2] - op[1]; k++) steps.push([old[op[1] + k], neu[op[3] + k]]);
      } else {
        steps.push.apply(steps, bestPairing(old.slice(op[1], op[2]), neu.slice(op[3], op[4])));
      }
    });
    return steps;
  }

  function bestPairing(old, neu) {
    var n = old.length, m = neu.length, i, j;
    var sim = old.map(function (a) { return neu.map(function (b) { return similarity(a, b); }); });
    var weight = old.map(function (a) { return neu.map(function (b) { return a.words.length + b.words.length + 1; }); });
    var best = [];
    for (i = 0; i <= n; i++) { best.push([]); for (j = 0; j <= m; j++) best[i].push(0.0); }
    for (i = n - 1; i >= 0; i--) {
      for (j = m - 1; j >= 0; j--) {
        var paired = sim[i][j] >= THRESHOLD ? best[i + 1][j + 1] + sim[i][j] * weight[i][j] : -1.0;
        best[i][j] = Math.max(best[i + 1][j], best[i][j + 1], paired);
      }
    }
    var steps = [];
    i = 0; j = 0;
    while (i < n && j < m) {
      if (sim[i][j] >= THRESHOLD && best[i][j] === best[i + 1][j + 1] + sim[i][j] * weight[i][j]) {
        steps.push([old[i], neu[j]]); i++; j++;
      } else if (best[i][j] === best[i + 1][j]) {
        steps.push([old[i], null]); i++;
      } else {
        steps.push([null, neu[j]]); j++;
      }
    }
    for (; i < n; i++) steps.push([old[i], null]);
    for (; j < m; j++) steps.push([null, neu[j]]);
    return steps;
  }

  // -- output ---------------------------------------------------------------------------------
  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }

  function open(tag, attrs) {
    return "<" + tag + attrs.map(function (kv) { return " " + kv[0] + '="' + escape(kv[1]) + '"'; }).join("") + ">";
  }

  function runs(marked) {  // [status, piece]; piece = [text, path json, space, void]
    var out = "", k = 0;
    while (k < marked.length) {
      var status = marked[k][0], first = marked[k][1], end = k;
      while (end + 1 < marked.length && marked[end + 1][0] === status && !first[3] &&
             !marked[end + 1][1][3] && marked[end + 1][1][1] === first[1]) end++;
      if (first[3]) {
        out += (status !== "-" ? first[0] : "") + (first[2] ? " " : "");
        k++;
        continue;
      }
      var path = JSON.parse(first[1]), body = "";
      for (var r = k; r <= end; r++) body += escape(marked[r][1][0]) + (marked[r][1][2] ? " " : "");
      var inner = path.map(function (step) { return open(step[0], step[1]); }).join("") + body +
        path.slice().reverse().map(function (step) { return "</" + step[0] + ">"; }).join("");
      var mark = { "=": "", "+": "ins", "-": "del" }[status];
      out += mark ? "<" + mark + ">" + inner + "</" + mark + ">" : inner;
      k = end + 1;
    }
    return out;
  }

  function wordDiff(old, neu) {
    var marked = [];
    opcodes(old.pkeys, neu.pkeys).forEach(function (op) {
      var k;
      if (op[0] === "equal") {
        for (k = op[3]; k < op[4]; k++) marked.push(["=", neu.p[k]]);
      } else {
        for (k = op[1]; k < op[2]; k++) marked.push(["-", old.p[k]]);
        for (k = op[3]; k < op[4]; k++) marked.push(["+", neu.p[k]]);
      }
    });
    return runs(marked);
  }

  function wrap(block, inner, keepId) {
    if (block.t === null) return inner;
    var attrs = block.a.filter(function (kv) { return keepId || kv[0] !== "id"; });
    if (VOID[block.t] || block.t === "hr") return open(block.t, attrs);
    return open(block.t, attrs) + inner + "</" + block.t + ">";
  }

  function whole(block, status) {
    var inner = block.c ? block.c.map(function (c) { return whole(c, status); }).join("\n")
      : runs(block.p.map(function (p) { return [status, p]; }));
    return wrap(block, inner, status !== "-");
  }

  function diffBlocks(old, neu, top) {
    var out = [], group = [], groupStatus = "";
    function flush() {
      if (group.length) {
        var kind = groupStatus === "+" ? "ins" : "del";
        out.push(top ? '<div class="legal-block legal-block--' + kind + '">\n' + group.join("\n") + "\n</div>"
          : group.join("\n"));
        group = [];
      }
      groupStatus = "";
    }
    pair(old, neu).forEach(function (step) {
      var a = step[0], b = step[1];
      if (a && b) {
        flush();
        if (a.key === b.key) out.push(b.h || whole(b, "="));  // the same block, as it is
        else if (!b.c) out.push(wrap(b, wordDiff(a, b), true));
        else out.push(wrap(b, "\n" + diffBlocks(a.c, b.c, false) + "\n", true));
        return;
      }
      var status = a ? "-" : "+";
      if (status !== groupStatus) { flush(); groupStatus = status; }
      var block = b || a;
      if (block.words.length || block.t !== null) group.push(whole(block, status));
    });
    flush();
    return out.join("\n");
  }

  function redline(oldData, newData) {
    return diffBlocks(oldData.blocks.map(prepare), newData.blocks.map(prepare), true);
  }

  // -- the page -------------------------------------------------------------------------------
  function load(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  function show(form) {
    var from = form.querySelector("[name=from]").value, to = form.querySelector("[name=to]").value;
    var out = document.querySelector("[data-compare-output]");
    var status = document.querySelector("[data-compare-status]");
    if (from === to) {
      out.innerHTML = "";
      status.textContent = say(status, "same", {});
      return;
    }
    status.textContent = say(status, "busy", {});
    Promise.all([load(form.getAttribute("data-base") + from + ".json"),
                 load(form.getAttribute("data-base") + to + ".json")]).then(function (data) {
      out.innerHTML = redline(data[0], data[1]);
      var count = out.querySelectorAll("ins, del").length;
      status.textContent = say(status, count ? "marked" : "unchanged",
                               { new: labelOf(form, "to"), old: labelOf(form, "from"), count: count });
      if (history.replaceState) history.replaceState(null, "", "#from=" + from + "&to=" + to);
    }).catch(function (error) {
      status.textContent = say(status, "failed", { error: error.message });
    });
  }

  /** A status text in the page's language: the site puts each in a data-text-* attribute. */
  function say(status, key, values) {
    var text = status.getAttribute("data-text-" + key) || key;
    return text.replace(/\{([a-z_]+)\}/g, function (m, name) { return name in values ? String(values[name]) : m; });
  }

  function labelOf(form, name) {
    var select = form.querySelector("[name=" + name + "]");
    return select.options[select.selectedIndex].text;
  }

  function setup() {
    var form = document.querySelector("[data-compare]");
    if (!form || form.getAttribute("data-ready")) return;
    form.setAttribute("data-ready", "1");
    form.classList.add("legal-js-ready");
    var wanted = /from=([\d-]+)&to=([\d-]+)/.exec(location.hash);
    if (wanted) {
      form.querySelector("[name=from]").value = wanted[1];
      form.querySelector("[name=to]").value = wanted[2];
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); show(form); });
    show(form);
  }

  window.imrRedline = redline; // for the test that checks it against the build's redline
  // Only the compare page loads this script, inside Material's container: instant navigation
  // runs it again each time the page is entered, so setting the page up once per run is all.
  setup();
})();
