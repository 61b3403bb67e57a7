package gemini

import (
	"testing"

	"github.com/go-json-experiment/json"
)

// plainContent is content without its MarshalJSONTo: marshaled by its
// struct tags, the reference the hand-written encoder must match.
type plainContent content

func TestContentEncoderMatchesTags(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []content{
		{Parts: []part{{Text: s("hi \"there\"\n<tag> ünï \x01")}}, Role: "user"},
		{Parts: []part{{Text: s(""), Thought: true, ThoughtSignature: "c2ln"}}},
		{Parts: []part{{InlineData: &blob{MimeType: "image/png", Data: "iVBORw0KGgo="}},
			{FileData: &fileData{FileURI: "https://example.com/a.png"}},
			{FileData: &fileData{MimeType: "image/jpeg", FileURI: "gs://b/c.jpg"}}}, Role: "user"},
		{Parts: []part{{FunctionCall: &functionCall{Name: "get_weather", Args: []byte(`{"city":"Paris"}`)}, ThoughtSignature: "c2ln"},
			{FunctionCall: &functionCall{ID: "call_1", Name: "noargs"}}}, Role: "model"},
		{Parts: []part{{FunctionResponse: &functionResponse{ID: "call_1", Name: "get_weather", Response: []byte(`{"output":"18C"}`),
			Parts: []functionResponsePart{{InlineData: &blob{MimeType: "image/png", Data: "AA=="}}, {FileData: &fileData{FileURI: "u"}}}}}}, Role: "user"},
		{Parts: []part{}},
	}
	for i, c := range cases {
		want, err := json.Marshal((*plainContent)(&c))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("case %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
	bad := content{Parts: []part{{FunctionCall: &functionCall{Name: "f", Args: []byte(`{"a":`)}}}}
	if _, err := json.Marshal(&bad); err == nil {
		t.Error("invalid arguments were written")
	}
}
