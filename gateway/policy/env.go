package policy

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // named time zones work in containers without /usr/share/zoneinfo

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Limits applied to every policy. They are documented in docs/policies.md;
// keep the two in step.
const (
	// MaxSourceBytes is the largest policy source Compile accepts.
	MaxSourceBytes = 16 << 10

	// DefaultCostLimit is the runtime cost limit of one evaluation, in cel-go
	// cost units (Kubernetes' per-expression limit). Measured here, string
	// scanning reaches it in about 10 ms; in loops over thousands of entries
	// cel-go v0.32's cost tracking is quadratic and DefaultTimeout fires
	// first. A policy whose worst-case static estimate exceeds it is refused
	// at compile time.
	DefaultCostLimit = 1_000_000

	// DefaultTimeout bounds one evaluation when the context has no earlier
	// deadline.
	DefaultTimeout = 10 * time.Millisecond

	// parserRecursionLimit bounds the nesting depth of the parse tree
	// (parentheses, nested calls, chained binary operators). cel-go's default
	// is 250; no sensible policy comes near 32.
	parserRecursionLimit = 32

	// comprehensionNestingLimit: one macro (all, exists, exists_one, map,
	// filter) inside another is allowed, three levels are not.
	comprehensionNestingLimit = 2

	// regexProgramSizeLimit caps the RE2 program size of the patterns given
	// to matches(), which must be string literals (Envoy's default error
	// level is 100; ^(gpt-4o|gpt-4o-mini|o3|o3-mini|claude-3-5-sonnet.*)$ is
	// 49, a{1000} is 1002).
	regexProgramSizeLimit = 1000

	// interruptCheckFrequency: comprehensions check the context every this
	// many iterations (the Kubernetes setting).
	interruptCheckFrequency = 100
)

// Size hints for the static cost estimate: the largest inputs the gateway
// hands to a policy. Bigger inputs are still evaluated, under the runtime
// cost limit and deadline.
const (
	hintString      = 1024 // model, provider, surface, client_ip, ids, names
	hintHeaders     = 64   // entries in request.headers (an allow-list)
	hintHeaderValue = 8192 // one header value
	hintLabels      = 64   // entries in labels (the admin API allows at most 64)
	hintLabelKey    = 63   // label key (admin API limit)
	hintLabelValue  = 256  // label value (admin API limit)
	hintHeaderName  = 1024 // one header name
)

// sizeHints is the checker.CostEstimator used at compile time.
type sizeHints struct{}

func (sizeHints) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) < 2 {
		return nil
	}
	est := func(max uint64) *checker.SizeEstimate { return &checker.SizeEstimate{Min: 0, Max: max} }
	field := path[1]
	switch path[0] {
	case "request":
		if field == "headers" {
			switch {
			case len(path) == 2:
				return est(hintHeaders)
			case path[2] == "@keys":
				return est(hintHeaderName)
			default:
				return est(hintHeaderValue)
			}
		}
		return est(hintString)
	case "service", "token":
		if field == "labels" {
			switch {
			case len(path) == 2:
				return est(hintLabels)
			case path[2] == "@keys":
				return est(hintLabelKey)
			default:
				return est(hintLabelValue)
			}
		}
		return est(hintString)
	}
	return nil
}

func (sizeHints) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	return nil
}

// env is the one CEL environment every policy is compiled in. cel.Env is
// safe for concurrent use.
var env = sync.OnceValues(newEnv)

func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.Types(requestType, subjectType, usageType),
		cel.Variable("request", cel.ObjectType(requestTypeName)),
		cel.Variable("service", cel.ObjectType(subjectTypeName)),
		cel.Variable("token", cel.ObjectType(subjectTypeName)),
		cel.Variable("usage", cel.ObjectType(usageTypeName)),
		cel.Variable("now", cel.TimestampType),

		// Beyond the standard library (which cel.NewEnv includes) only
		// language features from cel-go's core package, none from ext:
		//  - optional values: request.?temperature.orValue(1.0),
		//    service.labels[?"team"].orValue("");
		//  - 1 < 1.5 type-checks (costs in USD are doubles, users write ints);
		//  - timestamp accessors without a zone use UTC.
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),

		cel.ParserExpressionSizeLimit(MaxSourceBytes),
		cel.ParserRecursionLimit(parserRecursionLimit),
		cel.ASTValidators(
			cel.ValidateComprehensionNestingLimit(comprehensionNestingLimit),
			cel.ValidateDurationLiterals(),
			cel.ValidateTimestampLiterals(),
			cel.ValidateRegexLiterals(),
			regexLiterals{},
			noStructLiterals{},
			timeZoneLiterals{},
		),
	}
	opts = append(opts, zoneFunctions()...)
	return cel.NewEnv(opts...)
}

// noStructLiterals rejects gateway.Request{...} and the like: a policy reads
// its input, it has no reason to build one.
type noStructLiterals struct{}

func (noStructLiterals) Name() string { return "llm_gateway.no_struct_literals" }

func (noStructLiterals) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	for _, e := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.StructKind)) {
		iss.ReportErrorAtID(e.ID(), "policies cannot construct %s values", e.AsStruct().TypeName())
	}
}

// The timestamp accessors that take a time zone.
var zoneAccessors = []struct {
	function, overload string
	get                func(time.Time) int
}{
	{overloads.TimeGetFullYear, overloads.TimestampToYearWithTz, func(t time.Time) int { return t.Year() }},
	{overloads.TimeGetMonth, overloads.TimestampToMonthWithTz, func(t time.Time) int { return int(t.Month()) - 1 }},
	{overloads.TimeGetDayOfYear, overloads.TimestampToDayOfYearWithTz, func(t time.Time) int { return t.YearDay() - 1 }},
	{overloads.TimeGetDayOfMonth, overloads.TimestampToDayOfMonthZeroBasedWithTz, func(t time.Time) int { return t.Day() - 1 }},
	{overloads.TimeGetDate, overloads.TimestampToDayOfMonthOneBasedWithTz, func(t time.Time) int { return t.Day() }},
	{overloads.TimeGetDayOfWeek, overloads.TimestampToDayOfWeekWithTz, func(t time.Time) int { return int(t.Weekday()) }},
	{overloads.TimeGetHours, overloads.TimestampToHoursWithTz, func(t time.Time) int { return t.Hour() }},
	{overloads.TimeGetMinutes, overloads.TimestampToMinutesWithTz, func(t time.Time) int { return t.Minute() }},
	{overloads.TimeGetSeconds, overloads.TimestampToSecondsWithTz, func(t time.Time) int { return t.Second() }},
	{overloads.TimeGetMilliseconds, overloads.TimestampToMillisecondsWithTz, func(t time.Time) int { return t.Nanosecond() / 1e6 }},
}

// zoneFunctions re-binds the standard timestamp accessors that take a time
// zone (now.getHours("Europe/Paris")) to implementations that cache loaded
// zones. The standard ones call time.LoadLocation on every call, which reads
// the zone file: about 11 µs and 8 KB per call, half the gateway's admission
// budget. Same names, overload ids and signatures, so cel-go replaces the
// binding and nothing else; the semantics are those of the standard library.
func zoneFunctions() []cel.EnvOption {
	opts := make([]cel.EnvOption, 0, len(zoneAccessors))
	for _, z := range zoneAccessors {
		get := z.get
		opts = append(opts, cel.Function(z.function,
			cel.MemberOverload(z.overload, []*cel.Type{cel.TimestampType, cel.StringType}, cel.IntType,
				cel.BinaryBinding(func(ts, tz ref.Val) ref.Val {
					t, ok := ts.(types.Timestamp)
					if !ok {
						return types.MaybeNoSuchOverloadErr(ts)
					}
					name, ok := tz.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(tz)
					}
					loc, err := zone(string(name))
					if err != nil {
						return types.NewErrFromString(err.Error())
					}
					return types.Int(get(t.In(loc)))
				}))))
	}
	return opts
}

// zones caches the time zones policies have used. Only zones that loaded are
// kept, so the cache is bounded by the tz database (about 600 names) and by
// maxCachedZones.
var (
	zones     sync.Map // string → *time.Location
	zoneCount atomic.Int32
)

const maxCachedZones = 1024

// zone resolves a CEL time zone argument: an IANA name ("Europe/Paris",
// "UTC") or a fixed offset ("+05:30", "-08:00"), as the CEL standard library
// does.
func zone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	var (
		loc *time.Location
		err error
	)
	if ind := strings.IndexByte(name, ':'); ind == -1 {
		loc, err = time.LoadLocation(name)
	} else {
		loc, err = fixedZone(name, ind)
	}
	if err != nil {
		return nil, err
	}
	if zoneCount.Load() < maxCachedZones {
		if _, loaded := zones.LoadOrStore(name, loc); !loaded {
			zoneCount.Add(1)
		}
	}
	return loc, nil
}

// fixedZone parses "±HH:MM" exactly as cel-go's standard library does.
func fixedZone(val string, ind int) (*time.Location, error) {
	hr, err := strconv.Atoi(val[:ind])
	if err != nil {
		return nil, err
	}
	min, err := strconv.Atoi(val[ind+1:])
	if err != nil {
		return nil, err
	}
	if hr < -23 || hr > 23 {
		return nil, fmt.Errorf("timezone offset hours out of range [-23, 23]: %s", val)
	}
	if min < 0 || min > 59 {
		return nil, fmt.Errorf("timezone offset minutes out of range [0, 59]: %s", val)
	}
	offset := hr*60 + min
	if val[0] == '-' {
		offset = hr*60 - min
	}
	return time.FixedZone("", offset*60), nil
}

// timeZoneLiterals checks literal time zone arguments at compile time, so a
// typo ("Europe/Pari") is a compile error with its position rather than a
// denial of every request.
type timeZoneLiterals struct{}

func (timeZoneLiterals) Name() string { return "llm_gateway.time_zone_literals" }

func (timeZoneLiterals) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	for _, e := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.CallKind)) {
		c := e.AsCall()
		if !c.IsMemberFunction() || len(c.Args()) != 1 || !isZoneAccessor(c.FunctionName()) {
			continue
		}
		arg := c.Args()[0]
		name, ok := literalString(arg)
		if !ok {
			continue
		}
		if _, err := zone(name); err != nil {
			iss.ReportErrorAtID(arg.ID(), "invalid time zone %q: %v", name, err)
		}
	}
}

func isZoneAccessor(fn string) bool {
	for _, z := range zoneAccessors {
		if z.function == fn {
			return true
		}
	}
	return false
}

// regexLiterals requires the pattern of matches() to be a string literal,
// and bounds its size. A literal is compiled once, when the policy is
// compiled; a pattern computed from the input (a header, say) would be an
// attacker-chosen regex compiled on every request.
//
// cel-go's own RegexProgramSizeLimit is not used: in v0.32.0 it compiles the
// pattern without simplifying it first, which panics on any counted
// repetition such as "a{2}".
type regexLiterals struct{}

func (regexLiterals) Name() string { return "llm_gateway.regex_literals" }

func (regexLiterals) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	for _, e := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.CallKind)) {
		c := e.AsCall()
		if c.FunctionName() != overloads.Matches {
			continue
		}
		args := c.Args()
		i := 1 // matches(s, re)
		if c.IsMemberFunction() {
			i = 0 // s.matches(re)
		}
		if len(args) <= i {
			continue
		}
		pat := args[i]
		lit, ok := literalString(pat)
		if !ok {
			iss.ReportErrorAtID(pat.ID(), "the pattern of matches() must be a string literal")
			continue
		}
		size, err := regexProgramSize(lit)
		if err != nil {
			continue // reported by cel.ValidateRegexLiterals, with RE2's message
		}
		if size > regexProgramSizeLimit {
			iss.ReportErrorAtID(pat.ID(), "regular expression too large: %d instructions, the limit is %d", size, regexProgramSizeLimit)
		}
	}
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// regexProgramSize is the number of instructions of the RE2 program
// regexp.Compile builds for pattern.
func regexProgramSize(pattern string) (int, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, err
	}
	return len(prog.Inst), nil
}
