package httpserver

import (
	"io"
	"log/slog"
	"strings"
)

// LibraryLog is a writer for the standard log package, through which gqlgen
// reports some failures itself (a refused WebSocket upgrade, an SSE body it
// could not decode). It puts each line in the server's structured log,
// without what the client sent: gqlgen appends the request body, which may
// hold a buyer's phone number or address.
func LibraryLog(log *slog.Logger) io.Writer { return libraryLog{log} }

type libraryLog struct{ log *slog.Logger }

// maxLibraryLine bounds what one line may put in the log.
const maxLibraryLine = 200

func (l libraryLog) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if i := strings.Index(line, "body:"); i >= 0 {
		line = strings.TrimSpace(line[:i]) + " (body withheld)"
	}
	if len(line) > maxLibraryLine {
		line = line[:maxLibraryLine] + "…"
	}
	l.log.Warn("gqlgen: " + strings.ToValidUTF8(line, "�"))
	return len(p), nil
}
