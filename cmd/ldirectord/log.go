package main

import (
	"fmt"
	"log/syslog"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ldirectord-go/ldirectord/conf"
)

// defaultLogFile is where the daemon logs when logfile is not set.
const defaultLogFile = "/var/log/ldirectord.log"

var facilities = map[string]syslog.Priority{
	"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL, "daemon": syslog.LOG_DAEMON,
	"auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG, "lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS,
	"uucp": syslog.LOG_UUCP, "cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// newLogger logs verbosely to stdout under -d, to stdout under supervised =
// yes, else to the logfile: a path, or a syslog facility when it does not
// start with '/'.
func newLogger(debug bool, cfg *conf.Config) (*zap.Logger, func(), error) {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	enc.TimeKey = "time"
	level := zap.InfoLevel
	var sink zapcore.WriteSyncer
	closeFn := func() {}
	switch {
	case debug:
		level = zap.DebugLevel
		sink = zapcore.Lock(os.Stdout)
	case cfg.Global.Supervised:
		sink = zapcore.Lock(os.Stdout)
	default:
		target := cfg.Global.LogFile
		if target == "" {
			target = defaultLogFile
		}
		if strings.HasPrefix(target, "/") {
			f, err := openLogFile(target)
			if err != nil {
				return nil, nil, err
			}
			sink, closeFn = f, func() { f.Close() }
		} else {
			fac, ok := facilities[strings.ToLower(target)]
			if !ok {
				return nil, nil, fmt.Errorf("logfile %q: neither a path nor a syslog facility", target)
			}
			w, err := syslog.New(fac|syslog.LOG_INFO, "ldirectord")
			if err != nil {
				return nil, nil, fmt.Errorf("connect to syslog: %w", err)
			}
			enc.TimeKey = "" // syslog stamps the time
			sink, closeFn = zapcore.AddSync(w), func() { w.Close() }
		}
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), sink, level)
	log := zap.New(core)
	return log, func() { _ = log.Sync(); closeFn() }, nil
}
