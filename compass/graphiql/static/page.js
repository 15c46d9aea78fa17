// GraphiQL for the endpoint that served this page: queries and mutations over
// HTTP, subscriptions over WebSocket, everything from this server.
(function () {
  "use strict";

  const endpoint = new URL(window.location.href);
  endpoint.search = "";
  endpoint.hash = "";
  const socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  const WELCOME = [
    "# Compass GraphiQL: " + endpoint.pathname,
    "#",
    "# In Headers below, enter a token from `compass token`:",
    '#   {"Authorization": "Bearer <the token>"}',
    "# Run with Ctrl-Enter or the play button.",
    "",
    "{ viewer { id type } }",
    "",
  ].join("\n");

  // A WebSocket carries no per-request headers: the Headers pane travels in the
  // connection_init payload, so subscriptions use one client per set of headers.
  const fetchers = new Map();

  function fetcherFor(headers) {
    const key = JSON.stringify(headers || {});
    if (!fetchers.has(key)) {
      fetchers.set(
        key,
        GraphiQL.createFetcher({
          url: endpoint.toString(),
          subscriptionUrl: socket.toString(),
          wsConnectionParams: headers || {},
        }),
      );
    }
    return fetchers.get(key);
  }

  function fetcher(params, options) {
    return fetcherFor(options && options.headers)(params, options);
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      // Bearer tokens are not left in the browser's storage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
