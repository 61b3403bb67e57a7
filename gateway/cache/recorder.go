package cache

// Recorder collects a streamed answer's chunks while they are relayed, to
// store the answer once it is known to be complete. It is not safe for
// concurrent use.
type Recorder struct {
	limit  int
	total  int
	over   bool
	events [][]byte
}

// NewRecorder returns a Recorder that gives up once the chunks add up to
// more than limit bytes (with a limit of 0, at the first non-empty chunk).
func NewRecorder(limit int) *Recorder { return &Recorder{limit: limit} }

// Add records a copy of chunk, which the caller may then reuse. Once the
// chunks add up to more than the limit, the recorder drops what it holds
// and is Over: later chunks are not copied.
func (r *Recorder) Add(chunk []byte) {
	if r.over {
		return
	}
	r.total += len(chunk)
	if r.total > r.limit {
		r.over, r.events = true, nil
		return
	}
	r.events = append(r.events, append(make([]byte, 0, len(chunk)), chunk...))
}

// Over reports whether the answer outgrew the limit, so cannot be stored.
func (r *Recorder) Over() bool { return r.over }

// Events returns the recorded chunks, in order; nil when Over.
func (r *Recorder) Events() [][]byte { return r.events }
