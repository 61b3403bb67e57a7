package translate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// BenchmarkTranslate measures what translation adds to one exchange: a
// ~4 KB request decoded from the client's format and encoded in the
// provider's, and a ~3.6 KB answer decoded from the provider's format and
// encoded in the client's. (BenchmarkHandler in package gateway measures
// the whole handler path against same-format passthrough.)
func BenchmarkTranslate(b *testing.B) {
	content := strings.Repeat("lorem ipsum dolor sit amet ", 140) // ~3.8 KB
	conv := &llm.Request{
		System:   []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: content}}}},
	}
	ans := &llm.Response{ID: "r1", Model: "m", Finish: llm.FinishStop,
		Parts: []llm.Part{{Type: llm.PartText, Text: strings.Repeat("token ", 600)}}, Usage: llm.Usage{Input: 9, Output: 600}}
	for _, from := range clientFormats {
		for _, to := range providerFormats {
			if from == to || from == Responses && to == Chat {
				continue // passed through, not translated
			}
			src := from
			if from == Responses {
				src = Chat // encode the fixture in a format with an encoder…
			}
			reqBody, err := codecs[src].encodeRequest(conv, llm.EncodeOptions{Model: "m", DefaultMaxTokens: 1024})
			if err != nil {
				b.Fatal(err)
			}
			if from == Responses { // …and write a Responses request by hand
				reqBody = []byte(`{"model":"m","instructions":"Be brief.","input":[{"role":"user","content":"` + content + `"}]}`)
			}
			respBody, err := codecs[to].encodeResponse(ans, llm.ResponseOptions{Created: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s_to_%s", from, to), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(reqBody) + len(respBody)))
				for b.Loop() {
					r, err := DecodeRequest(from, reqBody)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := EncodeRequest(to, r, llm.EncodeOptions{Model: "m", DefaultMaxTokens: 1024}); err != nil {
						b.Fatal(err)
					}
					if _, err := Response(to, from, respBody, llm.ResponseOptions{Created: 1}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
