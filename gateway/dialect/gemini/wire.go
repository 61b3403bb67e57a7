package gemini

import (
	"github.com/go-json-experiment/json/jsontext"
)

// The wire types of the Gemini API (generativelanguage.googleapis.com
// v1beta), with the REST API's lowerCamelCase names. Fields with a
// multi-word name carry `case:ignore`, so that decoding also accepts the
// snake_case spelling the REST documentation's curl examples use
// ("system_instruction", "function_declarations", "inline_data"…); encoding
// always writes camelCase. The same types serve decoding and encoding. (A
// single object given for a list of contents or parts is handled in
// lenient.go.)

// lenient lets JSON objects repeat a name. It is used to write (the
// codec's own output, where only raw values passed through could repeat a
// name) and to read what the upstream API sends, where the check costs a
// third of the decoding time. A client's request is read strictly: a body
// with a repeated name is rejected, so that no other reader of it (a
// policy…) can understand it differently.
var lenient = jsontext.AllowDuplicateNames(true)

// generateRequest is a GenerateContentRequest body.
type generateRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitzero,case:ignore"`
	Tools             []tool            `json:"tools,omitzero"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitzero,case:ignore"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitzero,case:ignore"`
	// CachedContent names a server-side cache holding part of the prompt:
	// only read, to reject it.
	CachedContent string `json:"cachedContent,omitzero,case:ignore"`
}

// content is a Content: one turn of the conversation.
type content struct {
	Parts []part `json:"parts"`
	Role  string `json:"role,omitzero"`
}

// part is a Part. Text is a pointer so that an empty text can be written
// ("text":"") where a part needs a data field but has no text.
type part struct {
	Text             *string           `json:"text,omitzero"`
	Thought          bool              `json:"thought,omitzero"`
	InlineData       *blob             `json:"inlineData,omitzero,case:ignore"`
	FileData         *fileData         `json:"fileData,omitzero,case:ignore"`
	FunctionCall     *functionCall     `json:"functionCall,omitzero,case:ignore"`
	FunctionResponse *functionResponse `json:"functionResponse,omitzero,case:ignore"`
	ThoughtSignature string            `json:"thoughtSignature,omitzero,case:ignore"`

	// Parts the codec cannot translate: only noticed, to reject them.
	ExecutableCode      present `json:"executableCode,omitzero,case:ignore"`
	CodeExecutionResult present `json:"codeExecutionResult,omitzero,case:ignore"`
}

// present notes that a member was there, skipping its value. It is never
// written (the zero value is omitted).
type present bool

// UnmarshalJSONFrom skips the value.
func (p *present) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*p = true
	return dec.SkipValue()
}

// blob is inline data: base64 bytes and their media type.
type blob struct {
	MimeType string `json:"mimeType,case:ignore"`
	Data     string `json:"data"`
}

// fileData is data referenced by URI.
type fileData struct {
	MimeType string `json:"mimeType,omitzero,case:ignore"`
	FileURI  string `json:"fileUri,case:ignore"`
}

// functionCall is a FunctionCall the model made.
type functionCall struct {
	ID   string         `json:"id,omitzero"`
	Name string         `json:"name"`
	Args jsontext.Value `json:"args,omitzero"`
}

// functionResponse is a FunctionResponse: a tool's result.
type functionResponse struct {
	ID       string                 `json:"id,omitzero"`
	Name     string                 `json:"name"`
	Response jsontext.Value         `json:"response,omitzero"`
	Parts    []functionResponsePart `json:"parts,omitzero"`
}

// functionResponsePart is media in a (multimodal) function response.
type functionResponsePart struct {
	InlineData *blob     `json:"inlineData,omitzero,case:ignore"`
	FileData   *fileData `json:"fileData,omitzero,case:ignore"`
}

// tool is a Tool. Only function declarations translate; any other member
// (googleSearch, codeExecution, urlContext…) lands in Other and is
// rejected.
type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations,omitzero,case:ignore"`
	Other                jsontext.Value        `json:",embed"`
}

// functionDeclaration declares a function the model may call.
type functionDeclaration struct {
	Name        string `json:"name"`
	Description string `json:"description,omitzero"`
	// Parameters is the OpenAPI-subset Schema; ParametersJSONSchema a
	// full JSON Schema (the two are mutually exclusive).
	Parameters           jsontext.Value `json:"parameters,omitzero"`
	ParametersJSONSchema jsontext.Value `json:"parametersJsonSchema,omitzero,case:ignore"`
}

// toolConfig is a ToolConfig.
type toolConfig struct {
	FunctionCallingConfig *functionCallingConfig `json:"functionCallingConfig,omitzero,case:ignore"`
}

// functionCallingConfig is a FunctionCallingConfig.
type functionCallingConfig struct {
	Mode                 string   `json:"mode,omitzero"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitzero,case:ignore"`
}

// generationConfig is a GenerationConfig.
type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitzero"`
	TopP               *float64        `json:"topP,omitzero,case:ignore"`
	TopK               *float64        `json:"topK,omitzero,case:ignore"`
	CandidateCount     int64           `json:"candidateCount,omitzero,case:ignore"`
	MaxOutputTokens    int64           `json:"maxOutputTokens,omitzero,case:ignore"`
	StopSequences      []string        `json:"stopSequences,omitzero,case:ignore"`
	PresencePenalty    *float64        `json:"presencePenalty,omitzero,case:ignore"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitzero,case:ignore"`
	Seed               *int64          `json:"seed,omitzero"`
	ResponseMimeType   string          `json:"responseMimeType,omitzero,case:ignore"`
	ResponseSchema     jsontext.Value  `json:"responseSchema,omitzero,case:ignore"`
	ResponseJSONSchema jsontext.Value  `json:"responseJsonSchema,omitzero,case:ignore"`
	ResponseModalities []string        `json:"responseModalities,omitzero,case:ignore"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitzero,case:ignore"`
}

// thinkingConfig is a ThinkingConfig.
type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitzero,case:ignore"`
	ThinkingBudget  *int64 `json:"thinkingBudget,omitzero,case:ignore"`
	ThinkingLevel   string `json:"thinkingLevel,omitzero,case:ignore"`
}

// generateResponse is a GenerateContentResponse: a whole answer or one
// chunk of a stream. Error is set on an error chunk instead.
type generateResponse struct {
	Candidates     []candidate     `json:"candidates,omitzero"`
	PromptFeedback *promptFeedback `json:"promptFeedback,omitzero"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata,omitzero"`
	ModelVersion   string          `json:"modelVersion,omitzero"`
	ResponseID     string          `json:"responseId,omitzero"`
	Error          *apiError       `json:"error,omitzero"`
}

// candidate is one Candidate answer.
type candidate struct {
	Content      *content `json:"content,omitzero"`
	FinishReason string   `json:"finishReason,omitzero"`
	Index        int      `json:"index"`
}

// promptFeedback says whether the prompt was blocked.
type promptFeedback struct {
	BlockReason string `json:"blockReason,omitzero"`
}

// usageMetadata is a UsageMetadata. The first three counts are always
// written; the others only when not zero.
type usageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitzero"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount,omitzero"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount,omitzero"`
}

// apiError is the error object of an error body or stream chunk.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// errorBody is an error response: {"error": {...}}.
type errorBody struct {
	Error *apiError `json:"error"`
}
