package storage

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestZapLoggerKeepsWarningsAndErrors(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := zapLogger{zap.New(core)}
	l.Debugf("debug %d", 1)
	l.Infof("info %d\n", 2)
	l.Warningf("warning %d\n", 3)
	l.Errorf("error %d", 4)
	got := logs.AllUntimed()
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2: %v", len(got), got)
	}
	if got[0].Level != zapcore.WarnLevel || got[0].Message != "warning 3" ||
		got[1].Level != zapcore.ErrorLevel || got[1].Message != "error 4" {
		t.Fatalf("entries %+v", got)
	}
}

// TestOpenLogsThroughZap opens with a logger: Badger's INFO lines (it has
// many at open) must not reach it.
func TestOpenLogsThroughZap(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b, err := Open(t.TempDir(), Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range logs.AllUntimed() {
		if e.Level < zapcore.WarnLevel {
			t.Errorf("logged below WARNING: %v %q", e.Level, e.Message)
		}
		if e.LoggerName != "badger" {
			t.Errorf("logger name %q, want badger", e.LoggerName)
		}
	}
}
