// Package playground serves GraphiQL from assets embedded in the binary, so
// the playground works on machines and networks with no internet access.
// update-assets.sh refreshes the pinned versions from the npm registry.
package playground

import (
	"embed"
	"html/template"
	"net/http"
)

//go:embed assets
var assets embed.FS

// AssetsPath is where Handler's page expects the assets; mount Assets there.
const AssetsPath = "/playground/assets/"

// Assets serves the embedded GraphiQL files under AssetsPath.
func Assets() http.Handler {
	return http.StripPrefix("/playground/", http.FileServerFS(assets))
}

var page = template.Must(template.New("graphiql").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Assets}}graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="{{.Assets}}react.production.min.js"></script>
<script src="{{.Assets}}react-dom.production.min.js"></script>
<script src="{{.Assets}}graphiql.min.js"></script>
<script src="{{.Assets}}graphql-ws.min.js"></script>
<script>
  const url = new URL({{.Endpoint}}, location.href);
  const wsUrl = new URL(url);
  wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  // Subscriptions go over graphql-transport-ws; the page's own origin is
  // always allowed.
  // Browsers set no headers on a WebSocket: its connection_init carries
  // the active tab's, which the server reads as it reads HTTP headers.
  const defaultHeaders = {{.Headers}};
  const activeHeaders = () => {
    try {
      const state = JSON.parse(localStorage.getItem('graphiql:tabState'));
      const headers = state.tabs[state.activeTabIndex].headers;
      if (headers) return JSON.parse(headers);
    } catch (e) {}
    return defaultHeaders ? JSON.parse(defaultHeaders) : {};
  };
  const fetcher = GraphiQL.createFetcher({ url: url.toString(), wsClient: graphqlWs.createClient({ url: wsUrl.toString(), lazy: true, connectionParams: activeHeaders }) });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultTabs: {{.Tabs}},
      defaultEditorToolsVisibility: true,
    }),
  );
</script>
</body>
</html>
`))

// tab is one query GraphiQL opens with, in a tab of its own.
type tab struct {
	Query   string `json:"query"`
	Headers string `json:"headers,omitempty"`
}

// Handler serves the GraphiQL page for endpoint, opening with a tab for
// each of queries, each with headers (a JSON object; "" for none) in its
// header editor.
func Handler(title, endpoint, headers string, queries ...string) http.Handler {
	tabs := make([]tab, len(queries))
	for i, q := range queries {
		tabs[i] = tab{q, headers}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_ = page.Execute(w, struct {
			Title, Endpoint, Assets, Headers string
			Tabs                             []tab
		}{title, endpoint, AssetsPath, headers, tabs})
	})
}
