package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"time"

	"github.com/ldirectord-go/ldirectord/conf"
)

// Load reads and parses the configuration file at path, as conf.Load does,
// and records its SHA-256 and when and how fast it was read. It reads the
// file once, so that the hash is that of the text parsed, whatever changes
// the file after. The daemon loads through it at start, on a reload and on
// autoreload.
func (m *Metrics) Load(path string) (*conf.Config, error) {
	began := time.Now()
	src, err := os.ReadFile(path)
	if err != nil {
		// conf.Load says so in the words of every other error of a file.
		return conf.Load(path)
	}
	cfg, err := conf.Parse(path, src)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	c := &m.daemon.configs
	c.mu.Lock()
	c.byFile[cfg.File] = configRecord{name: cfg.Name, sha256: hex.EncodeToString(sum[:]), at: began, took: time.Since(began)}
	c.mu.Unlock()
	return cfg, nil
}
