package storage

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
)

// zapLogger adapts a *zap.Logger to badger.Logger, keeping WARNING and
// above: Badger's INFO and DEBUG lines (table opens, compactions) are noise
// in a web server's log.
type zapLogger struct{ l *zap.Logger }

func (z zapLogger) Errorf(format string, args ...any) {
	z.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (z zapLogger) Warningf(format string, args ...any) {
	z.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (zapLogger) Infof(string, ...any)  {}
func (zapLogger) Debugf(string, ...any) {}
