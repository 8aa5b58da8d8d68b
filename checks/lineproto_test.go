package checks

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzReadLine feeds arbitrary server bytes to the line reader that the
// NNTP, POP3 and IMAP checks share: it returns lines without line ends
// and never longer than maxLine, or an error.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("+OK ready\r\n"))
	f.Add([]byte("* OK\n\r\n\n"))
	f.Add([]byte(strings.Repeat("x", maxLine+1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &textConn{r: bufio.NewReader(bytes.NewReader(data))}
		tg := Target{Timeout: time.Second}
		for i := 0; i < 100; i++ {
			line, err := c.readLine(context.Background(), tg, "banner")
			if err != nil {
				return
			}
			if strings.ContainsRune(line, '\n') || len(line) > maxLine {
				t.Fatalf("line %q", line)
			}
		}
	})
}
