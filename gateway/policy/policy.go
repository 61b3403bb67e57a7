// Package policy compiles and evaluates the gateway's request policies: CEL
// expressions that return bool, true to admit the request.
//
// A policy sees the variables request, service, token, usage and now (see
// Input and docs/policies.md for their fields and types). It is compiled and
// type-checked once, when saved (Compile), and evaluated once per request
// (Eval) under a cost limit and a deadline.
//
// # Fail closed
//
// Eval returns an error when evaluation does not produce a bool: a missing
// map key (service.labels.team on a service without that label), an unset
// optional field (request.temperature when the client sent none), an
// overflow, the cost limit or the deadline. The gateway treats an error as a
// denial (403 naming the policy, with the error logged), never as an
// admission. Policies that should tolerate absent data say so: "team" in
// service.labels && ..., has(request.temperature), service.labels[?"team"].orValue("").
//
// # Safety
//
// Only the CEL standard library is available, plus cel-go's core optional
// values; none of the ext libraries, two of which have had cost-tracking
// bypasses. Compile refuses sources over MaxSourceBytes, parse trees nested
// deeper than 32, comprehensions nested deeper than 2, regular expressions
// with an RE2 program over 1000 instructions, struct literals, invalid
// literal time zones, regexes, durations and timestamps, and any policy whose
// worst-case cost estimate (with the size hints in env.go) exceeds the
// runtime cost limit. Eval then enforces the cost limit and a deadline
// (DefaultTimeout, or the context's if earlier), checked every 100
// comprehension iterations.
package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Options adjusts the limits of one policy. The zero value means the
// defaults.
type Options struct {
	// CostLimit is the runtime cost limit of one evaluation, and the bound
	// the compile-time worst-case estimate must stay under. Default
	// DefaultCostLimit.
	CostLimit uint64

	// Timeout bounds one evaluation; a context deadline that comes sooner
	// wins. Default DefaultTimeout.
	Timeout time.Duration
}

// Policy is a compiled, type-checked CEL expression returning bool. It is
// safe for concurrent use.
type Policy struct {
	name, src string
	prg       cel.Program
	timeout   time.Duration
	costLimit uint64
	loops     bool // the expression has a comprehension (all, exists, map, ...)
}

// ErrCostLimit is wrapped by the error Eval returns when an evaluation
// exceeds its cost limit.
var ErrCostLimit = errors.New("cost limit exceeded")

// CompileError is the error Compile returns for a policy it refuses. Its
// message is the compiler's, with line:column positions and the offending
// source line, fit to be returned to an administrator in a 400.
type CompileError struct {
	Policy string  // the policy's name
	Issues []Issue // the compiler's findings; empty for problems of the whole policy (size, cost)
	msg    string
}

// Issue is one problem in a policy. Line and Column are 1-based (Column
// counts code points); both are 0 when the problem has no position.
type Issue struct {
	Line, Column int
	Message      string
}

func (e *CompileError) Error() string { return e.msg }

// Compile parses and type-checks src with the default limits. name is the
// policy's name: denials and error positions use it.
func Compile(name, src string) (*Policy, error) {
	return CompileWithOptions(name, src, Options{})
}

// CompileWithOptions is Compile with adjusted limits.
func CompileWithOptions(name, src string, opts Options) (_ *Policy, err error) {
	if opts.CostLimit == 0 {
		opts.CostLimit = DefaultCostLimit
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	where := name
	if where == "" {
		where = "policy"
	}
	defer func() {
		// A panic in the compiler (cel-go has had some, on odd regexes)
		// must not take the admin API down with it.
		if r := recover(); r != nil {
			err = &CompileError{Policy: name, msg: fmt.Sprintf("ERROR: %s: internal error compiling the policy: %v", where, r)}
		}
	}()
	fail := func(format string, args ...any) error {
		return &CompileError{Policy: name, msg: "ERROR: " + where + ": " + fmt.Sprintf(format, args...)}
	}
	if len(src) > MaxSourceBytes {
		return nil, fail("policy is %d bytes, the limit is %d", len(src), MaxSourceBytes)
	}
	if strings.TrimSpace(src) == "" {
		return nil, fail("policy is empty")
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("policy environment: %w", err) // a bug, not the policy's fault
	}
	source := common.NewStringSource(src, where)
	a, iss := e.CompileSource(source)
	if errs := iss.Errors(); len(errs) > 0 {
		// Not iss.Err(): cel-go renders the caret line by string
		// concatenation, quadratic in the column, which on a 16 KB
		// one-line source costs seconds.
		return nil, newCompileError(name, where, source, errs)
	}
	if !a.OutputType().IsExactType(cel.BoolType) {
		loc := a.NativeRep().SourceInfo().GetStartLocation(a.NativeRep().Expr().ID())
		msg := fmt.Sprintf("a policy must return bool, this one returns %s", a.OutputType())
		return nil, &CompileError{
			Policy: name,
			Issues: []Issue{{Line: loc.Line(), Column: loc.Column() + 1, Message: msg}},
			msg:    fmt.Sprintf("ERROR: %s:%d:%d: %s", where, loc.Line(), loc.Column()+1, msg),
		}
	}
	est, err := e.EstimateCost(a, sizeHints{})
	if err != nil {
		return nil, fail("estimating cost: %v", err)
	}
	if est.Max > opts.CostLimit {
		return nil, fail("worst-case cost %s exceeds the limit of %d (loops over headers or labels, string functions on long values and nested comprehensions cost most)",
			costString(est.Max), opts.CostLimit)
	}
	prg, err := e.Program(a,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(opts.CostLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency),
	)
	if err != nil {
		// Planning errors are policy errors too (e.g. a constant regex the
		// validators let through).
		return nil, fail("%v", err)
	}
	loops := len(ast.MatchDescendants(ast.NavigateAST(a.NativeRep()), ast.KindMatcher(ast.ComprehensionKind))) > 0
	return &Policy{name: name, src: src, prg: prg, timeout: opts.Timeout, costLimit: opts.CostLimit, loops: loops}, nil
}

// maxReportedIssues bounds the issues a CompileError lists and renders.
const maxReportedIssues = 10

// newCompileError renders the compiler's errors as cel-go does
// ("ERROR: <name>:<line>:<column>: <message>", the source line and a caret
// under the column), but with the source line cut to a window around the
// column and in linear time.
func newCompileError(name, where string, source common.Source, errs []*cel.Error) *CompileError {
	errs = slices.Clone(errs)
	slices.SortStableFunc(errs, func(a, b *cel.Error) int {
		if c := cmp.Compare(a.Location.Line(), b.Location.Line()); c != 0 {
			return c
		}
		return cmp.Compare(a.Location.Column(), b.Location.Column())
	})
	ce := &CompileError{Policy: name}
	var b strings.Builder
	for i, e := range errs {
		if i == maxReportedIssues {
			fmt.Fprintf(&b, "\n%d more errors were truncated", len(errs)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		is := Issue{Message: e.Message}
		line, col := e.Location.Line(), e.Location.Column()
		if line <= 0 {
			fmt.Fprintf(&b, "ERROR: %s: %s", where, e.Message)
			ce.Issues = append(ce.Issues, is)
			continue
		}
		is.Line, is.Column = line, col+1
		ce.Issues = append(ce.Issues, is)
		fmt.Fprintf(&b, "ERROR: %s:%d:%d: %s", where, line, col+1, e.Message)
		if snippet, ok := source.Snippet(line); ok {
			writeSnippet(&b, []rune(strings.ReplaceAll(snippet, "\t", " ")), col)
		}
	}
	ce.msg = b.String()
	return ce
}

// snippetContext is how many characters of the source line are shown on each
// side of an error's column.
const snippetContext = 60

func writeSnippet(b *strings.Builder, line []rune, col int) {
	col = min(max(col, 0), len(line))
	start, end := max(0, col-snippetContext), min(len(line), col+snippetContext)
	b.WriteString("\n | ")
	if start > 0 {
		b.WriteString("…")
	}
	b.WriteString(string(line[start:end]))
	if end < len(line) {
		b.WriteString("…")
	}
	b.WriteString("\n | ")
	if start > 0 {
		b.WriteByte('.') // under the ellipsis
	}
	for _, r := range line[start:col] {
		if utf8.RuneLen(r) > 1 {
			b.WriteString("\uff0e") // a wide dot, as cel-go does
		} else {
			b.WriteByte('.')
		}
	}
	if col < len(line) && utf8.RuneLen(line[col]) > 1 {
		b.WriteString("\uff3e")
	} else {
		b.WriteByte('^')
	}
}

func costString(c uint64) string {
	if c == ^uint64(0) {
		return "unbounded"
	}
	return fmt.Sprint(c)
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Source returns the policy's CEL source.
func (p *Policy) Source() string { return p.src }

// Eval runs the policy on in and reports whether the request is allowed.
//
// Evaluation is bounded by the policy's cost limit and by a deadline: the
// policy's timeout (DefaultTimeout) or ctx's deadline, whichever is sooner.
// Any failure to produce a bool (cost limit, deadline, a missing key or unset
// field, overflow) is returned as an error, and the caller must treat it as
// a denial: policies fail closed. errors.Is(err, ErrCostLimit) and
// errors.Is(err, context.DeadlineExceeded) identify the two limits.
func (p *Policy) Eval(ctx context.Context, in *Input) (bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if in == nil {
		return false, p.evalErr(errors.New("no input"))
	}
	if err := ctx.Err(); err != nil {
		return false, p.evalErr(err)
	}
	if in.Now.IsZero() {
		cp := *in
		cp.Now = time.Now()
		in = &cp
	}
	var (
		out ref.Val
		err error
	)
	if p.loops {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > p.timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, p.timeout)
			defer cancel()
		}
		out, _, err = p.prg.ContextEval(ctx, (*activation)(in))
	} else {
		// cel-go checks for interruption only between comprehension
		// iterations, so without a comprehension a deadline could never
		// fire: skip the timer and the context plumbing, which are half the
		// time of a typical policy (2 µs of 4.5). The evaluation is then a
		// fixed number of steps, still under the cost limit.
		out, _, err = p.prg.Eval((*activation)(in))
	}
	if err != nil {
		return false, p.evalErr(err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, p.evalErr(fmt.Errorf("result is %s, not bool", out.Type().TypeName()))
	}
	return bool(b), nil
}

func (p *Policy) evalErr(err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return fmt.Errorf("policy %q: %w (limit %d)", p.name, ErrCostLimit, p.costLimit)
	}
	return fmt.Errorf("policy %q: %w", p.name, err)
}

// Set is the policies that apply to a request (say, a global one and the
// service's own). All must allow. Nil entries are skipped.
type Set []*Policy

// Eval evaluates the policies in order and stops at the first that does not
// allow the request, returning it as denied. A nil denied means every policy
// allowed. When err is not nil, evaluating denied failed; that too is a
// denial (fail closed): answer 403 naming denied.Name() and log err.
func (s Set) Eval(ctx context.Context, in *Input) (denied *Policy, err error) {
	if in != nil && in.Now.IsZero() && len(s) > 1 {
		cp := *in
		cp.Now = time.Now() // one instant for every policy of the request
		in = &cp
	}
	for _, p := range s {
		if p == nil {
			continue
		}
		ok, err := p.Eval(ctx, in)
		if err != nil {
			return p, err
		}
		if !ok {
			return p, nil
		}
	}
	return nil, nil
}
