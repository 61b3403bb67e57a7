package responses

import (
	"errors"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// request is the part of a POST /v1/responses body the codec reads. Fields
// it ignores on purpose (store, metadata, include, truncation, service_tier,
// prompt_cache_key…) are simply absent: unknown fields are skipped.
type request struct {
	Model              string           `json:"model"`
	Instructions       string           `json:"instructions"`
	Input              inputField       `json:"input"`
	Tools              []tool           `json:"tools"`
	ToolChoice         jsontext.Value   `json:"tool_choice"`
	ParallelToolCalls  *bool            `json:"parallel_tool_calls"`
	MaxOutputTokens    *int64           `json:"max_output_tokens"`
	Temperature        *float64         `json:"temperature"`
	TopP               *float64         `json:"top_p"`
	Stream             bool             `json:"stream"`
	User               string           `json:"user"`
	SafetyIdentifier   string           `json:"safety_identifier"`
	Reasoning          *reasoningConfig `json:"reasoning"`
	Text               *textConfig      `json:"text"`
	PreviousResponseID string           `json:"previous_response_id"`
	Conversation       jsontext.Value   `json:"conversation"`
	Background         bool             `json:"background"`
	Prompt             jsontext.Value   `json:"prompt"`
}

// inputField is the request's input: a string (one user message) or an
// array of input items. Items are decoded one at a time, straight from the
// token stream, and handed to the inputDecoder: the largest part of a body
// is parsed once and never held as a slice of items.
type inputField struct {
	d       *inputDecoder
	present bool
}

// UnmarshalJSONFrom decodes a string, an array of items or null.
func (f *inputField) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '"':
		f.present = true
		var s string
		if err := json.UnmarshalDecode(dec, &s); err != nil {
			return err
		}
		if s != "" {
			f.d.add(llm.RoleUser, llm.Part{Type: llm.PartText, Text: s})
		}
		return nil
	case '[':
		f.present = true
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var it inputItem
		for i := 0; dec.PeekKind() != ']'; i++ {
			// Reuse the part buffers: parts are copied out of them.
			content, output := it.Content.parts[:0], it.Output.parts[:0]
			it = inputItem{}
			it.Content.parts, it.Output.parts = content, output
			if err := json.UnmarshalDecode(dec, &it); err != nil {
				return err
			}
			if err := f.d.item(i, &it); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	default:
		return errors.New("must be a string or an array of input items")
	}
}

// inputItem holds the fields of every input item type the codec accepts
// (messages, function_call, function_call_output, reasoning); the type
// field says which apply.
type inputItem struct {
	Type             string         `json:"type"`
	Role             string         `json:"role"`
	Content          contentField   `json:"content"`
	CallID           string         `json:"call_id"`
	Name             string         `json:"name"`
	Arguments        string         `json:"arguments"`
	Output           contentField   `json:"output"`
	Summary          jsontext.Value `json:"summary"`
	EncryptedContent string         `json:"encrypted_content"`
}

// contentField is a message's content or a tool output: a string or an
// array of content parts. Other shapes (which only item types the codec
// rejects use) are skipped and remembered as kindOther.
type contentField struct {
	kind  byte // 0 (absent or null), '"', '[' or kindOther
	text  string
	parts []contentPart
}

const kindOther = '?'

// UnmarshalJSONFrom decodes a string, an array of parts or null, and skips
// anything else.
func (f *contentField) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch k := dec.PeekKind(); k {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '"':
		f.kind = '"'
		return json.UnmarshalDecode(dec, &f.text)
	case '[':
		f.kind = '['
		return json.UnmarshalDecode(dec, &f.parts)
	default:
		f.kind = kindOther
		return dec.SkipValue()
	}
}

// contentPart is one part of a message's content or of a tool output.
type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
	Refusal  string `json:"refusal"`
}

// summaryPart is a part of a reasoning item's summary.
type summaryPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// tool is a tools[] entry; only function tools are accepted.
type tool struct {
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  jsontext.Value `json:"parameters"`
}

// toolChoiceObject is the object form of tool_choice.
type toolChoiceObject struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Tools []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tools"`
}

type reasoningConfig struct {
	Effort string `json:"effort"`
}

type textConfig struct {
	Format *formatConfig `json:"format"`
}

type formatConfig struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Schema jsontext.Value `json:"schema"`
	Strict *bool          `json:"strict"`
}

// openAIOnly is the end of the messages for features only an OpenAI
// upstream offers.
const openAIOnly = "is only available from OpenAI upstreams"

// DecodeRequest reads a Responses API request body (POST /v1/responses)
// into r, replacing its contents. Anything the body holds that another
// provider cannot honour (stateful features, built-in tools, file inputs…)
// is rejected with an *llm.Error whose Param uses the Responses notation
// (input[2].content[0].image_url). The package documentation lists the
// mapping.
func DecodeRequest(body []byte, r *llm.Request) error {
	d := &inputDecoder{parts: make([]llm.Part, 0, 8)}
	d.spans = d.spanBuf[:0]
	q := request{Input: inputField{d: d}}
	if err := json.Unmarshal(body, &q, unmarshalOpts); err != nil {
		return jsonError(err)
	}
	*r = llm.Request{}

	if q.PreviousResponseID != "" {
		return llm.Errorf("previous_response_id", "previous_response_id needs the conversation state OpenAI stores, which %s; send the whole conversation in input instead", openAIOnly)
	}
	if present(q.Conversation) {
		return llm.Errorf("conversation", "conversations are stored by OpenAI and %s; send the whole conversation in input instead", openAIOnly)
	}
	if q.Background {
		return llm.Errorf("background", "background responses %s", openAIOnly)
	}
	if present(q.Prompt) {
		return llm.Errorf("prompt", "prompt templates are stored by OpenAI and %s; send instructions and input instead", openAIOnly)
	}

	r.Model = q.Model
	if !q.Input.present {
		return llm.Errorf("input", "'input' is required")
	}
	if q.Instructions != "" {
		r.System = append(r.System, llm.Part{Type: llm.PartText, Text: q.Instructions})
	}
	r.System = append(r.System, d.system...)
	d.messages(r)

	if err := decodeTools(q.Tools, r); err != nil {
		return err
	}
	if err := decodeToolChoice(q.ToolChoice, r); err != nil {
		return err
	}
	r.ParallelToolCalls = q.ParallelToolCalls
	if q.MaxOutputTokens != nil {
		if *q.MaxOutputTokens <= 0 {
			return llm.Errorf("max_output_tokens", "must be a positive integer")
		}
		r.MaxTokens = *q.MaxOutputTokens
	}
	r.Temperature, r.TopP = q.Temperature, q.TopP
	r.Stream = q.Stream
	r.User = q.SafetyIdentifier
	if r.User == "" {
		r.User = q.User
	}
	if q.Reasoning != nil {
		switch e := q.Reasoning.Effort; e {
		case "":
		case "none":
			r.Reasoning = &llm.Reasoning{Disabled: true}
		case "minimal", "low", "medium", "high", "xhigh":
			r.Reasoning = &llm.Reasoning{Effort: e}
		default:
			return llm.Errorf("reasoning.effort", "unsupported reasoning effort %q; use none, minimal, low, medium, high or xhigh", e)
		}
	}
	if q.Text != nil && q.Text.Format != nil {
		f := q.Text.Format
		switch f.Type {
		case "", "text":
		case "json_object":
			r.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
		case "json_schema":
			if !present(f.Schema) {
				return llm.Errorf("text.format.schema", "'schema' is required for a json_schema format")
			}
			r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: f.Name, Schema: f.Schema, Strict: f.Strict != nil && *f.Strict}
		default:
			return llm.Errorf("text.format.type", "unsupported text format %q; use text, json_object or json_schema", f.Type)
		}
	}
	return nil
}

// inputDecoder turns input items into system parts and messages. The parts
// of all messages go to one buffer, cut into messages at the end.
type inputDecoder struct {
	system  []llm.Part
	parts   []llm.Part
	spans   []span
	spanBuf [8]span
}

// span is a message: its role and where its parts start in the buffer.
type span struct {
	role  llm.Role
	start int
}

// add appends p to the conversation as role, merging it into the previous
// message when that has the same role (tool calls join the assistant turn
// they belong to, tool results the user turn).
func (d *inputDecoder) add(role llm.Role, p llm.Part) {
	if n := len(d.spans); n == 0 || d.spans[n-1].role != role {
		d.spans = append(d.spans, span{role: role, start: len(d.parts)})
	}
	d.parts = append(d.parts, p)
}

// messages cuts the part buffer into r's messages.
func (d *inputDecoder) messages(r *llm.Request) {
	if len(d.spans) == 0 {
		return
	}
	r.Messages = make([]llm.Message, len(d.spans))
	for i, s := range d.spans {
		end := len(d.parts)
		if i+1 < len(d.spans) {
			end = d.spans[i+1].start
		}
		r.Messages[i] = llm.Message{Role: s.role, Parts: d.parts[s.start:end:end]}
	}
}

func (d *inputDecoder) item(i int, it *inputItem) error {
	switch it.Type {
	case "message":
		return d.message(i, it)
	case "":
		if it.Role == "" {
			return llm.Errorf(param("input", i, "type"), "an input item needs a 'type' (or a 'role' for a message)")
		}
		return d.message(i, it)
	case "function_call":
		return d.functionCall(i, it)
	case "function_call_output":
		return d.functionCallOutput(i, it)
	case "reasoning":
		return d.reasoning(i, it)
	case "item_reference":
		return llm.Errorf(param("input", i, "type"), "item_reference points into the conversation state OpenAI stores, which %s; send the referenced item itself", openAIOnly)
	default:
		return llm.Errorf(param("input", i, "type"), "input item type %q %s", it.Type, openAIOnly)
	}
}

func (d *inputDecoder) message(i int, it *inputItem) error {
	var role llm.Role
	system := false
	switch it.Role {
	case "user":
		role = llm.RoleUser
	case "assistant":
		role = llm.RoleAssistant
	case "system", "developer":
		system = true
	case "":
		return llm.Errorf(param("input", i, "role"), "'role' is required")
	default:
		return llm.Errorf(param("input", i, "role"), "unsupported role %q; use user, assistant, system or developer", it.Role)
	}
	c := &it.Content
	switch c.kind {
	case 0:
		return llm.Errorf(param("input", i, "content"), "'content' is required")
	case kindOther:
		return llm.Errorf(param("input", i, "content"), "must be a string or an array of content parts")
	case '"':
		if c.text == "" {
			return nil
		}
		p := llm.Part{Type: llm.PartText, Text: c.text}
		if system {
			d.system = append(d.system, p)
		} else {
			d.add(role, p)
		}
		return nil
	}
	for j := range c.parts {
		cp := &c.parts[j]
		at := func(field string) string {
			return param("input", i, "content") + "[" + strconv.Itoa(j) + "]" + dot(field)
		}
		var p llm.Part
		switch cp.Type {
		case "input_text", "output_text":
			p = llm.Part{Type: llm.PartText, Text: cp.Text}
		case "refusal":
			p = llm.Part{Type: llm.PartText, Text: cp.Refusal}
		case "input_image":
			if system || role == llm.RoleAssistant {
				return llm.Errorf(at("type"), "images are only supported in user messages")
			}
			var err error
			if p, err = imagePart(at, cp); err != nil {
				return err
			}
		case "input_file":
			return llm.Errorf(at("type"), "file inputs (input_file) cannot be translated for this model; send the text or images instead")
		case "input_audio":
			return llm.Errorf(at("type"), "audio inputs are not supported for this model")
		case "":
			return llm.Errorf(at("type"), "'type' is required")
		default:
			return llm.Errorf(at("type"), "unsupported content part type %q", cp.Type)
		}
		if p.Type == llm.PartText {
			if p.Text == "" {
				continue
			}
			if system {
				d.system = append(d.system, p)
				continue
			}
		}
		d.add(role, p)
	}
	return nil
}

// imagePart reads an input_image part: a data: URL (base64) or an http(s)
// URL. The detail hint is dropped; file_id needs OpenAI's file storage.
func imagePart(at func(string) string, cp *contentPart) (llm.Part, error) {
	if cp.ImageURL == "" {
		if cp.FileID != "" {
			return llm.Part{}, llm.Errorf(at("file_id"), "file_id refers to OpenAI file storage, which %s; send the image as a data: URL or an http(s) URL", openAIOnly)
		}
		return llm.Part{}, llm.Errorf(at("image_url"), "'image_url' is required")
	}
	return imageFromURL(at("image_url"), cp.ImageURL)
}

// imageFromURL turns a data:<type>;base64,<data> URL into inline data and
// keeps an http(s) URL as a URL; other schemes are rejected.
func imageFromURL(prm, u string) (llm.Part, error) {
	if len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
		meta, data, found := strings.Cut(u[5:], ",")
		if !found {
			return llm.Part{}, llm.Errorf(prm, "malformed data URL: expected data:<media type>;base64,<data>")
		}
		mediaType, params, _ := strings.Cut(meta, ";")
		base64 := false
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			if strings.EqualFold(strings.TrimSpace(p), "base64") {
				base64 = true
			}
		}
		if !base64 {
			return llm.Part{}, llm.Errorf(prm, "data URLs must be base64-encoded: expected data:<media type>;base64,<data>")
		}
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		if mediaType == "image/jpg" {
			mediaType = "image/jpeg"
		}
		if !strings.HasPrefix(mediaType, "image/") {
			return llm.Part{}, llm.Errorf(prm, "the data URL must hold an image (data:image/...;base64,...), not %q", mediaType)
		}
		if data == "" {
			return llm.Part{}, llm.Errorf(prm, "the data URL contains no image data")
		}
		return llm.Part{Type: llm.PartImage, MediaType: mediaType, Data: data}, nil
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || (!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https")) || rest == "" {
		return llm.Part{}, llm.Errorf(prm, "unsupported image URL; use an http(s) URL or a data:image/...;base64, URL")
	}
	return llm.Part{Type: llm.PartImage, URL: u}, nil
}

func (d *inputDecoder) functionCall(i int, it *inputItem) error {
	if it.CallID == "" {
		return llm.Errorf(param("input", i, "call_id"), "'call_id' is required")
	}
	if it.Name == "" {
		return llm.Errorf(param("input", i, "name"), "'name' is required")
	}
	args, err := arguments(param("input", i, "arguments"), it.Arguments)
	if err != nil {
		return err
	}
	d.add(llm.RoleAssistant, llm.Part{Type: llm.PartToolCall, ID: it.CallID, Name: it.Name, Arguments: args})
	return nil
}

// emptyObject is the arguments of a call that has none.
var emptyObject = jsontext.Value("{}")

// arguments reads a function call's arguments: a string holding a JSON
// object ("" and "null" mean none).
func arguments(prm string, s string) (jsontext.Value, error) {
	v := jsontext.Value(strings.TrimSpace(s))
	switch {
	case len(v) == 0 || string(v) == "null":
		return emptyObject, nil
	case v[0] != '{' || !v.IsValid():
		return nil, llm.Errorf(prm, "must be a JSON object")
	}
	return v, nil
}

// toolName returns the name of the latest tool call with the given ID, ""
// when there is none. Results follow their calls closely, so the search
// from the end is short.
func (d *inputDecoder) toolName(id string) string {
	for i := len(d.parts) - 1; i >= 0; i-- {
		if p := &d.parts[i]; p.Type == llm.PartToolCall && p.ID == id {
			return p.Name
		}
	}
	return ""
}

func (d *inputDecoder) functionCallOutput(i int, it *inputItem) error {
	if it.CallID == "" {
		return llm.Errorf(param("input", i, "call_id"), "'call_id' is required")
	}
	p := llm.Part{Type: llm.PartToolResult, ID: it.CallID, Name: d.toolName(it.CallID)}
	o := &it.Output
	switch o.kind {
	case 0:
		return llm.Errorf(param("input", i, "output"), "'output' is required")
	case kindOther:
		return llm.Errorf(param("input", i, "output"), "must be a string or an array of content parts")
	case '"':
		if o.text != "" {
			p.Content = []llm.Part{{Type: llm.PartText, Text: o.text}}
		}
	default:
		for j := range o.parts {
			cp := &o.parts[j]
			at := func(field string) string {
				return param("input", i, "output") + "[" + strconv.Itoa(j) + "]" + dot(field)
			}
			switch cp.Type {
			case "input_text", "output_text":
				if cp.Text != "" {
					p.Content = append(p.Content, llm.Part{Type: llm.PartText, Text: cp.Text})
				}
			case "input_image":
				img, err := imagePart(at, cp)
				if err != nil {
					return err
				}
				p.Content = append(p.Content, img)
			case "input_file":
				return llm.Errorf(at("type"), "file outputs (input_file) cannot be translated for this model; send the text or images instead")
			case "":
				return llm.Errorf(at("type"), "'type' is required")
			default:
				return llm.Errorf(at("type"), "unsupported output part type %q", cp.Type)
			}
		}
	}
	d.add(llm.RoleUser, p)
	return nil
}

// reasoning keeps a reasoning item this gateway produced (its
// encrypted_content carries the provider's signature under our prefix) and
// drops any other: OpenAI's encrypted reasoning means nothing to another
// provider, and a bare summary is not the model's reasoning.
func (d *inputDecoder) reasoning(i int, it *inputItem) error {
	if sig, ok := strings.CutPrefix(it.EncryptedContent, redactedPrefix); ok {
		d.add(llm.RoleAssistant, llm.Part{Type: llm.PartRedactedThinking, Signature: sig})
		return nil
	}
	sig, ok := strings.CutPrefix(it.EncryptedContent, thinkingPrefix)
	if !ok {
		return nil
	}
	var summary []summaryPart
	if present(it.Summary) {
		if err := json.Unmarshal(it.Summary, &summary); err != nil {
			return llm.Errorf(param("input", i, "summary"), "must be an array of summary_text parts")
		}
	}
	var text strings.Builder
	for _, s := range summary {
		text.WriteString(s.Text)
	}
	d.add(llm.RoleAssistant, llm.Part{Type: llm.PartThinking, Text: text.String(), Signature: sig})
	return nil
}

func decodeTools(tools []tool, r *llm.Request) error {
	for i := range tools {
		t := &tools[i]
		switch t.Type {
		case "function":
		case "":
			return llm.Errorf(param("tools", i, "type"), "'type' is required")
		default:
			return llm.Errorf(param("tools", i, "type"), "tool type %q %s", t.Type, openAIOnly)
		}
		if t.Name == "" {
			return llm.Errorf(param("tools", i, "name"), "'name' is required")
		}
		var params jsontext.Value
		if present(t.Parameters) {
			if t.Parameters[0] != '{' {
				return llm.Errorf(param("tools", i, "parameters"), "must be a JSON Schema object")
			}
			params = t.Parameters
		}
		r.Tools = append(r.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: params})
	}
	return nil
}

func decodeToolChoice(raw jsontext.Value, r *llm.Request) error {
	if !present(raw) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return llm.Errorf("tool_choice", "invalid string")
		}
		switch s {
		case "auto":
			r.ToolChoice.Mode = llm.ToolAuto
		case "none":
			r.ToolChoice.Mode = llm.ToolNone
		case "required":
			r.ToolChoice.Mode = llm.ToolRequired
		default:
			return llm.Errorf("tool_choice", "unsupported tool_choice %q; use auto, none, required or an object", s)
		}
		return nil
	}
	var c toolChoiceObject
	if err := json.Unmarshal(raw, &c); err != nil {
		return llm.Errorf("tool_choice", "must be a string or a tool choice object")
	}
	switch c.Type {
	case "function":
		if c.Name == "" {
			return llm.Errorf("tool_choice.name", "'name' is required")
		}
		r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: c.Name}
	case "allowed_tools":
		switch c.Mode {
		case "auto":
			r.ToolChoice.Mode = llm.ToolAuto
		case "required":
			r.ToolChoice.Mode = llm.ToolRequired
		default:
			return llm.Errorf("tool_choice.mode", "unsupported mode %q; use auto or required", c.Mode)
		}
		if len(c.Tools) == 0 {
			return llm.Errorf("tool_choice.tools", "list at least one tool")
		}
		r.ToolChoice.Allowed = make([]string, 0, len(c.Tools))
		for i, t := range c.Tools {
			if t.Type != "function" {
				return llm.Errorf(param("tool_choice.tools", i, "type"), "tool type %q %s", t.Type, openAIOnly)
			}
			if t.Name == "" {
				return llm.Errorf(param("tool_choice.tools", i, "name"), "'name' is required")
			}
			r.ToolChoice.Allowed = append(r.ToolChoice.Allowed, t.Name)
		}
	case "":
		return llm.Errorf("tool_choice.type", "'type' is required")
	default:
		return llm.Errorf("tool_choice.type", "tool choice type %q %s", c.Type, openAIOnly)
	}
	return nil
}

// present reports whether a raw field was sent with a value other than null.
func present(v jsontext.Value) bool {
	return len(v) > 0 && string(v) != "null"
}

// param renders name[i].field.
func param(name string, i int, field string) string {
	return name + "[" + strconv.Itoa(i) + "]" + dot(field)
}

func dot(field string) string {
	if field == "" {
		return ""
	}
	return "." + field
}

// jsonError turns a JSON decoding error into a client error, naming the
// offending field in the Responses notation when the decoder knows it.
func jsonError(err error) error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	var se *json.SemanticError
	if errors.As(err, &se) {
		if se.JSONPointer == "" {
			return &llm.Error{Message: "the request body must be a JSON object"}
		}
		msg := "invalid value"
		if se.Err != nil {
			msg = se.Err.Error()
		} else if k := kindName(se.JSONKind); k != "" {
			msg = "has the wrong type (got " + k + ")"
		}
		return &llm.Error{Param: pointerParam(se.JSONPointer), Message: msg}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return &llm.Error{Message: "the body is not valid JSON: " + syn.Err.Error()}
	}
	return &llm.Error{Message: "the body is not a valid request: " + err.Error()}
}

// kindName names a JSON kind for a message.
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return ""
}

// pointerParam renders a JSON pointer (/input/2/content/0) as
// input[2].content[0].
func pointerParam(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// unmarshalOpts skip the duplicate member check, which costs time and
// protects nothing here (the last value wins).
var unmarshalOpts = jsontext.AllowDuplicateNames(true)
