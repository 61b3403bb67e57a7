package gemini

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// skipSignature is the thought signature the Gemini API documents for
// function calls it did not produce (history from another model): it tells
// the API to skip the signature check that Gemini 3 models otherwise fail
// with a 400. https://ai.google.dev/gemini-api/docs/thought-signatures
const skipSignature = "skip_thought_signature_validator"

// The thinking budgets an OpenAI-style effort becomes (see the package
// documentation).
var effortBudgets = map[string]int64{
	"minimal": 512,
	"low":     1024,
	"medium":  8192,
	"high":    24576,
	"xhigh":   24576,
}

// emptyObject is the arguments of a call without any: an empty JSON
// object. Shared: nobody writes into it.
var emptyObject = jsontext.Value("{}")

// emptyText is the text of a part that must carry a data field but has no
// text (a thinking part holding only a signature).
var emptyText = ""

// DecodeRequest reads a GenerateContentRequest body (the body of
// models/{model}:generateContent or :streamGenerateContent) into r. The
// model and streaming come from the URL, so r.Model and r.Stream are left
// for the caller. It returns an *llm.Error, with Param in Gemini's
// notation, for a body that is invalid or holds something the other
// dialects cannot express.
func DecodeRequest(body []byte, r *llm.Request) error {
	var req generateRequest
	if err := json.Unmarshal(body, &req); err != nil {
		// Perhaps a single content or part where the API also takes one.
		fixed, ferr := wrapSingles(body)
		if ferr != nil || bytes.Equal(fixed, body) {
			return &llm.Error{Message: "invalid request body: " + err.Error()}
		}
		req = generateRequest{}
		if json.Unmarshal(fixed, &req) != nil {
			return &llm.Error{Message: "invalid request body: " + err.Error()}
		}
	}
	*r = llm.Request{}
	if req.CachedContent != "" {
		return llm.Errorf("cachedContent", "cached content is only available on Gemini and cannot be translated")
	}
	if si := req.SystemInstruction; si != nil {
		for i := range si.Parts {
			p := &si.Parts[i]
			if p.Text == nil || !p.onlyText() {
				return llm.Errorf(fmt.Sprintf("systemInstruction.parts[%d]", i), "only text parts are supported in a system instruction")
			}
			if *p.Text != "" {
				r.System = append(r.System, llm.Part{Type: llm.PartText, Text: *p.Text})
			}
		}
	}
	var ids callIDs
	r.Messages = make([]llm.Message, 0, len(req.Contents))
	n := 0
	for i := range req.Contents {
		n += len(req.Contents[i].Parts)
	}
	buf := make([]llm.Part, 0, n) // every message's parts, in one allocation
	for i := range req.Contents {
		c := &req.Contents[i]
		var role llm.Role
		switch c.Role {
		case "user", "", "function", "tool":
			role = llm.RoleUser
		case "model":
			role = llm.RoleAssistant
		default:
			return llm.Errorf(fmt.Sprintf("contents[%d].role", i), "unknown role %q (want user or model)", c.Role)
		}
		start := len(buf)
		var err error
		if buf, err = decodeParts(buf, c.Parts, role, i, &ids); err != nil {
			return err
		}
		r.Messages = append(r.Messages, llm.Message{Role: role, Parts: buf[start:len(buf):len(buf)]})
	}
	nt := 0
	for i := range req.Tools {
		nt += len(req.Tools[i].FunctionDeclarations)
	}
	if nt > 0 {
		r.Tools = make([]llm.Tool, 0, nt)
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		if len(t.Other) > 0 {
			return llm.Errorf(fmt.Sprintf("tools[%d]", i), "only functionDeclarations tools can be translated; %s is not supported", firstName(t.Other))
		}
		for j := range t.FunctionDeclarations {
			fd := &t.FunctionDeclarations[j]
			if fd.Name == "" {
				return llm.Errorf(fmt.Sprintf("tools[%d].functionDeclarations[%d].name", i, j), "a function declaration needs a name")
			}
			tl := llm.Tool{Name: fd.Name, Description: fd.Description}
			switch {
			case isPresent(fd.ParametersJSONSchema):
				tl.Parameters = fd.ParametersJSONSchema
			case isPresent(fd.Parameters):
				s, err := convertSchema(fd.Parameters)
				if err != nil {
					return llm.Errorf(fmt.Sprintf("tools[%d].functionDeclarations[%d].parameters", i, j), "invalid schema: %v", err)
				}
				tl.Parameters = s
			}
			r.Tools = append(r.Tools, tl)
		}
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		switch strings.ToUpper(fc.Mode) {
		case "", "MODE_UNSPECIFIED":
		case "AUTO":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolAuto}
		case "VALIDATED":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolAuto, Allowed: fc.AllowedFunctionNames}
		case "NONE":
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNone}
		case "ANY":
			if len(fc.AllowedFunctionNames) == 1 {
				r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: fc.AllowedFunctionNames[0]}
			} else {
				r.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired, Allowed: fc.AllowedFunctionNames}
			}
		default:
			return llm.Errorf("toolConfig.functionCallingConfig.mode", "unknown mode %q", fc.Mode)
		}
	}
	if gc := req.GenerationConfig; gc != nil {
		if err := decodeGenerationConfig(gc, r); err != nil {
			return err
		}
	}
	return nil
}

// decodeGenerationConfig copies a generationConfig into r.
func decodeGenerationConfig(gc *generationConfig, r *llm.Request) error {
	r.Temperature = gc.Temperature
	r.TopP = gc.TopP
	r.PresencePenalty = gc.PresencePenalty
	r.FrequencyPenalty = gc.FrequencyPenalty
	r.Seed = gc.Seed
	if gc.TopK != nil {
		k := int64(*gc.TopK)
		r.TopK = &k
	}
	r.Candidates = gc.CandidateCount
	r.MaxTokens = gc.MaxOutputTokens
	r.Stop = gc.StopSequences
	for _, m := range gc.ResponseModalities {
		if !strings.EqualFold(m, "TEXT") {
			return llm.Errorf("generationConfig.responseModalities", "only TEXT output can be translated, not %s", m)
		}
	}
	switch mt := strings.ToLower(gc.ResponseMimeType); mt {
	case "", "text/plain":
		if isPresent(gc.ResponseSchema) || isPresent(gc.ResponseJSONSchema) {
			return llm.Errorf("generationConfig.responseMimeType", "a response schema needs responseMimeType application/json")
		}
	case "application/json":
		switch {
		case isPresent(gc.ResponseJSONSchema):
			r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: gc.ResponseJSONSchema}
		case isPresent(gc.ResponseSchema):
			s, err := convertSchema(gc.ResponseSchema)
			if err != nil {
				return llm.Errorf("generationConfig.responseSchema", "invalid schema: %v", err)
			}
			r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: s}
		default:
			r.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
		}
	default:
		return llm.Errorf("generationConfig.responseMimeType", "response MIME type %q cannot be translated (use text/plain or application/json)", gc.ResponseMimeType)
	}
	if tc := gc.ThinkingConfig; tc != nil {
		var rs llm.Reasoning
		switch {
		case tc.ThinkingBudget != nil && *tc.ThinkingBudget == 0:
			rs.Disabled = true
		case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0:
			rs.BudgetTokens = *tc.ThinkingBudget
		case tc.ThinkingLevel != "":
			switch lvl := strings.ToLower(tc.ThinkingLevel); lvl {
			case "minimal", "low", "medium", "high":
				rs.Effort = lvl
			case "thinking_level_unspecified":
			default:
				return llm.Errorf("generationConfig.thinkingConfig.thinkingLevel", "unknown thinking level %q", tc.ThinkingLevel)
			}
		}
		// A dynamic budget (-1) or includeThoughts alone ask for thinking
		// at the provider's default: an empty, non-nil Reasoning.
		if rs != (llm.Reasoning{}) || tc.IncludeThoughts || (tc.ThinkingBudget != nil && *tc.ThinkingBudget < 0) {
			r.Reasoning = &rs
		}
	}
	return nil
}

// onlyText reports whether p carries nothing but text.
func (p *part) onlyText() bool {
	return p.InlineData == nil && p.FileData == nil && p.FunctionCall == nil &&
		p.FunctionResponse == nil && !bool(p.ExecutableCode || p.CodeExecutionResult)
}

// callIDs makes up the tool call IDs Gemini does not send and pairs
// function responses with the calls they answer.
type callIDs struct {
	n       int    // calls numbered so far
	prefix  string // "call_" or "call_<response id>_"
	pending []pendingCall
}

// pendingCall is a call not yet answered.
type pendingCall struct {
	id, name string
}

// call returns the ID of a function call: its own, or a made-up one.
func (c *callIDs) call(fc *functionCall) string {
	id := fc.ID
	if id == "" {
		id = c.next()
	}
	c.pending = append(c.pending, pendingCall{id: id, name: fc.Name})
	return id
}

// next makes up a new ID.
func (c *callIDs) next() string {
	p := c.prefix
	if p == "" {
		p = "call_"
	}
	id := p + strconv.Itoa(c.n)
	c.n++
	return id
}

// response returns the ID of the call a function response answers: its
// own ID when it has one, else the earliest unanswered call of the same
// name, else a new ID.
func (c *callIDs) response(fr *functionResponse) string {
	for i, p := range c.pending {
		if (fr.ID != "" && p.id == fr.ID) || (fr.ID == "" && p.name == fr.Name) {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return p.id
		}
	}
	if fr.ID != "" {
		return fr.ID
	}
	return c.next()
}

// decodeParts appends the llm parts of the parts of content i (or of a
// response, i < 0) to out.
func decodeParts(out []llm.Part, ps []part, role llm.Role, i int, ids *callIDs) ([]llm.Part, error) {
	for j := range ps {
		p := &ps[j]
		if i < 0 && p.FunctionCall == nil && (!p.onlyText() || p.Text == nil && p.ThoughtSignature == "") {
			continue // a response part the gateway does not relay (an image…)
		}
		switch {
		case p.FunctionCall != nil:
			if role != llm.RoleAssistant {
				return nil, llm.Errorf(partParam(i, j)+".functionCall", "a function call must be in a model turn")
			}
			args := p.FunctionCall.Args
			if !isPresent(args) {
				args = emptyObject
			}
			out = append(out, llm.Part{Type: llm.PartToolCall, ID: ids.call(p.FunctionCall), Name: p.FunctionCall.Name, Arguments: args, Signature: p.ThoughtSignature})
		case p.FunctionResponse != nil:
			if role != llm.RoleUser {
				return nil, llm.Errorf(partParam(i, j)+".functionResponse", "a function response must be in a user turn")
			}
			tr, err := decodeFunctionResponse(p.FunctionResponse)
			if err != nil {
				return nil, withParam(err, partParam(i, j)+".functionResponse")
			}
			tr.ID = ids.response(p.FunctionResponse)
			out = append(out, tr)
		case p.InlineData != nil:
			img, err := decodeBlob(p.InlineData)
			if err != nil {
				return nil, withParam(err, partParam(i, j)+".inlineData")
			}
			out = append(out, img)
		case p.FileData != nil:
			img, err := decodeFileData(p.FileData)
			if err != nil {
				return nil, withParam(err, partParam(i, j)+".fileData")
			}
			out = append(out, img)
		case bool(p.ExecutableCode || p.CodeExecutionResult):
			return nil, llm.Errorf(partParam(i, j), "code execution parts cannot be translated")
		case p.Thought && role == llm.RoleAssistant:
			if t := deref(p.Text); t != "" || p.ThoughtSignature != "" {
				out = append(out, llm.Part{Type: llm.PartThinking, Text: t, Signature: p.ThoughtSignature})
			}
		case p.Text != nil && *p.Text != "":
			out = append(out, llm.Part{Type: llm.PartText, Text: *p.Text, Signature: p.ThoughtSignature})
		case p.ThoughtSignature != "" && role == llm.RoleAssistant:
			// A signature with no text stays a part of its own: Google
			// asks that signed and unsigned parts not be merged.
			out = append(out, llm.Part{Type: llm.PartThinking, Signature: p.ThoughtSignature})
		case p.Text != nil:
			// An empty text part: nothing to keep.
		default:
			return nil, llm.Errorf(partParam(i, j), "unsupported part (want text, inlineData, fileData, functionCall or functionResponse)")
		}
	}
	return out, nil
}

// partParam names part j of content i in Gemini's notation.
func partParam(i, j int) string {
	if i < 0 {
		return fmt.Sprintf("candidates[0].content.parts[%d]", j)
	}
	return fmt.Sprintf("contents[%d].parts[%d]", i, j)
}

// withParam prefixes the Param of an *llm.Error with prefix.
func withParam(err error, prefix string) error {
	if le, ok := err.(*llm.Error); ok {
		if le.Param == "" {
			le.Param = prefix
		} else {
			le.Param = prefix + "." + le.Param
		}
	}
	return err
}

// decodeBlob reads inline data, which must be an image. Error params are
// relative to the blob.
func decodeBlob(b *blob) (llm.Part, error) {
	if !strings.HasPrefix(b.MimeType, "image/") {
		return llm.Part{}, llm.Errorf("mimeType", "only images can be translated, not %q", b.MimeType)
	}
	return llm.Part{Type: llm.PartImage, MediaType: b.MimeType, Data: b.Data}, nil
}

// decodeFileData reads data by URI, which must be an image.
func decodeFileData(f *fileData) (llm.Part, error) {
	mt := f.MimeType
	if mt == "" {
		mt = guessImageType(f.FileURI)
	}
	if !strings.HasPrefix(mt, "image/") {
		return llm.Part{}, llm.Errorf("mimeType", "only images can be translated, not %q", f.MimeType)
	}
	if f.FileURI == "" {
		return llm.Part{}, llm.Errorf("fileUri", "missing file URI")
	}
	return llm.Part{Type: llm.PartImage, MediaType: mt, URL: f.FileURI}, nil
}

// decodeFunctionResponse converts a function response into a tool result
// (without its ID): the response object as one text part holding its
// JSON, then any images.
func decodeFunctionResponse(fr *functionResponse) (llm.Part, error) {
	resp := fr.Response
	if !isPresent(resp) {
		resp = emptyObject
	} else if err := resp.Compact(); err != nil {
		return llm.Part{}, llm.Errorf("response", "invalid JSON: %v", err)
	}
	tr := llm.Part{
		Type:    llm.PartToolResult,
		Name:    fr.Name,
		Content: make([]llm.Part, 1, 1+len(fr.Parts)),
		IsError: isErrorResponse(resp),
	}
	tr.Content[0] = llm.Part{Type: llm.PartText, Text: string(resp)}
	for k := range fr.Parts {
		var (
			img llm.Part
			err error
		)
		fp := &fr.Parts[k]
		switch {
		case fp.InlineData != nil:
			if img, err = decodeBlob(fp.InlineData); err != nil {
				return llm.Part{}, withParam(err, fmt.Sprintf("parts[%d].inlineData", k))
			}
		case fp.FileData != nil:
			if img, err = decodeFileData(fp.FileData); err != nil {
				return llm.Part{}, withParam(err, fmt.Sprintf("parts[%d].fileData", k))
			}
		default:
			continue
		}
		tr.Content = append(tr.Content, img)
	}
	return tr, nil
}

// isErrorResponse reports whether a function response object reports a
// failure: it has an "error" member and no "output" one, the convention
// of FunctionResponse.response.
func isErrorResponse(v jsontext.Value) bool {
	if len(v) == 0 || v[0] != '{' || !bytes.Contains(v, []byte(`"error"`)) {
		return false
	}
	hasErr, hasOut := false, false
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		switch name.String() {
		case "error":
			hasErr = true
		case "output":
			hasOut = true
		}
		if err := dec.SkipValue(); err != nil {
			return false
		}
	}
	return hasErr && !hasOut
}

// EncodeRequest writes r as a GenerateContentRequest body. The model and
// streaming go in the URL, so o.Model and r.Stream are not written. It
// returns an *llm.Error when r holds something Gemini cannot express (a
// tool result whose tool name is unknown, several candidates…).
func EncodeRequest(r *llm.Request, o llm.EncodeOptions) ([]byte, error) {
	var req generateRequest
	if r.Candidates > 1 {
		return nil, llm.Errorf("", "the Gemini dialect relays a single candidate; %d were asked for", r.Candidates)
	}
	if len(r.System) > 0 {
		si := &content{Parts: make([]part, 0, len(r.System))}
		for i := range r.System {
			if r.System[i].Text != "" {
				si.Parts = append(si.Parts, part{Text: &r.System[i].Text})
			}
		}
		if len(si.Parts) > 0 {
			req.SystemInstruction = si
		}
	}
	var names map[string]string // tool call ID -> name, for results without a name
	req.Contents = make([]content, 0, len(r.Messages))
	n := 0
	for i := range r.Messages {
		n += len(r.Messages[i].Parts)
	}
	buf := make([]part, 0, n) // every content's parts, in one allocation
	for i := range r.Messages {
		m := &r.Messages[i]
		start := len(buf)
		c := content{Role: "user"}
		if m.Role == llm.RoleAssistant {
			c.Role = "model"
		}
		firstCall := true
		for j := range m.Parts {
			p := &m.Parts[j]
			switch p.Type {
			case llm.PartText:
				sig := upstreamSignature(p.Signature)
				if p.Text == "" && sig == "" {
					continue
				}
				buf = append(buf, part{Text: &p.Text, ThoughtSignature: sig})
			case llm.PartImage:
				ip, err := encodeImage(p)
				if err != nil {
					return nil, withParam(err, msgParam(i, j))
				}
				buf = append(buf, ip)
			case llm.PartThinking:
				sig := upstreamSignature(p.Signature)
				if p.Text == "" && sig == "" {
					continue
				}
				buf = append(buf, part{Text: &p.Text, Thought: p.Text != "", ThoughtSignature: sig})
			case llm.PartRedactedThinking:
				// Another provider's encrypted reasoning: Gemini cannot read it.
			case llm.PartToolCall:
				if names == nil {
					names = make(map[string]string)
				}
				names[p.ID] = p.Name
				args := p.Arguments
				if !isPresent(args) {
					args = emptyObject
				}
				sig := upstreamSignature(p.Signature)
				if sig == "" && firstCall {
					sig = skipSignature
				}
				firstCall = false
				buf = append(buf, part{FunctionCall: &functionCall{Name: p.Name, Args: args}, ThoughtSignature: sig})
			case llm.PartToolResult:
				fp, err := encodeToolResult(p, names)
				if err != nil {
					return nil, withParam(err, msgParam(i, j))
				}
				buf = append(buf, fp)
			default:
				return nil, llm.Errorf(msgParam(i, j), "unknown part type %d", p.Type)
			}
		}
		switch n := len(req.Contents); {
		case len(buf) == start: // nothing to send
		case n > 0 && req.Contents[n-1].Role == c.Role:
			// Gemini wants the responses to a turn's function calls in
			// one content: merge consecutive turns of the same role (their
			// parts are contiguous in buf).
			prev := start - len(req.Contents[n-1].Parts)
			req.Contents[n-1].Parts = buf[prev:len(buf):len(buf)]
		default:
			c.Parts = buf[start:len(buf):len(buf)]
			req.Contents = append(req.Contents, c)
		}
	}
	if len(r.Tools) > 0 {
		t := tool{FunctionDeclarations: make([]functionDeclaration, len(r.Tools))}
		for i := range r.Tools {
			tl := &r.Tools[i]
			t.FunctionDeclarations[i] = functionDeclaration{Name: tl.Name, Description: tl.Description}
			if isPresent(tl.Parameters) {
				t.FunctionDeclarations[i].ParametersJSONSchema = tl.Parameters
			}
		}
		req.Tools = []tool{t}
	}
	if fc := encodeToolChoice(&r.ToolChoice); fc != nil {
		req.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	}
	gc, err := encodeGenerationConfig(r, o.Model)
	if err != nil {
		return nil, err
	}
	req.GenerationConfig = gc
	return appendRequest(&req)
}

// appendRequest writes req: the contents (nearly all of the bytes) by hand,
// the rest by its struct tags.
func appendRequest(req *generateRequest) ([]byte, error) {
	contents := req.Contents
	req.Contents = nil
	rest, err := json.Marshal(req, lenient)
	req.Contents = contents
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding request: %w", err)
	}
	const empty = `{"contents":[]`
	if !bytes.HasPrefix(rest, []byte(empty)) {
		return nil, fmt.Errorf("gemini: encoding request: unexpected start %.20q", rest)
	}
	size := len(rest)
	for i := range contents {
		size += contentSize(&contents[i])
	}
	b := append(make([]byte, 0, size), `{"contents":[`...)
	for i := range contents {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendContent(b, &contents[i]); err != nil {
			return nil, fmt.Errorf("gemini: encoding request: %w", err)
		}
	}
	b = append(b, ']')
	return append(b, rest[len(empty):]...), nil
}

// encodeToolChoice maps the tool choice; nil when none was given.
func encodeToolChoice(tc *llm.ToolChoice) *functionCallingConfig {
	switch tc.Mode {
	case llm.ToolAuto:
		if len(tc.Allowed) > 0 {
			return &functionCallingConfig{Mode: "VALIDATED", AllowedFunctionNames: tc.Allowed}
		}
		return &functionCallingConfig{Mode: "AUTO"}
	case llm.ToolNone:
		return &functionCallingConfig{Mode: "NONE"}
	case llm.ToolRequired:
		return &functionCallingConfig{Mode: "ANY", AllowedFunctionNames: tc.Allowed}
	case llm.ToolNamed:
		return &functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Name}}
	}
	if len(tc.Allowed) > 0 {
		return &functionCallingConfig{Mode: "VALIDATED", AllowedFunctionNames: tc.Allowed}
	}
	return nil
}

// encodeGenerationConfig builds the generationConfig; nil when empty.
func encodeGenerationConfig(r *llm.Request, model string) (*generationConfig, error) {
	gc := generationConfig{
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		PresencePenalty:  r.PresencePenalty,
		FrequencyPenalty: r.FrequencyPenalty,
		Seed:             r.Seed,
		MaxOutputTokens:  r.MaxTokens,
		StopSequences:    r.Stop,
	}
	if r.TopK != nil {
		k := float64(*r.TopK)
		gc.TopK = &k
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if isPresent(rf.Schema) {
				gc.ResponseJSONSchema = rf.Schema
			}
		case "", "text":
		default:
			return nil, llm.Errorf("", "response format %q cannot be expressed in the Gemini dialect", rf.Type)
		}
	}
	if rs := r.Reasoning; rs != nil && thinks(model) && !(rs.Disabled && alwaysThinks(model)) {
		tc := &thinkingConfig{}
		switch {
		case rs.Disabled:
			tc.ThinkingBudget = new(int64)
		case rs.BudgetTokens > 0:
			tc.ThinkingBudget = &rs.BudgetTokens
			tc.IncludeThoughts = true
		case rs.Effort == "none":
			tc.ThinkingBudget = new(int64)
		case rs.Effort != "":
			b, ok := effortBudgets[rs.Effort]
			if !ok {
				return nil, llm.Errorf("", "unknown reasoning effort %q", rs.Effort)
			}
			tc.ThinkingBudget = &b
			tc.IncludeThoughts = true
		default:
			tc.IncludeThoughts = true // thinking at the model's default budget
		}
		gc.ThinkingConfig = tc
	}
	if gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.PresencePenalty == nil &&
		gc.FrequencyPenalty == nil && gc.Seed == nil && gc.MaxOutputTokens == 0 && len(gc.StopSequences) == 0 &&
		gc.ResponseMimeType == "" && gc.ThinkingConfig == nil {
		return nil, nil
	}
	return &gc, nil
}

// msgParam names part j of message i, in a neutral notation (the
// client's dialect is unknown here).
func msgParam(i, j int) string {
	return fmt.Sprintf("messages[%d].content[%d]", i, j)
}

// encodeImage writes an image as inline data or a file URI. Error params
// are relative to the image.
func encodeImage(p *llm.Part) (part, error) {
	if p.Data != "" {
		mt := p.MediaType
		if mt == "" {
			mt = "image/jpeg"
		}
		return part{InlineData: &blob{MimeType: mt, Data: p.Data}}, nil
	}
	if p.URL == "" {
		return part{}, llm.Errorf("", "an image needs data or a URL")
	}
	if rest, ok := strings.CutPrefix(p.URL, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 {
			return part{}, llm.Errorf("", "an image data URL must be base64")
		}
		if mt == "" {
			mt = "image/jpeg"
		}
		return part{InlineData: &blob{MimeType: mt, Data: data}}, nil
	}
	mt := p.MediaType
	if mt == "" {
		mt = guessImageType(p.URL)
	}
	if mt == "" {
		mt = "image/jpeg"
	}
	return part{FileData: &fileData{MimeType: mt, FileURI: p.URL}}, nil
}

// guessImageType guesses an image's media type from its URL's extension;
// "" when it cannot.
func guessImageType(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch strings.ToLower(path.Ext(u)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	}
	return ""
}

// encodeToolResult writes a tool result as a functionResponse part. Error
// params are relative to the result.
func encodeToolResult(p *llm.Part, names map[string]string) (part, error) {
	name := p.Name
	if name == "" {
		name = names[p.ID]
	}
	if name == "" {
		return part{}, llm.Errorf("", "the Gemini API needs the function name of a tool result, and no earlier tool call has the ID %q", p.ID)
	}
	fr := &functionResponse{Name: name}
	var text []byte
	nText := 0
	for k := range p.Content {
		c := &p.Content[k]
		switch c.Type {
		case llm.PartText:
			if nText > 0 {
				text = append(text, '\n')
			}
			text = append(text, c.Text...)
			nText++
		case llm.PartImage:
			ip, err := encodeImage(c)
			if err != nil {
				return part{}, withParam(err, fmt.Sprintf("content[%d]", k))
			}
			fr.Parts = append(fr.Parts, functionResponsePart{InlineData: ip.InlineData, FileData: ip.FileData})
		default:
			return part{}, llm.Errorf(fmt.Sprintf("content[%d]", k), "a tool result can hold only text and images")
		}
	}
	fr.Response = responseObject(text, nText == 1, p.IsError)
	return part{FunctionResponse: fr}, nil
}

// responseObject builds FunctionResponse.response from a tool result's
// text: a lone JSON object is used as is (wrapped as {"error": …} when it
// reports a failure that does not already say so); other text becomes
// {"output": "<text>"} or {"error": "<text>"}.
func responseObject(text []byte, single, isError bool) jsontext.Value {
	if single {
		t := bytes.TrimSpace(text)
		if len(t) > 0 && t[0] == '{' && jsontext.Value(t).IsValid() {
			if !isError || isErrorResponse(t) {
				return jsontext.Value(t)
			}
			return append(append([]byte(`{"error":`), t...), '}')
		}
	}
	key := "output"
	if isError {
		key = "error"
	}
	b := make([]byte, 0, len(text)+16)
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b, err := jsontext.AppendQuote(b, text)
	if err != nil { // invalid UTF-8: replace it rather than fail
		b = b[:len(key)+4]
		b, _ = jsontext.AppendQuote(b, bytes.ToValidUTF8(text, []byte("\uFFFD")))
	}
	return append(b, '}')
}

// isPresent reports whether a raw JSON member holds a value other than
// null.
func isPresent(v jsontext.Value) bool {
	return len(v) > 0 && string(v) != "null"
}

// deref returns *s, or "" when s is nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// firstName returns the first member name of a JSON object, for errors.
func firstName(v jsontext.Value) string {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if _, err := dec.ReadToken(); err == nil {
		if t, err := dec.ReadToken(); err == nil && t.Kind() == '"' {
			return t.String()
		}
	}
	return "this tool"
}

// thinks reports whether model takes a thinkingConfig: Gemini 1.x and 2.0
// models (and Gemma) answer one with a 400, so a client's thinking request
// is dropped for them. An unknown name is taken to be a newer model.
func thinks(model string) bool {
	m := strings.TrimPrefix(strings.ToLower(model), "models/")
	return !strings.HasPrefix(m, "gemini-1") && !strings.HasPrefix(m, "gemini-2.0") && !strings.HasPrefix(m, "gemma")
}

// alwaysThinks reports whether model cannot turn thinking off (the Pro
// models answer a budget of 0 with a 400): a request to disable thinking
// sends no thinkingConfig to them.
func alwaysThinks(model string) bool {
	return strings.Contains(strings.ToLower(model), "-pro")
}
