// Package gemini is the codec of the Google Gemini API dialect
// (generativelanguage.googleapis.com v1beta): GenerateContentRequest
// bodies (POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent?alt=sse), GenerateContentResponse bodies, the
// alt=sse stream and error bodies. It translates them to and from the
// neutral model of package llm.
//
// # Names
//
// Bodies are written with the REST API's lowerCamelCase names, as the
// official SDKs (google.golang.org/genai…) send them. Decoding also
// accepts the snake_case spelling of the documentation's curl examples
// ("system_instruction", "function_declarations", "inline_data",
// "mime_type"…: any multi-word field matches ignoring case and
// underscores), a single object where the API takes a list of contents or
// parts ("contents": {...}, "parts": {...}), the roles "function" and
// "tool" of older examples (read as "user") and function-calling modes in
// any case ("any").
//
// # Requests from Gemini clients (DecodeRequest)
//
// The model and streaming are in the URL: r.Model and r.Stream are left
// for the gateway to set.
//
//   - contents: role "user" (or "function", "tool" or none) → user,
//     "model" → assistant. Parts: text → text (empty ones are dropped);
//     thought text (thought: true, in model turns) → thinking with its
//     thoughtSignature; inlineData → an image (base64 data); fileData → an
//     image URL, its media type guessed from the extension when missing
//     (the API's Files URIs are only readable by Gemini); any other media
//     type (PDF, audio, video…) is rejected, as are executableCode and
//     codeExecutionResult parts, function calls in user turns and
//     function responses in model turns.
//   - thoughtSignature is kept on the part it came with: a thinking part's
//     Signature, a text part's Signature and, for functionCall parts, the
//     tool call's Signature (llm documents Signature for thinking parts;
//     the Gemini codec also uses it on text and tool call parts, and
//     other encoders ignore it there). A part with a signature and no text
//     (the API ends some streamed turns that way) becomes a thinking part
//     with only a signature, in its place: Google asks that signed and
//     unsigned parts not be merged. It is written back as {"text": "",
//     "thoughtSignature": …}.
//   - functionCall → a tool call. Gemini has no call IDs: calls without an
//     "id" get "call_0", "call_1"… numbered over the conversation (so the
//     same history gets the same IDs on every turn), and each
//     functionResponse answers the call with its "id" when it has one,
//     else the earliest unanswered call of the same name.
//   - functionResponse → a tool result (in a user turn) with the tool's
//     Name and, as Content, one text part holding the JSON of "response"
//     as sent (compacted), then the images of its multimodal "parts". IsError
//     is set when the response object has an "error" member and no
//     "output" one (the documented convention of
//     FunctionResponse.response).
//   - systemInstruction (text parts only) → System.
//   - tools[].functionDeclarations → Tools: parametersJsonSchema is taken
//     as is; parameters (Gemini's OpenAPI-subset Schema) is converted to
//     JSON Schema: type names in lower case, nullable as a "null" type,
//     format "enum" and propertyOrdering dropped, example as examples,
//     int64 counts sent as strings as numbers, snake_case keywords in
//     camelCase; property order is kept. A function's response schema and
//     behavior are dropped. Other tool kinds (googleSearch,
//     codeExecution, urlContext…) are rejected.
//   - toolConfig.functionCallingConfig: AUTO → auto, NONE → none, ANY →
//     required with Allowed = allowedFunctionNames, or the named tool when
//     exactly one name is allowed; VALIDATED → auto with Allowed.
//   - generationConfig: temperature, topP, topK, candidateCount
//     (→ Candidates), maxOutputTokens, stopSequences, presencePenalty,
//     frequencyPenalty, seed. responseMimeType application/json →
//     json_object, or json_schema (named "response") with
//     responseJsonSchema as is or responseSchema converted as above;
//     other MIME types (text/x.enum…) and non-TEXT responseModalities are
//     rejected. thinkingConfig: thinkingBudget 0 → Disabled, > 0 →
//     BudgetTokens, thinkingLevel → Effort (minimal/low/medium/high);
//     a dynamic budget (-1) or includeThoughts alone → an empty
//     Reasoning (thinking on, at the provider's default).
//   - cachedContent (a server-side Gemini cache) is rejected.
//   - Dropped: safetySettings, labels, serviceTier, toolConfig's
//     retrievalConfig, logprobs, mediaResolution, speechConfig,
//     imageConfig and other generationConfig hints without an equivalent.
//
// # Requests to Gemini (EncodeRequest)
//
// The model and streaming go in the URL, so o.Model and r.Stream are not
// written; nor are r.User and r.ParallelToolCalls (no Gemini equivalent).
//
//   - Assistant turns have role "model"; consecutive turns of the same
//     role are merged into one content (Gemini wants all the responses to
//     a turn's function calls in one content); empty turns are left out.
//   - Tool calls → functionCall parts {name, args}: IDs are dropped, and
//     the call's Signature is written as the part's thoughtSignature. When
//     the first call of a model turn has no signature (history from
//     another provider), it gets the documented placeholder
//     "skip_thought_signature_validator", without which Gemini 3 models
//     reject the request.
//   - Tool results → functionResponse parts named by the result's Name,
//     else by the name of the earlier call with its ID (an *llm.Error
//     when neither is known). "response" is the result's text when it is
//     one JSON object, else {"output": "<text>"} (several text parts
//     joined by newlines); a failed result is
//     {"error": "<text>"} (or {"error": <object>}), following the
//     documented "output"/"error" keys of FunctionResponse.response.
//     Images in a result go in the response's "parts" (multimodal
//     function responses, which only recent models accept).
//   - Images: base64 data → inlineData; a URL → fileData with the media
//     type given or guessed from the extension (else image/jpeg). Gemini
//     only fetches some URLs (public http(s) ones on recent models, and
//     its own Files API URIs), so a URL image may fail upstream.
//   - Thinking parts → thought: true text parts with their
//     thoughtSignature (a signature-only part is {"text": "",
//     "thoughtSignature": …}); redacted thinking (another provider's
//     encrypted reasoning) is dropped.
//   - Tools → one tool of functionDeclarations, each with its JSON Schema
//     as parametersJsonSchema (which takes full JSON Schema, unlike
//     parameters).
//   - Tool choice: auto → AUTO (VALIDATED when Allowed is set), none →
//     NONE, required → ANY with Allowed, a named tool → ANY with
//     allowedFunctionNames [name].
//   - Reasoning: Disabled (or effort "none") → thinkingBudget 0;
//     BudgetTokens → thinkingBudget; Effort → thinkingBudget minimal 512,
//     low 1024, medium 8192, high and xhigh 24576; an empty Reasoning →
//     the dynamic default. Whenever thinking is on, includeThoughts is
//     true so that the thinking can be relayed. No thinkingConfig is sent
//     to models that refuse one (Gemini 1.x and 2.0, Gemma), nor a budget
//     of 0 to the Pro models, which cannot stop thinking (see thinks and
//     alwaysThinks).
//   - ResponseFormat json_object → responseMimeType application/json;
//     json_schema → the same plus responseJsonSchema (the schema's name
//     and strictness are dropped).
//   - More than one candidate is rejected: the codec relays one answer.
//
// # Answers (DecodeResponse, EncodeResponse)
//
// Only candidates[0] is read. Its text, thought and functionCall parts
// become text, thinking and tool call parts (signatures as above; other
// parts, such as generated images, are not relayed). Tool calls without an
// "id" get "call_<responseId>_<n>" (keeping the ID's letters, digits, "_"
// and "-"), unique across the turns of a conversation.
//
// Finish reasons: STOP → stop, or tool_calls when the answer calls tools;
// MAX_TOKENS → length; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT,
// SPII, IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT and LANGUAGE →
// content_filter; MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, OTHER and
// anything else → stop (tool_calls when the answer calls tools). Gemini
// reports a stop sequence as STOP, so StopSequence is never set. A prompt
// the API blocked (promptFeedback.blockReason and no candidates) is an
// empty answer that finished with content_filter.
//
// Usage: promptTokenCount (which includes cachedContentTokenCount) plus
// toolUsePromptTokenCount → Input; cachedContentTokenCount → CacheRead;
// candidatesTokenCount plus thoughtsTokenCount → Output;
// thoughtsTokenCount → Reasoning. responseId → ID, modelVersion → Model.
//
// EncodeResponse writes {"candidates": [{"content": {"parts": […], "role":
// "model"}, "finishReason", "index": 0}], "usageMetadata":
// {"promptTokenCount": Input, "candidatesTokenCount": Output − Reasoning,
// "totalTokenCount": Input + Output, "cachedContentTokenCount": CacheRead
// and "thoughtsTokenCount": Reasoning when not 0}, "modelVersion",
// "responseId"} (a made-up ID when the answer has none). Finish: stop,
// stop_sequence, tool_calls and pause_turn → STOP; length → MAX_TOKENS;
// content_filter and refusal → SAFETY. Tool call IDs and redacted
// thinking are dropped; cache writes have no field of their own and stay
// in promptTokenCount.
//
// Signatures written to a Gemini client (answers and streams) must be
// standard base64, which the SDKs decode as bytes; those written to the
// API, standard or URL-safe base64. Others (another provider's opaque
// data) are left out.
//
// # Streams
//
// See NewStreamDecoder and NewStreamEncoder. The stream has no terminal
// marker: the decoder treats the chunk with a finishReason as the end.
//
// # JSON
//
// A client's request is decoded strictly (a repeated member name is an
// error); the codec's output and the upstream's answers are handled
// allowing repeated names, which saves a third of the time.
//
// # Errors
//
// DecodeError reads {"error": {"code", "message", "status"}} into an
// UpstreamError (Type the status, Status the code). A stream encoder
// writes an upstream error as such a chunk, with the error's HTTP status
// as code (500 when unknown) and Google's status name for it.
package gemini
