package caddymodule_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

// The conformance matrix: every inbound surface (OpenAI chat, Azure chat,
// OpenAI Responses, Anthropic Messages, Gemini generateContent), driven by
// the official SDK of its dialect, against every provider type (openai,
// azure, openai_compatible, anthropic, gemini), each a fake that speaks the
// provider's real wire format, for each kind of exchange: a plain answer, a
// streamed one, a tool call (whole and streamed) and an image input. Each
// cell checks the content, the tool call, the finish reason and the usage
// the client's SDK reads.

const (
	geminiKey     = "AIza-upstream-gemini-it-0123456789"
	compatKey     = "compat-upstream-it-0123456789"
	matrixReply   = "The matrix answers in several words"
	matrixInput   = 13
	matrixOutput  = 5
	matrixTool    = "get_weather"
	matrixArgs    = `{"city":"Paris"}`
	matrixPNGData = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

// answer is what a client's SDK read, in neutral terms.
type answer struct {
	text     string
	tool     string // the called tool's name
	args     string // its arguments
	finish   string // "stop" or "tool"
	in, out  int64
	rawTrace string // for failure messages
}

type variant struct {
	name          string
	stream, tools bool
	image         bool
	// toolResult: the conversation holds a tool call and its result.
	toolResult bool
}

var matrixVariants = []variant{
	{name: "plain"},
	{name: "stream", stream: true},
	{name: "tools", tools: true},
	{name: "tools_stream", tools: true, stream: true},
	{name: "image", image: true},
	{name: "tool_result", toolResult: true},
}

// matrixResult is the tool result the tool_result variant sends back.
const matrixResult = "18C and sunny"

// matrixProvider is one provider type of the matrix: its fake, the model
// clients ask for, and how its request shows an inline image.
type matrixProvider struct {
	typ       string
	model     string
	up        *fakeprovider.Server
	imageRefs []string // what the upstream body holds for the image
	resultRef string   // what the upstream body holds for a tool result (OpenAI chat: a tool message; the Responses API passed through: a function_call_output)
}

func TestConformanceMatrix(t *testing.T) {
	openaiUp := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	azureUp := fakeprovider.New(t, fakeprovider.Azure, azureKey)
	compatUp := fakeprovider.New(t, fakeprovider.OpenAI, compatKey)
	anthropicUp := fakeprovider.New(t, fakeprovider.Anthropic, anthropicKey)
	geminiUp := fakeprovider.New(t, fakeprovider.Gemini, geminiKey)
	initGateway(t, fmt.Sprintf(`	llm_gateway {
		provider openai openai {
			base_url %s
			api_key %s
		}
		provider azure azure {
			base_url %s
			api_key %s
		}
		provider compat openai_compatible {
			base_url %s
			api_key %s
		}
		provider anthropic anthropic {
			base_url %s
			api_key %s
		}
		provider gemini gemini {
			base_url %s
			api_key %s
		}
		route m-openai openai gpt-4o-mini
		route m-azure azure gpt4o-deployment
		route m-compat compat llama3.1
		route m-anthropic anthropic claude-sonnet-4-5
		route m-gemini gemini gemini-2.5-flash
	}
`, openaiUp.URL, openAIKey, azureUp.URL, azureKey, compatUp.URL, compatKey, anthropicUp.URL, anthropicKey,
		geminiUp.URL, geminiKey))
	_, tok := mintToken(t, "conformance")

	openaiImage := []string{`"data:image/png;base64,` + matrixPNGData + `"`}
	providers := []matrixProvider{
		{typ: "openai", model: "m-openai", up: openaiUp, imageRefs: openaiImage, resultRef: `"role":"tool"`},
		{typ: "azure", model: "m-azure", up: azureUp, imageRefs: openaiImage, resultRef: `"role":"tool"`},
		{typ: "openai_compatible", model: "m-compat", up: compatUp, imageRefs: openaiImage, resultRef: `"role":"tool"`},
		{typ: "anthropic", model: "m-anthropic", up: anthropicUp, resultRef: `"type":"tool_result"`,
			imageRefs: []string{`"type":"base64"`, `"media_type":"image/png"`, `"data":"` + matrixPNGData + `"`}},
		{typ: "gemini", model: "m-gemini", up: geminiUp, resultRef: `"functionResponse"`,
			imageRefs: []string{`"inlineData":{`, `"mimeType":"image/png"`, `"data":"` + matrixPNGData + `"`}},
	}
	surfaces := []struct {
		name string
		run  func(t *testing.T, model string, v variant) answer
	}{
		{"openai_chat", func(t *testing.T, model string, v variant) answer {
			c := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(tok), option.WithMaxRetries(0))
			return runChat(t, c, model, v)
		}},
		{"azure_chat", func(t *testing.T, model string, v variant) answer {
			c := openai.NewClient(azure.WithEndpoint(gatewayURL, "2024-10-21"), azure.WithAPIKey(tok),
				azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
			return runChat(t, c, model, v)
		}},
		{"openai_responses", func(t *testing.T, model string, v variant) answer {
			c := openai.NewClient(option.WithBaseURL(gatewayURL+"/v1"), option.WithAPIKey(tok), option.WithMaxRetries(0))
			return runResponses(t, c, model, v)
		}},
		{"anthropic_messages", func(t *testing.T, model string, v variant) answer {
			c := anthropic.NewClient(aoption.WithBaseURL(gatewayURL), aoption.WithAPIKey(tok), aoption.WithMaxRetries(0))
			return runMessages(t, c, model, v)
		}},
		{"gemini", func(t *testing.T, model string, v variant) answer {
			c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
				APIKey: tok, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: gatewayURL},
			})
			if err != nil {
				t.Fatal(err)
			}
			return runGemini(t, c, model, v)
		}},
	}

	t.Run("gemini_count_tokens", func(t *testing.T) {
		c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
			APIKey: tok, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: gatewayURL},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range providers {
			r, err := c.Models.CountTokens(context.Background(), p.model, genai.Text("How many tokens is this sentence?"), nil)
			if err != nil || r.TotalTokens < 3 {
				t.Fatalf("%s: %v %+v", p.model, err, r)
			}
		}
	})

	for _, s := range surfaces {
		for _, p := range providers {
			for _, v := range matrixVariants {
				t.Run(s.name+"/"+p.typ+"/"+v.name, func(t *testing.T) {
					b := fakeprovider.Behavior{Reply: matrixReply, InputTokens: matrixInput, OutputTokens: matrixOutput}
					if v.tools {
						b.ToolCall = &fakeprovider.ToolCall{Name: matrixTool, Arguments: matrixArgs}
					}
					p.up.Set(b)
					before := len(p.up.Requests())
					got := s.run(t, p.model, v)
					if n := len(p.up.Requests()) - before; n != 1 {
						t.Fatalf("the provider got %d requests, want 1", n)
					}
					checkAnswer(t, got, v)
					if v.toolResult {
						body := string(p.up.LastRequest().Body)
						ref0 := p.resultRef
						if s.name == "openai_responses" && strings.HasPrefix(p.typ, "openai") || s.name == "openai_responses" && p.typ == "azure" {
							ref0 = `"type":"function_call_output"`
						}
						for _, ref := range []string{ref0, matrixResult, `"` + matrixTool + `"`} {
							if !strings.Contains(body, ref) {
								t.Errorf("the provider's request does not hold the tool result (%s):\n%.900s", ref, body)
							}
						}
					}
					if v.image {
						body := string(p.up.LastRequest().Body)
						for _, ref := range p.imageRefs {
							if !strings.Contains(body, ref) {
								t.Errorf("the provider's request does not hold the image (%s):\n%.600s", ref, body)
							}
						}
					}
				})
			}
		}
	}
}

func checkAnswer(t *testing.T, got answer, v variant) {
	t.Helper()
	if v.tools {
		if got.tool != matrixTool || !jsonEq(got.args, matrixArgs) || got.finish != "tool" {
			t.Errorf("tool call: got %q(%s) finish %q, want %s(%s) finish tool\n%s", got.tool, got.args, got.finish, matrixTool, matrixArgs, got.rawTrace)
		}
	} else if got.text != matrixReply || got.finish != "stop" || got.tool != "" {
		t.Errorf("answer: got %q finish %q tool %q, want %q finish stop\n%s", got.text, got.finish, got.tool, matrixReply, got.rawTrace)
	}
	if got.in != matrixInput || got.out != matrixOutput {
		t.Errorf("usage: got %d in / %d out, want %d / %d\n%s", got.in, got.out, matrixInput, matrixOutput, got.rawTrace)
	}
}

var weatherSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required":   []string{"city"},
}

func runChat(t *testing.T, c openai.Client, model string, v variant) answer {
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
	}
	if v.tools {
		params.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: matrixTool, Parameters: openai.FunctionParameters(weatherSchema),
		})}
	}
	if v.image {
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("What is in this image?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + matrixPNGData}),
		})}
	}
	if v.toolResult {
		params.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: matrixTool, Parameters: openai.FunctionParameters(weatherSchema),
		})}
		params.Messages = append(params.Messages,
			openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: matrixTool, Arguments: matrixArgs},
				}}},
			}},
			openai.ToolMessage(matrixResult, "call_1"))
	}
	var cc openai.ChatCompletion
	if v.stream {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := c.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		var trace strings.Builder
		for stream.Next() {
			acc.AddChunk(stream.Current())
			trace.WriteString(stream.Current().RawJSON() + "\n")
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v\n%s", err, trace.String())
		}
		cc = acc.ChatCompletion
	} else {
		resp, err := c.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		cc = *resp
	}
	if len(cc.Choices) != 1 {
		t.Fatalf("%d choices: %s", len(cc.Choices), cc.RawJSON())
	}
	ch := cc.Choices[0]
	a := answer{text: ch.Message.Content, in: cc.Usage.PromptTokens, out: cc.Usage.CompletionTokens, rawTrace: cc.RawJSON()}
	switch ch.FinishReason {
	case "stop":
		a.finish = "stop"
	case "tool_calls":
		a.finish = "tool"
	default:
		a.finish = ch.FinishReason
	}
	if len(ch.Message.ToolCalls) > 0 {
		a.tool, a.args = ch.Message.ToolCalls[0].Function.Name, ch.Message.ToolCalls[0].Function.Arguments
	}
	return a
}

func runResponses(t *testing.T, c openai.Client, model string, v variant) answer {
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model: model,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the weather in Paris?")},
	}
	if v.tools {
		params.Tools = []responses.ToolUnionParam{responses.ToolParamOfFunction(matrixTool, weatherSchema, false)}
	}
	if v.image {
		params.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
				responses.ResponseInputContentParamOfInputText("What is in this image?"),
				{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String("data:image/png;base64," + matrixPNGData), Detail: responses.ResponseInputImageDetailAuto}},
			}, responses.EasyInputMessageRoleUser),
		}}
	}
	if v.toolResult {
		params.Tools = []responses.ToolUnionParam{responses.ToolParamOfFunction(matrixTool, weatherSchema, false)}
		out := responses.ResponseInputItemParamOfFunctionCallOutput(matrixResult)
		out.OfFunctionCallOutput.CallID = openai.String("call_1")
		params.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("What is the weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(matrixArgs, "call_1", matrixTool),
			out,
		}}
	}
	var r responses.Response
	if v.stream {
		stream := c.Responses.NewStreaming(ctx, params)
		var trace strings.Builder
		var text strings.Builder
		completed := false
		for stream.Next() {
			ev := stream.Current()
			trace.WriteString(ev.RawJSON() + "\n")
			switch ev.Type {
			case "response.output_text.delta":
				text.WriteString(ev.Delta)
			case "response.completed":
				r, completed = ev.Response, true
			}
		}
		if err := stream.Err(); err != nil || !completed {
			t.Fatalf("stream: %v (completed %v)\n%s", err, completed, trace.String())
		}
		if text.String() != r.OutputText() {
			t.Errorf("the deltas say %q, the completed response %q", text.String(), r.OutputText())
		}
	} else {
		resp, err := c.Responses.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		r = *resp
	}
	a := answer{text: r.OutputText(), in: r.Usage.InputTokens, out: r.Usage.OutputTokens, rawTrace: r.RawJSON(), finish: string(r.Status)}
	for _, item := range r.Output {
		if item.Type == "function_call" {
			a.tool, a.args = item.Name, item.Arguments.OfString
		}
	}
	if r.Status == "completed" {
		a.finish = "stop"
		if a.tool != "" {
			a.finish = "tool"
		}
	}
	return a
}

func runMessages(t *testing.T, c anthropic.Client, model string, v variant) answer {
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Paris?"))},
	}
	if v.tools {
		params.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        matrixTool,
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city"}},
		}}}
	}
	if v.image {
		params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewTextBlock("What is in this image?"), anthropic.NewImageBlockBase64("image/png", matrixPNGData))}
	}
	if v.toolResult {
		params.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        matrixTool,
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city"}},
		}}}
		params.Messages = append(params.Messages,
			anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris"}, matrixTool)),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", matrixResult, false)))
	}
	var m anthropic.Message
	if v.stream {
		stream := c.Messages.NewStreaming(ctx, params)
		var trace strings.Builder
		for stream.Next() {
			ev := stream.Current()
			trace.WriteString(ev.RawJSON() + "\n")
			if err := m.Accumulate(ev); err != nil {
				t.Fatalf("accumulate: %v\n%s", err, trace.String())
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v\n%s", err, trace.String())
		}
	} else {
		resp, err := c.Messages.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		m = *resp
	}
	a := answer{in: m.Usage.InputTokens + m.Usage.CacheReadInputTokens + m.Usage.CacheCreationInputTokens,
		out: m.Usage.OutputTokens, rawTrace: m.RawJSON()}
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			a.text += b.Text
		case "tool_use":
			a.tool, a.args = b.Name, string(b.Input)
		}
	}
	switch m.StopReason {
	case "end_turn":
		a.finish = "stop"
	case "tool_use":
		a.finish = "tool"
	default:
		a.finish = string(m.StopReason)
	}
	return a
}

func runGemini(t *testing.T, c *genai.Client, model string, v variant) answer {
	ctx := context.Background()
	contents := genai.Text("What is the weather in Paris?")
	cfg := &genai.GenerateContentConfig{}
	if v.tools {
		cfg.Tools = []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: matrixTool,
			Parameters: &genai.Schema{Type: genai.TypeObject, Required: []string{"city"},
				Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}},
		}}}}
	}
	if v.image {
		png, _ := base64.StdEncoding.DecodeString(matrixPNGData)
		contents = []*genai.Content{genai.NewContentFromParts([]*genai.Part{
			genai.NewPartFromText("What is in this image?"), genai.NewPartFromBytes(png, "image/png"),
		}, genai.RoleUser)}
	}
	if v.toolResult {
		cfg.Tools = []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: matrixTool,
			Parameters: &genai.Schema{Type: genai.TypeObject, Required: []string{"city"},
				Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}},
		}}}}
		contents = append(contents,
			genai.NewContentFromParts([]*genai.Part{genai.NewPartFromFunctionCall(matrixTool, map[string]any{"city": "Paris"})}, genai.RoleModel),
			genai.NewContentFromParts([]*genai.Part{genai.NewPartFromFunctionResponse(matrixTool, map[string]any{"output": matrixResult})}, genai.RoleUser))
	}
	var a answer
	var trace strings.Builder
	read := func(r *genai.GenerateContentResponse) {
		raw, _ := json.Marshal(r)
		trace.Write(append(raw, '\n'))
		if len(r.Candidates) > 0 && r.Candidates[0].Content != nil {
			for _, p := range r.Candidates[0].Content.Parts {
				if p.Text != "" && !p.Thought {
					a.text += p.Text
				}
				if p.FunctionCall != nil {
					args, _ := json.Marshal(p.FunctionCall.Args)
					a.tool, a.args = p.FunctionCall.Name, string(args)
				}
			}
		}
		if len(r.Candidates) > 0 && r.Candidates[0].FinishReason != "" {
			a.finish = string(r.Candidates[0].FinishReason)
		}
		if u := r.UsageMetadata; u != nil {
			a.in, a.out = int64(u.PromptTokenCount), int64(u.CandidatesTokenCount)+int64(u.ThoughtsTokenCount)
		}
	}
	if v.stream {
		for r, err := range c.Models.GenerateContentStream(ctx, model, contents, cfg) {
			if err != nil {
				t.Fatalf("stream: %v\n%s", err, trace.String())
			}
			read(r)
		}
	} else {
		r, err := c.Models.GenerateContent(ctx, model, contents, cfg)
		if err != nil {
			t.Fatal(err)
		}
		read(r)
	}
	a.rawTrace = trace.String()
	if a.finish == "STOP" {
		a.finish = "stop"
		if a.tool != "" {
			a.finish = "tool"
		}
	}
	return a
}
