package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashHelperEnv names the directory a TestHelperProcess child writes to.
const crashHelperEnv = "LLMGW_STORAGE_CRASH_HELPER_DIR"

// TestHelperProcess is not a test: started by TestKill9Durability with
// crashHelperEnv set, it writes to the store forever and prints one line
// after each write that returned (was acknowledged):
//
//	svc <serviceID>
//	tok <tokenID> <serviceID> <hex hash>
//	rev <tokenID>                  (UpdateToken with Revoked)
//	revall <serviceID>             (RevokeServiceTokens)
//	pk <provider> <keyID>
//	pkdel <provider> <keyID>
//	spendtry <n>                   (before AddSpend of crashSpendDeltas(n))
//	spend <n>                      (after it and AddUsage of crashUsageDeltas(n))
//	audit <serviceID> <ID>...      (AppendAudit of records with these IDs)
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashHelperEnv)
	if dir == "" {
		t.Skip("helper process of TestKill9Durability")
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	b, err := Open(dir, Options{})
	if err != nil {
		fail(err)
	}
	// os.Stdout is unbuffered: each line is written before the next write.
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := 0; ; i++ {
		svc := &Service{Name: fmt.Sprintf("svc-%s-%d", run, i), Active: true}
		if err := b.CreateService(ctx, svc); err != nil {
			fail(err)
		}
		say("svc %s", svc.ID)
		var toks []*Token
		for j := range 8 {
			tok := newTestToken(svc.ID, fmt.Sprintf("%s-%d-%d", run, i, j))
			if err := b.CreateToken(ctx, tok); err != nil {
				fail(err)
			}
			say("tok %s %s %x", tok.ID, svc.ID, tok.Hash)
			toks = append(toks, tok)
			if j%4 == 3 {
				n := int64(i*8 + j + 1)
				say("spendtry %d", n)
				if err := b.AddSpend(ctx, crashSpendDeltas(n)); err != nil {
					fail(err)
				}
				if err := b.AddUsage(ctx, crashUsageDeltas(n)); err != nil {
					fail(err)
				}
				say("spend %d", n)
				recs := make([]AuditRecord, 20)
				ids := make([]string, len(recs))
				for k := range recs {
					recs[k] = AuditRecord{ID: NewID(AuditIDPrefix), Time: now(), ServiceID: svc.ID, TokenID: tok.ID, Status: 200, RequestBody: strings.Repeat("x", 500)}
					ids[k] = recs[k].ID
				}
				if err := b.AppendAudit(ctx, recs, time.Hour); err != nil {
					fail(err)
				}
				say("audit %s %s", svc.ID, strings.Join(ids, " "))
			}
			// Last-used times are written behind: they may be lost and are
			// not checked, but they must not disturb what is.
			if err := b.TouchTokens(ctx, map[string]time.Time{tok.ID: time.Now()}); err != nil {
				fail(err)
			}
		}
		r := toks[i%len(toks)]
		r.Revoked = true
		if err := b.UpdateToken(ctx, r); err != nil {
			fail(err)
		}
		say("rev %s", r.ID)
		if i%3 == 0 {
			if _, err := b.RevokeServiceTokens(ctx, svc.ID, time.Now()); err != nil {
				fail(err)
			}
			say("revall %s", svc.ID)
		}
		k := &ProviderKey{Provider: "openai", Label: "k", Sealed: []byte("sealed"), Last4: "1234"}
		if err := b.CreateProviderKey(ctx, k); err != nil {
			fail(err)
		}
		say("pk %s %s", k.Provider, k.ID)
		if i%2 == 0 {
			if err := b.DeleteProviderKey(ctx, k.Provider, k.ID); err != nil {
				fail(err)
			}
			say("pkdel %s %s", k.Provider, k.ID)
		}
	}
}

// crashSpendDay and crashSpendMonth are the windows the helper adds spend
// to: fixed, so a run across midnight checks the same totals.
var (
	crashSpendDay   = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	crashSpendMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

// crashSpendDeltas is what the helper adds in one AddSpend call: nested
// scope keys, both windows, and one total twice in the batch.
func crashSpendDeltas(n int64) []SpendDelta {
	return []SpendDelta{
		{Key: "svc/crash", Window: WindowDay, Start: crashSpendDay, Amount: n},
		{Key: "svc/crash", Window: WindowMonth, Start: crashSpendMonth, Amount: n},
		{Key: "svc/crash/b", Window: WindowDay, Start: crashSpendDay, Amount: 2 * n},
		{Key: "svc/crash/b", Window: WindowMonth, Start: crashSpendMonth, Amount: 2 * n},
		{Key: "tok/crash", Window: WindowDay, Start: crashSpendDay, Amount: n},
		{Key: "tok/crash", Window: WindowDay, Start: crashSpendDay, Amount: 3 * n},
	}
}

// crashUsageDeltas is what the helper adds in one AddUsage call, right after
// AddSpend of crashSpendDeltas(n): the same amounts as requests and spend.
func crashUsageDeltas(n int64) []UsageDelta {
	var deltas []UsageDelta
	for _, d := range crashSpendDeltas(n) {
		deltas = append(deltas, UsageDelta{Key: d.Key, Window: d.Window, Start: d.Start, Usage: Usage{Requests: d.Amount, SpendMicroUSD: d.Amount}})
	}
	return deltas
}

// spendCellOf names a total of the crash test.
type spendCellOf struct{ window, key string }

// acked is what the children acknowledged, over every kill cycle.
type acked struct {
	// spent sums the acknowledged AddSpend calls; slack the calls that were
	// in flight at a kill (started, not acknowledged: they may or may not
	// have been applied); spendTry is the call in flight, 0 if none.
	spent, slack map[spendCellOf]int64
	spendTry     int64
	spendCalls   int // acknowledged AddSpend calls
	services     []string
	tokens       map[string]ackedToken // by token ID
	revoked      map[string]bool       // token IDs
	revAll       map[string]bool       // service IDs
	keys         map[string]string     // key ID -> provider
	deleted      map[string]bool       // key IDs
	audit        map[string]string     // audit record ID -> service ID
	lineCount    int
}

// addCrashSpend adds crashSpendDeltas(n) to sums.
func addCrashSpend(sums map[spendCellOf]int64, n int64) {
	for _, d := range crashSpendDeltas(n) {
		sums[spendCellOf{d.Window, d.Key}] += d.Amount
	}
}

// spentOrSlack is every total the children may have added to.
func (a *acked) spentOrSlack() map[spendCellOf]bool {
	m := map[spendCellOf]bool{}
	for c := range a.spent {
		m[c] = true
	}
	for c := range a.slack {
		m[c] = true
	}
	return m
}

// endCycle records the AddSpend call a kill interrupted, if any.
func (a *acked) endCycle() {
	if a.spendTry != 0 {
		addCrashSpend(a.slack, a.spendTry)
		a.spendTry = 0
	}
}

type ackedToken struct {
	serviceID string
	hash      [32]byte
}

func (a *acked) add(t *testing.T, line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	switch {
	case f[0] == "svc" && len(f) == 2:
		a.services = append(a.services, f[1])
	case f[0] == "tok" && len(f) == 4:
		var h [32]byte
		if n, err := hex.Decode(h[:], []byte(f[3])); err != nil || n != 32 {
			t.Fatalf("bad line %q", line)
		}
		a.tokens[f[1]] = ackedToken{serviceID: f[2], hash: h}
	case f[0] == "rev" && len(f) == 2:
		a.revoked[f[1]] = true
	case f[0] == "revall" && len(f) == 2:
		a.revAll[f[1]] = true
	case f[0] == "pk" && len(f) == 3:
		a.keys[f[2]] = f[1]
	case f[0] == "pkdel" && len(f) == 3:
		a.deleted[f[2]] = true
	case f[0] == "audit" && len(f) > 2:
		for _, id := range f[2:] {
			a.audit[id] = f[1]
		}
	case f[0] == "spendtry" && len(f) == 2:
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || a.spendTry != 0 {
			t.Fatalf("bad line %q (in flight: %d)", line, a.spendTry)
		}
		a.spendTry = n
	case f[0] == "spend" && len(f) == 2:
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n != a.spendTry {
			t.Fatalf("bad line %q (in flight: %d)", line, a.spendTry)
		}
		addCrashSpend(a.spent, n)
		a.spendTry = 0
		a.spendCalls++
	default:
		return // test framework output
	}
	a.lineCount++
}

// TestKill9Durability runs a child process that writes to a store and
// prints each acknowledged write, SIGKILLs it at a random point while it is
// writing, reopens the directory and checks that every acknowledged
// creation, revocation, deletion and spend addition is there. The cycles
// share the directory, so each also recovers from the previous kills. While
// a child holds the directory, Open in this process must fail naming it.
func TestKill9Durability(t *testing.T) {
	cycles := 5
	if testing.Short() {
		cycles = 2
	}
	dir := t.TempDir()
	a := &acked{tokens: map[string]ackedToken{}, revoked: map[string]bool{}, revAll: map[string]bool{}, keys: map[string]string{}, deleted: map[string]bool{},
		audit: map[string]string{}, spent: map[spendCellOf]int64{}, slack: map[spendCellOf]int64{}}
	for cycle := range cycles {
		killAfter := 40 + rand.IntN(400) // acknowledged lines before the kill
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		before := a.lineCount
		killed := false
		for sc.Scan() {
			a.add(t, sc.Text())
			if cycle == 0 && a.lineCount == before+1 {
				// The child holds the directory now.
				if other, err := Open(dir, Options{}); err == nil {
					other.Close()
					t.Fatal("Open succeeded while another process holds the directory")
				} else if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "another Caddy process") {
					t.Fatalf("lock error %q does not name the directory and the likely cause", err)
				}
			}
			if !killed && a.lineCount-before >= killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true // keep reading: lines already written were acknowledged too
			}
		}
		err = cmd.Wait()
		cancel()
		if !killed {
			t.Fatalf("cycle %d: child ended after %d lines before the kill: %v\n%s", cycle, a.lineCount-before, err, stderr.String())
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("cycle %d: child did not die of SIGKILL: %v\n%s", cycle, err, stderr.String())
		}
		a.endCycle()
		t.Logf("cycle %d: killed after %d acknowledged writes (%d in all)", cycle, a.lineCount-before, a.lineCount)
		checkAcked(t, dir, a)
	}
}

func checkAcked(t *testing.T, dir string, a *acked) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer b.Close()
	t.Logf("reopened in %v", time.Since(start).Round(time.Millisecond))
	for _, id := range a.services {
		if _, err := b.GetService(ctx, id); err != nil {
			t.Fatalf("acknowledged service %s: %v", id, err)
		}
	}
	for id, want := range a.tokens {
		tok, err := b.GetTokenByHash(ctx, want.hash)
		if err != nil {
			t.Fatalf("acknowledged token %s: %v", id, err)
		}
		if tok.ID != id || tok.ServiceID != want.serviceID {
			t.Fatalf("token by hash: %s of %s, want %s of %s", tok.ID, tok.ServiceID, id, want.serviceID)
		}
		if (a.revoked[id] || a.revAll[tok.ServiceID]) && !tok.Revoked {
			t.Fatalf("acknowledged revocation of %s lost", id)
		}
	}
	for id, provider := range a.keys {
		_, err := b.GetProviderKey(ctx, provider, id)
		switch {
		case a.deleted[id] && !isNotFound(err):
			t.Fatalf("acknowledged deletion of key %s lost: %v", id, err)
		case !a.deleted[id] && err != nil:
			t.Fatalf("acknowledged key %s: %v", id, err)
		}
	}
	// Every acknowledged addition is in its total; an addition in flight at
	// a kill may be too, nothing else.
	for _, w := range []struct {
		window string
		start  time.Time
	}{{WindowDay, crashSpendDay}, {WindowMonth, crashSpendMonth}} {
		got, err := b.SpendTotals(ctx, w.window, w.start)
		if err != nil {
			t.Fatal(err)
		}
		for key, total := range got {
			c := spendCellOf{w.window, key}
			if _, ok := a.spentOrSlack()[c]; !ok {
				t.Fatalf("%s spend of %q: %d, never written", w.window, key, total)
			}
		}
		for c := range a.spentOrSlack() {
			if c.window != w.window {
				continue
			}
			if lo, hi := a.spent[c], a.spent[c]+a.slack[c]; got[c.key] < lo || got[c.key] > hi {
				t.Fatalf("%s spend of %q: %d, want %d (acknowledged) to %d (with the calls in flight at kills)", w.window, c.key, got[c.key], lo, hi)
			}
		}
	}
	// Usage totals were added with the spend, in the same acknowledged
	// step: the same bounds.
	for c := range a.spentOrSlack() {
		start := crashSpendDay
		if c.window == WindowMonth {
			start = crashSpendMonth
		}
		hist, err := b.UsageHistory(ctx, c.key, c.window, start, start.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got Usage
		if len(hist) == 1 {
			got = hist[0].Usage
		}
		if lo, hi := a.spent[c], a.spent[c]+a.slack[c]; got.Requests < lo || got.Requests > hi || got.SpendMicroUSD != got.Requests {
			t.Fatalf("%s usage of %q: %+v, want %d (acknowledged) to %d requests and as much spend", c.window, c.key, got, lo, hi)
		}
	}
	t.Logf("spend and usage: %d acknowledged AddSpend and AddUsage calls, all there", a.spendCalls)
	// Every acknowledged audit record is listed, also through its
	// service's index.
	listAll := func(f AuditFilter) map[string]bool {
		listed := map[string]bool{}
		cursor := ""
		for {
			page, next, err := b.ListAudit(ctx, f, Page{Limit: MaxPageSize, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				listed[r.ID] = true
			}
			if next == "" {
				return listed
			}
			cursor = next
		}
	}
	all := listAll(AuditFilter{})
	bySvc := map[string]map[string]bool{}
	for id, svc := range a.audit {
		if bySvc[svc] == nil {
			bySvc[svc] = listAll(AuditFilter{ServiceID: svc})
		}
		if !all[id] || !bySvc[svc][id] {
			t.Fatalf("acknowledged audit record %s of service %s lost (listed: %v, by service: %v)", id, svc, all[id], bySvc[svc][id])
		}
	}
	t.Logf("audit: %d acknowledged records, all there", len(a.audit))
}
