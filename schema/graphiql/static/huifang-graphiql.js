// Starts GraphiQL from the vendored React, ReactDOM and GraphiQL globals (no inline script:
// the page's CSP is script-src 'self'). The endpoint and the header hint come from the
// <body> data attributes.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-endpoint") || "/graphql";
  var hint = body.getAttribute("data-header-hint") || "{}";
  var placeholder = "<token>";

  // The placeholder header is not a token: leave it out, so the server answers with its own
  // "Authentication required: send 'Authorization: Bearer <token>'" instead of "invalid token".
  function realHeaders(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (k) {
      var v = headers[k];
      if (typeof v === "string" && v.indexOf(placeholder) !== -1) return;
      out[k] = v;
    });
    return out;
  }

  function fetcher(params, opts) {
    return fetch(url, {
      method: "POST",
      credentials: "omit",
      headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" },
                             realHeaders(opts && opts.headers)),
      body: JSON.stringify(params),
    }).then(function (r) { return r.json(); });
  }

  // Nothing of the IDE is kept in the browser: GraphiQL's tabs and query history (which would
  // hold the Authorization header, bearer token included) live in memory for this page only.
  var memory = {};
  var storage = {
    getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
    setItem: function (k, v) { memory[k] = String(v); },
    removeItem: function (k) { delete memory[k]; },
    clear: function () { memory = {}; },
    get length() { return Object.keys(memory).length; },
  };

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: body.getAttribute("data-default-query") || "",
    defaultHeaders: hint,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false, // a bearer token never goes to localStorage
    storage: storage,
    defaultEditorToolsVisibility: "headers",
  }));
})();
