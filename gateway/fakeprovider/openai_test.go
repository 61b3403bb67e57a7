package fakeprovider_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/fakeprovider"
)

const openAIKey = "sk-test-0123456789abcdef"

func openAIClient(srv *fakeprovider.Server, key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(srv.URL),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
	)
}

func chatParams(tools bool) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
	if tools {
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather",
			Parameters: shared.FunctionParameters{
				"type":       "object",
				"properties": map[string]any{"city": map[string]any{"type": "string"}},
			},
		})}
	}
	return p
}

var weatherCall = &fakeprovider.ToolCall{ID: "call_weather_1", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}

func TestOpenAIChatCompletion(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	ctx := context.Background()

	resp, err := client.Chat.Completions.New(ctx, chatParams(false))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != fakeprovider.DefaultReply {
		t.Errorf("content = %q", got)
	}
	if resp.Choices[0].FinishReason != "stop" || resp.Model != "gpt-4o-mini" || resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("unexpected completion %+v", resp)
	}
	if u := resp.Usage; u.PromptTokens != 11 || u.CompletionTokens != 7 || u.TotalTokens != 18 || u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("usage = %+v", u)
	}

	req := srv.LastRequest()
	if req.Method != http.MethodPost || req.Path != "/v1/chat/completions" || req.RawPath != "/v1/chat/completions" {
		t.Errorf("request = %s %s", req.Method, req.Path)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+openAIKey {
		t.Errorf("Authorization = %q", got)
	}
	var body struct{ Model string }
	if err := req.Decode(&body); err != nil || body.Model != "gpt-4o-mini" {
		t.Errorf("body model = %q, %v", body.Model, err)
	}

	srv.Set(fakeprovider.Behavior{Reply: "Custom answer", InputTokens: 100, OutputTokens: 20, CachedTokens: 64, ToolCall: weatherCall})
	resp, err = client.Chat.Completions.New(ctx, chatParams(false)) // no tools: text
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Custom answer" {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}
	if u := resp.Usage; u.PromptTokens != 100 || u.CompletionTokens != 20 || u.TotalTokens != 120 || u.PromptTokensDetails.CachedTokens != 64 {
		t.Errorf("usage = %+v", u)
	}

	resp, err = client.Chat.Completions.New(ctx, chatParams(true))
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.Content != "" {
		t.Fatalf("choice = %+v", c)
	}
	tc := c.Message.ToolCalls[0]
	if tc.ID != "call_weather_1" || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Function.Arguments != weatherCall.Arguments {
		t.Errorf("tool call = %+v", tc)
	}
	if len(srv.Requests()) != 3 {
		t.Errorf("requests = %d", len(srv.Requests()))
	}
	srv.Reset()
	if len(srv.Requests()) != 0 {
		t.Error("Reset kept requests")
	}
}

func TestOpenAIChatStream(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	ctx := context.Background()

	for _, includeUsage := range []bool{true, false} {
		p := chatParams(false)
		if includeUsage {
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		}
		stream := client.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		var chunks []openai.ChatCompletionChunk
		for stream.Next() {
			chunk := stream.Current()
			if !acc.AddChunk(chunk) {
				t.Fatalf("accumulator rejected chunk %s", chunk.RawJSON())
			}
			chunks = append(chunks, chunk)
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != fakeprovider.DefaultReply {
			t.Errorf("content = %q", got)
		}
		if acc.Choices[0].FinishReason != "stop" {
			t.Errorf("finish_reason = %q", acc.Choices[0].FinishReason)
		}
		// role chunk + one per word + finish chunk (+ usage chunk).
		want := 2 + len(strings.Fields(fakeprovider.DefaultReply))
		if includeUsage {
			want++
		}
		if len(chunks) != want {
			t.Errorf("include_usage=%v: %d chunks, want %d", includeUsage, len(chunks), want)
		}
		last := chunks[len(chunks)-1]
		if includeUsage {
			if len(last.Choices) != 0 || last.Usage.PromptTokens != 11 || last.Usage.CompletionTokens != 7 || last.Usage.TotalTokens != 18 {
				t.Errorf("usage chunk = %s", last.RawJSON())
			}
			if acc.Usage.TotalTokens != 18 {
				t.Errorf("accumulated usage = %+v", acc.Usage)
			}
			for _, c := range chunks[:len(chunks)-1] {
				if !c.JSON.Usage.Valid() && c.JSON.Usage.Raw() != "null" {
					t.Errorf("chunk without usage: null: %s", c.RawJSON())
				}
			}
		} else {
			for _, c := range chunks {
				if strings.Contains(c.RawJSON(), `"usage"`) {
					t.Errorf("usage sent without include_usage: %s", c.RawJSON())
				}
			}
		}
	}

	srv.Set(fakeprovider.Behavior{ToolCall: weatherCall})
	stream := client.Chat.Completions.NewStreaming(ctx, chatParams(true))
	var acc openai.ChatCompletionAccumulator
	var finished []openai.FinishedChatCompletionToolCall
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator rejected chunk %s", stream.Current().RawJSON())
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("accumulated = %+v", acc.Choices[0])
	}
	tc := acc.Choices[0].Message.ToolCalls[0]
	if tc.ID != "call_weather_1" || tc.Function.Name != "get_weather" || tc.Function.Arguments != weatherCall.Arguments {
		t.Errorf("tool call = %+v", tc)
	}
	if len(finished) != 1 || finished[0].Arguments != weatherCall.Arguments {
		t.Errorf("finished tool calls = %+v", finished)
	}
}

func TestOpenAIResponses(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model:        "gpt-4o",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
		Instructions: openai.String("Be brief."),
	}

	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != fakeprovider.DefaultReply || resp.Status != "completed" || resp.Model != "gpt-4o" || !strings.HasPrefix(resp.ID, "resp_") {
		t.Errorf("response = %s", resp.RawJSON())
	}
	if resp.Instructions.OfString != "Be brief." {
		t.Errorf("instructions = %s", resp.Instructions.RawJSON())
	}
	if u := resp.Usage; u.InputTokens != 11 || u.OutputTokens != 7 || u.TotalTokens != 18 {
		t.Errorf("usage = %+v", u)
	}

	// Streaming: the documented event sequence, each with a sequence_number.
	srv.Set(fakeprovider.Behavior{Reply: "One two three", CachedTokens: 5})
	stream := client.Responses.NewStreaming(ctx, params)
	var types []string
	var text strings.Builder
	var completed responses.Response
	for i := 0; stream.Next(); i++ {
		ev := stream.Current()
		if ev.SequenceNumber != int64(i) {
			t.Errorf("event %d has sequence_number %d", i, ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			completed = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
	}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v", types)
	}
	if text.String() != "One two three" || completed.OutputText() != "One two three" {
		t.Errorf("text = %q, completed = %q", text.String(), completed.OutputText())
	}
	if u := completed.Usage; u.InputTokens != 11 || u.OutputTokens != 7 || u.InputTokensDetails.CachedTokens != 5 {
		t.Errorf("usage = %+v", u)
	}

	// A function call, streamed and not.
	srv.Set(fakeprovider.Behavior{ToolCall: weatherCall})
	params.Tools = []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object"}, false)}
	resp, err = client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 1 {
		t.Fatalf("output = %s", resp.RawJSON())
	}
	fc := resp.Output[0].AsFunctionCall()
	if fc.Type != "function_call" || fc.CallID != "call_weather_1" || fc.Name != "get_weather" || fc.Arguments != weatherCall.Arguments {
		t.Errorf("function call = %s", resp.Output[0].RawJSON())
	}
	stream = client.Responses.NewStreaming(ctx, params)
	types = nil
	var args strings.Builder
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "response.function_call_arguments.delta" {
			args.WriteString(ev.Delta)
		}
		if ev.Type == "response.completed" {
			completed = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if args.String() != weatherCall.Arguments || completed.Output[0].AsFunctionCall().Arguments != weatherCall.Arguments {
		t.Errorf("streamed arguments = %q", args.String())
	}
	if types[len(types)-1] != "response.completed" || !contains(types, "response.function_call_arguments.done") {
		t.Errorf("events = %v", types)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestOpenAIEmbeddings(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	ctx := context.Background()
	params := openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
	}
	floats, err := client.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(floats.Data) != 2 || floats.Model != "text-embedding-3-small" || floats.Usage.PromptTokens != 11 || floats.Usage.TotalTokens != 11 {
		t.Fatalf("embeddings = %s", floats.RawJSON())
	}
	want := fakeprovider.EmbeddingVector(json.RawMessage(`"second"`), fakeprovider.DefaultEmbeddingDimensions)
	for i, f := range floats.Data[1].Embedding {
		if float32(f) != want[i] {
			t.Fatalf("embedding[1] = %v, want %v", floats.Data[1].Embedding, want)
		}
	}

	params.EncodingFormat = openai.EmbeddingNewParamsEncodingFormatBase64
	params.Dimensions = openai.Int(4)
	b64, err := client.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b64.RawJSON(), `"embedding":"`) {
		t.Errorf("not base64: %s", b64.RawJSON())
	}
	want = fakeprovider.EmbeddingVector(json.RawMessage(`"first"`), 4)
	if len(b64.Data[0].Embedding) != 4 {
		t.Fatalf("decoded = %v", b64.Data[0].Embedding)
	}
	for i, f := range b64.Data[0].Embedding {
		if float32(f) != want[i] {
			t.Fatalf("decoded = %v, want %v", b64.Data[0].Embedding, want)
		}
	}

	single, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one")},
	})
	if err != nil || len(single.Data) != 1 {
		t.Fatalf("single input: %v %v", single, err)
	}
}

func TestOpenAIModels(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 3 || page.Data[0].ID != "gpt-4o" || page.Data[0].Object != "model" {
		t.Errorf("models = %s", page.RawJSON())
	}
	srv.Set(fakeprovider.Behavior{Models: []string{"only-model"}})
	m, err := client.Models.Get(context.Background(), "only-model")
	if err != nil || m.ID != "only-model" {
		t.Errorf("get = %v, %v", m, err)
	}
	_, err = client.Models.Get(context.Background(), "gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Errorf("missing model error = %v", err)
	}
}

func TestOpenAIErrors(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	ctx := context.Background()

	wrong := openAIClient(srv, "sk-wrong-key-1234")
	_, err := wrong.Chat.Completions.New(ctx, chatParams(false))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("wrong key: %v", err)
	}
	if apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" || apiErr.Type != "invalid_request_error" {
		t.Errorf("wrong key error = %d %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Type)
	}
	if strings.Contains(apiErr.Message, "sk-wrong-key-1234") || !strings.Contains(apiErr.Message, "Incorrect API key provided") {
		t.Errorf("message = %q", apiErr.Message)
	}

	client := openAIClient(srv, openAIKey)
	srv.Set(fakeprovider.Behavior{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"7"}}})
	_, err = client.Chat.Completions.New(ctx, chatParams(false))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("429: %v", err)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q", got)
	}

	srv.Set(fakeprovider.Behavior{Status: http.StatusInternalServerError, ErrorBody: `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`})
	_, err = client.Chat.Completions.New(ctx, chatParams(false))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Message != "boom" {
		t.Errorf("500: %v", err)
	}

	// The SDK retries 429 as documented; every attempt reaches the server.
	srv.Reset()
	srv.Set(fakeprovider.Behavior{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After-Ms": {"1"}}})
	retrying := openai.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey(openAIKey), option.WithMaxRetries(2))
	if _, err := retrying.Chat.Completions.New(ctx, chatParams(false)); err == nil {
		t.Error("429 succeeded")
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestOpenAIValidation(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	cases := []struct {
		path, body string
		status     int
		wantInMsg  string
	}{
		{"/chat/completions", `not json`, 400, "could not parse the JSON body"},
		{"/chat/completions", `{"messages":[]}`, 400, "you must provide a model parameter"},
		{"/chat/completions", `{"model":"gpt-4o"}`, 400, "Missing required parameter: 'messages'"},
		{"/responses", `{"input":"hi"}`, 400, "you must provide a model parameter"},
		{"/embeddings", `{"model":"m"}`, 400, "Missing required parameter: 'input'"},
		{"/nope", `{}`, 404, "Invalid URL (POST /v1/nope)"},
	}
	for _, c := range cases {
		status, body, hdr := post(t, srv.URL+c.path, c.body, http.Header{"Authorization": {"Bearer " + openAIKey}})
		if status != c.status || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: status %d, content-type %q", c.path, c.body, status, hdr.Get("Content-Type"))
		}
		var e struct {
			Error struct {
				Message string
				Type    string
				Param   *string
				Code    *string
			}
		}
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error.Message, c.wantInMsg) || e.Error.Type != "invalid_request_error" {
			t.Errorf("%s %s: body %s", c.path, c.body, body)
		}
		if !strings.Contains(string(body), `"param":`) || !strings.Contains(string(body), `"code":`) {
			t.Errorf("error lacks param/code: %s", body)
		}
	}
	status, body, _ := post(t, srv.URL+"/chat/completions", `{}`, nil)
	if status != 401 || !strings.Contains(string(body), "You didn't provide an API key") {
		t.Errorf("no key: %d %s", status, body)
	}
}

func TestOpenAIStreamWire(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	auth := http.Header{"Authorization": {"Bearer " + openAIKey}}

	status, body, hdr := post(t, srv.URL+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`, auth)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") || hdr.Get("Cache-Control") != "no-cache" || hdr.Get("X-Request-Id") == "" {
		t.Fatalf("status %d headers %v", status, hdr)
	}
	events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	for _, e := range events {
		if !strings.HasPrefix(e, "data: ") || strings.Contains(e, "\n") {
			t.Errorf("bad event framing %q", e)
		}
	}
	if events[len(events)-1] != "data: [DONE]" {
		t.Errorf("last event %q", events[len(events)-1])
	}
	usage := events[len(events)-2]
	if !strings.Contains(usage, `"choices":[]`) || !strings.Contains(usage, `"prompt_tokens":11`) {
		t.Errorf("usage chunk %q", usage)
	}
	for _, e := range events[:len(events)-2] {
		if !strings.Contains(e, `"usage":null`) {
			t.Errorf("chunk without usage null: %q", e)
		}
	}

	if !strings.Contains(events[1], `"obfuscation":"`) {
		t.Errorf("no obfuscation by default: %q", events[1])
	}
	_, body, _ = post(t, srv.URL+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_obfuscation":false}}`, auth)
	if strings.Contains(string(body), "obfuscation") || strings.Contains(string(body), `"usage"`) {
		t.Errorf("include_obfuscation false: %s", body)
	}

	status, body, _ = post(t, srv.URL+"/responses", `{"model":"m","input":"x","stream":true}`, auth)
	if status != 200 {
		t.Fatal(status)
	}
	for i, e := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(e, "\n")
		var ev struct {
			Type           string `json:"type"`
			SequenceNumber *int   `json:"sequence_number"`
		}
		if !ok || !strings.HasPrefix(data, "data: ") || json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &ev) != nil {
			t.Fatalf("bad event %q", e)
		}
		if name != "event: "+ev.Type || ev.SequenceNumber == nil || *ev.SequenceNumber != i {
			t.Errorf("event %d: %q", i, e)
		}
	}
	if strings.Contains(string(body), "[DONE]") {
		t.Error("Responses stream sent [DONE]")
	}
}

func TestOpenAIStreamCut(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	srv.Set(fakeprovider.Behavior{CutAfter: 3})

	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams(false))
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil {
		t.Error("cut stream reported no error")
	}
	if n != 3 {
		t.Errorf("got %d chunks before the cut, want 3", n)
	}

	rstream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")},
	})
	for rstream.Next() {
		if rstream.Current().Type == "response.completed" {
			t.Error("cut stream completed")
		}
	}
	if rstream.Err() == nil {
		t.Error("cut Responses stream reported no error")
	}
	if srv.Canceled() != 0 {
		t.Errorf("Canceled = %d after cuts", srv.Canceled())
	}
}

func TestCanceledMidStream(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	srv.Set(fakeprovider.Behavior{ChunkDelay: 50 * time.Millisecond, Reply: strings.Repeat("word ", 50)})

	ctx, cancel := context.WithCancel(context.Background())
	stream := client.Chat.Completions.NewStreaming(ctx, chatParams(false))
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	if srv.Open() != 1 {
		t.Errorf("Open = %d mid-stream", srv.Open())
	}
	cancel()
	for stream.Next() {
	}
	if !srv.WaitCanceled(1, 5*time.Second) {
		t.Fatalf("Canceled = %d after client cancel", srv.Canceled())
	}
	if !srv.WaitIdle(5 * time.Second) {
		t.Errorf("Open = %d after cancel", srv.Open())
	}

	// Hang: the request is only answered by the client giving up.
	srv.Set(fakeprovider.Behavior{Hang: true})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := client.Chat.Completions.New(ctx, chatParams(false)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	if !srv.WaitCanceled(2, 5*time.Second) {
		t.Errorf("Canceled = %d after hang", srv.Canceled())
	}

	// FirstByteDelay delays the answer.
	srv.Set(fakeprovider.Behavior{FirstByteDelay: 150 * time.Millisecond})
	start := time.Now()
	if _, err := client.Chat.Completions.New(context.Background(), chatParams(false)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v", d)
	}
	// A full stream read to the end is not canceled.
	srv.Set(fakeprovider.Behavior{})
	stream = client.Chat.Completions.NewStreaming(context.Background(), chatParams(false))
	for stream.Next() {
	}
	if stream.Err() != nil || !srv.WaitIdle(5*time.Second) || srv.Canceled() != 2 {
		t.Errorf("complete stream: err %v, Canceled %d", stream.Err(), srv.Canceled())
	}
}

func TestCloseWithHangingRequest(t *testing.T) {
	done := make(chan error, 1)
	start := time.Now()
	t.Run("hang", func(t *testing.T) {
		srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
		srv.Set(fakeprovider.Behavior{Hang: true})
		go func() {
			client := openAIClient(srv, openAIKey)
			_, err := client.Chat.Completions.New(context.Background(), chatParams(false))
			done <- err
		}()
		for srv.Open() == 0 {
			time.Sleep(time.Millisecond)
		}
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closing the server took %v", d)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("hanging request succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Error("hanging request still running after close")
	}
}

// TestOpenAIStreamErrorChunk: ErrorAfter ends a chat stream with an error
// chunk, which the SDK reports as the stream's error.
func TestOpenAIStreamErrorChunk(t *testing.T) {
	srv := fakeprovider.New(t, fakeprovider.OpenAI, openAIKey)
	client := openAIClient(srv, openAIKey)
	srv.Set(fakeprovider.Behavior{ErrorAfter: 2})
	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams(true))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "server had an error") {
		t.Errorf("stream error %v, want the server_error chunk", err)
	}
	if n != 2 {
		t.Errorf("%d chunks before the error, want 2", n)
	}
}
