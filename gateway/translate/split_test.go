package translate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/sse"
)

// streamFixture is a recorded or built upstream event stream in a provider
// format.
type streamFixture struct {
	name string
	from Format
	data []byte
}

// fixtureGlobs are the recorded provider streams of the codecs' and the
// meter's test data, by the format they are in. The Responses streams are
// left out: that format is never an upstream.
var fixtureGlobs = []struct {
	from Format
	glob string
}{
	{Chat, "../dialect/chat/testdata/*.sse"},
	{Chat, "../meter/testdata/openai_chat*.sse"},
	{Messages, "../dialect/anthropic/testdata/*.sse"},
	{Messages, "../meter/testdata/anthropic_*.sse"},
	{Gemini, "../dialect/gemini/testdata/*.sse"},
	{Gemini, "../meter/testdata/gemini_*.sse"},
}

// streamFixtures returns every recorded provider stream, and for each
// provider format the streams its encoder writes for a text answer, a tool
// call and a mid-stream error.
func streamFixtures(t testing.TB) []streamFixture {
	t.Helper()
	var fx []streamFixture
	for _, g := range fixtureGlobs {
		files, err := filepath.Glob(g.glob)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no stream fixtures match %s", g.glob)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fx = append(fx, streamFixture{strings.TrimPrefix(f, "../"), g.from, b})
		}
	}
	failing := []llm.Event{
		{Type: llm.EventStart, ID: "r", Model: "m"},
		{Type: llm.EventText, Text: "partial"},
		{Type: llm.EventError, Error: &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded", Status: 529}},
	}
	for _, from := range providerFormats {
		for name, evs := range map[string][]llm.Event{"text": events(false), "tool": events(true), "error": failing} {
			enc := codecs[from].newEncoder(llm.ResponseOptions{Created: 1, IncludeUsage: true})
			var b []byte
			for _, e := range evs {
				b = enc.Encode(b, &e)
			}
			fx = append(fx, streamFixture{"encoded/" + string(from) + "/" + name, from, b})
		}
	}
	return fx
}

// streamRun is what translating one upstream stream for one client
// produced.
type streamRun struct {
	out    []byte
	done   bool
	failed string // the upstream error the stream ended with
	err    string // the first error reading or translating, io.EOF aside
}

// translateAll reads an upstream stream in format from with sse.Reader and
// translates it for every client format at once, as the gateway does: the
// stream stops at the first event a client's translation cannot read.
func translateAll(t testing.TB, r io.Reader, from Format) []streamRun {
	runs := make([]streamRun, len(clientFormats))
	streams := make([]*Stream, len(clientFormats))
	for i, to := range clientFormats {
		s, err := NewStream(from, to, llm.ResponseOptions{Created: 1, IncludeUsage: true})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s
	}
	rd := sse.NewReader(r)
	defer rd.Release()
	for {
		ev, err := rd.Next()
		if err != nil {
			if err != io.EOF {
				for i := range runs {
					if runs[i].err == "" {
						runs[i].err = "reading: " + err.Error()
					}
				}
			}
			break
		}
		for i, s := range streams {
			if runs[i].err != "" {
				continue
			}
			if runs[i].out, err = s.Event(runs[i].out, ev.Name, ev.Data); err != nil {
				runs[i].err = err.Error()
			}
		}
	}
	for i, s := range streams {
		runs[i].done = s.Done()
		if f := s.Failed(); f != nil {
			runs[i].failed = fmt.Sprintf("%+v", *f)
		}
	}
	return runs
}

// madeUpID matches what differs between two runs of the same translation:
// the IDs the encoders make up when the upstream sent none (random):
// chatcmpl-<29 letters and digits>, msg_ and toolu_<24 hex digits>,
// resp_<32 hex digits> and the item IDs derived from it, a Gemini
// responseId of 16 random bytes; and the clock, in a Responses
// completed_at.
var (
	madeUpID      = regexp.MustCompile(`chatcmpl-[A-Za-z0-9]{29}\b|[0-9a-f]{32}|(?:msg|toolu)_[0-9a-f]{24}\b|"responseId":"[A-Za-z0-9_-]{22}"|"completed_at":[0-9]+`)
	wholeMadeUpID = regexp.MustCompile(`^(?:` + madeUpID.String() + `)$`)
)

// reference is the translation of an unsplit stream, with the spans of
// its made-up IDs.
type reference struct {
	runs  []streamRun
	spans [][][]int // per client format, madeUpID.FindAllIndex of its output
}

func newReference(runs []streamRun) reference {
	ref := reference{runs: runs}
	for _, r := range runs {
		ref.spans = append(ref.spans, madeUpID.FindAllIndex(r.out, -1))
	}
	return ref
}

// sameUpToMadeUpIDs reports whether got is want with, at most, other
// made-up IDs in the places of want's, consistently (one ID of want is
// always the same ID of got, and the other way around). Made-up IDs have
// a fixed length, so the two line up byte for byte.
func sameUpToMadeUpIDs(got, want []byte, spans [][]int) bool {
	if len(got) != len(want) {
		return false
	}
	if bytes.Equal(got, want) {
		return true
	}
	fwd, back := map[string]string{}, map[string]string{}
	prev := 0
	for _, sp := range spans {
		if !bytes.Equal(got[prev:sp[0]], want[prev:sp[0]]) {
			return false
		}
		g, w := string(got[sp[0]:sp[1]]), string(want[sp[0]:sp[1]])
		if !wholeMadeUpID.MatchString(g) {
			return false
		}
		if m, ok := fwd[w]; ok && m != g {
			return false
		}
		if m, ok := back[g]; ok && m != w {
			return false
		}
		fwd[w], back[g] = g, w
		prev = sp[1]
	}
	return bytes.Equal(got[prev:], want[prev:])
}

// diff reports how got differs from the reference, or "" when it does
// not.
func (ref reference) diff(got []streamRun) string {
	for i, w := range ref.runs {
		g := got[i]
		if !sameUpToMadeUpIDs(g.out, w.out, ref.spans[i]) || g.done != w.done || g.failed != w.failed || g.err != w.err {
			return fmt.Sprintf("to %s:\n got  done=%v failed=%q err=%q\n%s\n want done=%v failed=%q err=%q\n%s",
				clientFormats[i], g.done, g.failed, g.err, g.out, w.done, w.failed, w.err, w.out)
		}
	}
	return ""
}

// upstreamEvents is what sse.Reader reads from a stream: every event
// (name, data and raw bytes) and how the stream ended. It is everything a
// translation sees.
func upstreamEvents(r io.Reader) (events []sse.Event, end error) {
	rd := sse.NewReader(r)
	defer rd.Release()
	for {
		ev, err := rd.Next()
		if err != nil {
			return events, err
		}
		events = append(events, sse.Event{Name: ev.Name, Data: bytes.Clone(ev.Data), Raw: bytes.Clone(ev.Raw)})
	}
}

// sameUpstream reports whether sse.Reader reads from r the events of want
// and ends as want did, comparing as it reads.
func sameUpstream(r io.Reader, want []sse.Event, wantEnd error) bool {
	rd := sse.NewReader(r)
	defer rd.Release()
	for i := 0; ; i++ {
		ev, err := rd.Next()
		if err != nil {
			return i == len(want) && err == wantEnd
		}
		if i == len(want) || ev.Name != want[i].Name || !bytes.Equal(ev.Data, want[i].Data) || !bytes.Equal(ev.Raw, want[i].Raw) {
			return false
		}
	}
}

// translatedCuts picks the cuts at which a fixture of n bytes is also
// translated end to end: the first and last 16 and 64 spread evenly, or
// for a stream over 16 KiB the first and last 4 and 8 spread evenly.
// Translating at every cut would cost O(n²)
// translations, minutes under the race detector; at every other cut the
// upstream events, the whole input of the translation, are compared.
func translatedCuts(n int) map[int]bool {
	edge, spread := 16, 64
	if n > 16<<10 {
		edge, spread = 4, 8
	}
	cuts := map[int]bool{}
	for c := 0; c <= n; c++ {
		if c < edge || c > n-edge {
			cuts[c] = true
		}
	}
	for i := 0; i <= spread; i++ {
		cuts[n*i/spread] = true
	}
	return cuts
}

// TestStreamSplitAtEveryByte feeds every provider stream fixture through
// sse.Reader and the translation to every client format, with the input
// split in two at every byte boundary, delivered one byte at a time, and
// in halving reads with the last data: what reaches the translation (the
// upstream events and how the stream ended) must be the same at every
// cut, and the client streams byte-identical to those of the unsplit
// input (made-up IDs and the clock aside) at the translated cuts and for
// the one-byte and halving readers. A stream over 16 KiB (one recorded
// stream of 75 KB) is cut at every boundary of its first and last 2 KiB
// and at every 509th byte between, to keep the test quick under the race
// detector.
func TestStreamSplitAtEveryByte(t *testing.T) {
	for _, fx := range streamFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			n := len(fx.data)
			wantEvents, wantEnd := upstreamEvents(bytes.NewReader(fx.data))
			ref := newReference(translateAll(t, bytes.NewReader(fx.data), fx.from))
			for i, w := range ref.runs {
				if len(w.out) == 0 && w.err == "" {
					t.Errorf("to %s: no output", clientFormats[i])
				}
			}
			if again := translateAll(t, bytes.NewReader(fx.data), fx.from); ref.diff(again) != "" {
				t.Fatalf("two unsplit runs differ: %s", ref.diff(again))
			}
			translated := translatedCuts(n)
			for cut := 0; cut <= n; cut++ {
				if n > 16<<10 && cut > 2<<10 && cut < n-2<<10 && cut%509 != 0 {
					continue
				}
				split := func() io.Reader {
					return io.MultiReader(bytes.NewReader(fx.data[:cut]), bytes.NewReader(fx.data[cut:]))
				}
				if !sameUpstream(split(), wantEvents, wantEnd) {
					evs, end := upstreamEvents(split())
					t.Fatalf("split at byte %d of %d: %d events ending with %v, want %d ending with %v", cut, n, len(evs), end, len(wantEvents), wantEnd)
				}
				if translated[cut] {
					if d := ref.diff(translateAll(t, split(), fx.from)); d != "" {
						t.Fatalf("split at byte %d of %d: %s", cut, n, d)
					}
				}
			}
			if d := ref.diff(translateAll(t, iotest.OneByteReader(bytes.NewReader(fx.data)), fx.from)); d != "" {
				t.Fatalf("one byte at a time: %s", d)
			}
			if d := ref.diff(translateAll(t, iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(fx.data))), fx.from)); d != "" {
				t.Fatalf("halving reads, EOF with the data: %s", d)
			}
		})
	}
}
