package policy

import (
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// Input is what a policy can see. The gateway fills it after authentication
// and routing; the CEL name of each field is given in its comment.
//
// Eval reads Input and never writes to it, so one Input may be evaluated by
// several policies at once.
type Input struct {
	Request Request // request
	Service Subject // service
	Token   Subject // token
	Usage   Usage   // usage
	// Now is the evaluation time (now, a CEL timestamp). Zero means
	// time.Now() at the start of Eval; set it once per request so that every
	// policy of the request sees the same instant.
	Now time.Time
}

// Request describes the request being admitted (CEL: request).
type Request struct {
	Model    string // model: the model name the client asked for
	Provider string // provider: the name of the provider the request was routed to
	Surface  string // surface: "openai" | "azure" | "anthropic" | "gemini"
	Stream   bool   // stream

	// MaxTokens is the output token cap the client asked for (max_tokens), 0
	// when absent.
	MaxTokens int64

	// Temperature is the sampling temperature (temperature); HasTemperature
	// tells whether the client sent one. When it did not, has(request.temperature)
	// is false and reading request.temperature is an evaluation error (so the
	// request is denied): write !has(request.temperature) || request.temperature <= 1.0,
	// or request.?temperature.orValue(1.0) <= 1.0.
	Temperature    float64
	HasTemperature bool

	MessageCount         int64   // message_count
	EstimatedInputTokens int64   // estimated_input_tokens
	EstimatedCostUSD     float64 // estimated_cost_usd: worst-case cost of the request in USD

	// Headers (headers) holds request headers under lower-cased names. Only
	// the headers the gateway chooses to expose appear; credentials never do.
	Headers map[string]string

	ClientIP string // client_ip
}

// Subject is a service or a token (CEL: service, token).
type Subject struct {
	ID     string            // id
	Name   string            // name
	Labels map[string]string // labels
}

// Usage is what the request's service has used so far (CEL: usage).
type Usage struct {
	SpentTodayUSD      float64 // spent_today_usd: UTC calendar day
	SpentMonthUSD      float64 // spent_month_usd: UTC calendar month
	RequestsThisMinute int64   // requests_this_minute
}

// activation resolves the policy variables straight from an Input: no map is
// built per evaluation, and converting an *Input to an *activation costs
// nothing. The struct fields are handed out as pointers; field selection then
// goes through the accessors in types.go.
type activation Input

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "request":
		return &a.Request, true
	case "service":
		return &a.Service, true
	case "token":
		return &a.Token, true
	case "usage":
		return &a.Usage, true
	case "now":
		return types.Timestamp{Time: a.Now}, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Interface guards
var _ interpreter.Activation = (*activation)(nil)
