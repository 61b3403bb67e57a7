// Package responses is the codec of the OpenAI Responses API
// (POST /v1/responses) for clients whose request is served by a provider
// other than OpenAI (Anthropic, Gemini). It is inbound only: it decodes the
// client's request into the neutral llm.Request ([DecodeRequest]) and
// encodes the neutral answer as a Responses `response` object
// ([EncodeResponse]) or as the Responses event stream ([NewStreamEncoder]).
// Requests for an OpenAI upstream are relayed as they are and never pass
// through here.
//
// # Requests
//
//   - instructions becomes the first system part. input is a string (one
//     user message) or a list of items. Messages with role system or
//     developer, wherever they are, join the system parts in order (text
//     only). user and assistant messages become messages; consecutive
//     items of the same role are merged into one message, so that
//     function_call items join the assistant turn before them and
//     function_call_output items the user turn.
//   - Content parts: input_text, output_text and refusal become text (a
//     refusal is what the assistant said); empty texts are dropped.
//     input_image becomes an image (user messages and tool outputs only):
//     a data:<type>;base64,<data> URL inline, an http(s) URL as a URL; the
//     detail hint is dropped; file_id is rejected (OpenAI file storage).
//     input_file and input_audio are rejected.
//   - function_call {call_id, name, arguments} becomes a tool call whose ID
//     is the call_id (the item id is dropped); arguments must be a string
//     holding a JSON object ("" means {}). function_call_output {call_id,
//     output} becomes a tool result with that ID and the name of the
//     earlier function_call with the same call_id; output is a string or a
//     list of input_text / input_image parts.
//   - reasoning items are kept only when this codec wrote them: their
//     encrypted_content then holds "llmgw.thinking:" + the provider's
//     thinking signature (the summary text is the thinking text, sent back
//     unchanged) or "llmgw.redacted:" + redacted thinking data. Any other
//     reasoning item (OpenAI's own encrypted reasoning, or a bare summary)
//     is dropped: no other provider can use it.
//   - Rejected with an *llm.Error: item_reference and every other item type
//     (built-in tool calls and outputs, custom tool calls, compaction…);
//     tools other than function tools (web_search, file_search,
//     code_interpreter, computer use, mcp, image_generation, custom…) and
//     tool choices naming them; previous_response_id, conversation,
//     background: true and prompt, which need state OpenAI keeps; unknown
//     reasoning efforts and text formats; max_output_tokens <= 0.
//   - tools: function tools become tools (strict is dropped). tool_choice
//     "auto", "none", "required", {type: function, name} and {type:
//     allowed_tools, mode, tools} map onto the neutral tool choice.
//   - max_output_tokens -> MaxTokens, temperature, top_p,
//     parallel_tool_calls, stream are kept; safety_identifier (or else
//     user) -> User; reasoning.effort "none" disables thinking, the other
//     efforts (minimal … xhigh) are kept; text.format json_object and
//     json_schema {name, schema, strict} -> ResponseFormat.
//   - Ignored: store, metadata, include, truncation, service_tier,
//     prompt_cache_key, prompt_cache_retention, top_logprobs,
//     max_tool_calls, stream_options, reasoning.summary, text.verbosity and
//     any field this package does not know.
//
// # Responses
//
// Each part of the answer becomes one output item, in order: a thinking
// part a reasoning item (its text as the one summary_text part, its
// signature in encrypted_content as above), a redacted thinking part a
// reasoning item with no summary, a text part a message item with one
// output_text part, a tool call a function_call item (call_id is the
// provider's tool call ID; the item id is made up). Image parts are
// dropped. IDs: the response ID is the upstream answer ID behind "resp_"
// (random when there is none); item IDs are msg_/rs_/fc_ + that ID + the
// output index; call IDs are made up only when the provider gave none.
//
// Finish reasons: length -> status "incomplete" with incomplete_details
// {reason: max_output_tokens}; content_filter and refusal -> "incomplete"
// with reason content_filter; every other reason (stop, stop_sequence,
// tool_calls, pause_turn) -> "completed". The last item of an incomplete
// answer, when it is a message or a function call, has status
// "incomplete".
//
// Usage: input_tokens is the neutral input total (cache reads and writes
// included), input_tokens_details.cached_tokens the cache reads,
// output_tokens the output total, output_tokens_details.reasoning_tokens
// the reasoning part, total_tokens their sum.
//
// The encoder does not see the request, so the fields of the response
// object that echo it (instructions, tools, tool_choice, temperature,
// top_p, text, reasoning, max_output_tokens…) hold the API's defaults or
// null; store is false.
//
// # Streams
//
// The stream is the documented event sequence, each event with a
// sequence_number counting from 0: response.created and
// response.in_progress (status in_progress, no output), then per part:
//
//   - text: response.output_item.added (message, in_progress, no content),
//     response.content_part.added (empty output_text),
//     response.output_text.delta…, and when the part ends
//     response.output_text.done, response.content_part.done,
//     response.output_item.done;
//   - thinking: response.output_item.added (reasoning, empty summary),
//     response.reasoning_summary_part.added and
//     response.reasoning_summary_text.delta… as text arrives, and at the
//     end response.reasoning_summary_text.done,
//     response.reasoning_summary_part.done, response.output_item.done
//     (with the signature as encrypted_content);
//   - redacted thinking: response.output_item.added and .done at once;
//   - tool call: response.output_item.added (function_call, arguments ""),
//     response.function_call_arguments.delta… ("{}" when there were
//     none), response.function_call_arguments.done (with the name),
//     response.output_item.done.
//
// A part ends when the next one begins, at EventFinish or at EventEnd. At
// EventEnd the stream ends with response.completed, or response.incomplete
// for the incomplete finishes above, carrying the whole response with its
// output and usage. A stream without EventStart starts at its first event.
//
// A failed stream (EventError) ends with an `error` event carrying the
// documented flat fields {type: "error", code, message, param,
// sequence_number} (code is the upstream error type, server_error when
// unknown) and the same as an "error" object, which makes the official
// SDKs report a stream error instead of an event; response.failed is not
// sent, since the response was never stored.
package responses
