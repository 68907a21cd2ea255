// The Anthropic TypeScript SDK (the real npm package) through claude-nexus to the fake upstream:
// what the SDK gets back (parsed, assembled, error classes) and what the proxy recorded.
// Knobs for the fake travel as x-fake-* request headers, which the proxy forwards like any other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import Anthropic from '@anthropic-ai/sdk';

import { Stack, recordedHeaders } from './lib/stack.mjs';

const kApiKey = 'sk-ant-api03-e2e-dummy-key';
// Not a real model name: the SDK warns about deprecated ones, and the fake echoes any.
const kModel = 'claude-e2e-test';
// Two system blocks make the proxy classify a Messages call as "inference" (one: query_evaluation).
const kSystem = [{ type: 'text', text: 'You are a test.' }, { type: 'text', text: 'Be brief.' }];

let stack;
let client;

before(async () => {
  stack = await Stack.start();
  client = new Anthropic({ apiKey: kApiKey, baseURL: stack.baseUrl, maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await stack?.stop();
});

// A message whose text makes the request findable in the database and the upstream log.
const userMessage = (marker) => [{ role: 'user', content: `e2e ${marker}` }];

// The status line claude-nexus answers a request carrying `fakeHeaders` with, read off a raw
// socket (for failure messages: a malformed status line reaches the SDK only as a connection error).
function rawStatusLine(fakeHeaders) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: kModel, max_tokens: 1, messages: userMessage('raw') });
    const socket = net.connect(stack.port, '127.0.0.1', () => {
      socket.write(`POST /v1/messages HTTP/1.1\r\nHost: e2e\r\ncontent-type: application/json\r\n${
          Object.entries(fakeHeaders).map(([k, v]) => `${k}: ${v}\r\n`).join('')}content-length: ${
          Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (c) => { text += c; });
    socket.on('close', () => resolve(text.split('\r\n')[0]));
    socket.on('error', () => {});
  });
}

// The upstream request whose body contains `marker` (the proxy forwards bodies byte-for-byte).
function upstreamRequestWith(marker) {
  const found = stack.upstreamRequests().filter((r) => r.body.includes(marker));
  assert.ok(found.length > 0, `the upstream never saw a request with ${marker}`);
  return found;
}

describe('Anthropic SDK through claude-nexus', () => {
  test('messages.create (non-streaming): parsed message, byte-exact forwarding, recorded row', async () => {
    const marker = `create-${randomUUID()}`;
    const { data: message, response } = await client.messages
        .create({ model: kModel, max_tokens: 64, system: kSystem, messages: userMessage(marker) })
        .withResponse();

    assert.equal(message.type, 'message');
    assert.equal(message.model, kModel);
    assert.deepEqual(message.content, [{ type: 'text', text: 'Hello from fake' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 12);
    assert.equal(message.usage.output_tokens, 5);
    const requestId = response.headers.get('x-request-id');
    assert.match(requestId ?? '', /^[0-9a-f-]{36}$/, 'the proxy answers with its x-request-id');
    assert.match(response.headers.get('request-id') ?? '', /^req_fake_\d+$/, "the upstream's request-id passes");

    const row = await stack.record(requestId);
    assert.equal(row.method, 'POST');
    assert.equal(row.path, '/v1/messages');
    assert.equal(row.model, kModel);
    assert.equal(row.request_type, 'inference');
    assert.equal(row.response_status, 200);
    assert.equal(row.outcome, 'completed');
    assert.equal(row.response_streaming, 0);
    assert.equal(row.input_tokens, 12);
    assert.equal(row.output_tokens, 5);
    assert.equal(row.total_tokens, 17);
    assert.equal(row.stop_reason, 'end_turn');
    assert.equal(row.upstream_attempts, 1);
    assert.equal(row.chunks.length, 0);
    assert.equal(JSON.parse(row.response_body).content[0].text, 'Hello from fake');
    const headers = recordedHeaders(row);
    assert.match(headers['user-agent'], /^Anthropic\/JS /);
    assert.ok(!row.headers.includes('e2e-dummy-key'), `key material in the record: ${row.headers}`);

    const [up] = upstreamRequestWith(marker);
    assert.equal(up.method, 'POST');
    assert.equal(up.target, '/v1/messages');
    assert.equal(up.body, row.body, 'the upstream got exactly the bytes the proxy recorded');
    // This SDK version sends the key as a bearer token; without a credential file it passes as is.
    assert.equal(up.header('authorization') ?? up.header('x-api-key'),
                 up.header('authorization') ? `Bearer ${kApiKey}` : kApiKey);
    assert.equal(headers.authorization ?? headers['x-api-key'],
                 headers.authorization ? 'Bearer ****' : 'sk-ant-api****', 'the record masks the key');
    assert.equal(up.header('anthropic-version'), headers['anthropic-version']);
  });

  test('messages.stream with thinking, text and tool_use: assembled final message, live SSE, chunks recorded', async () => {
    const marker = `stream-${randomUUID()}`;
    const stream = client.messages.stream(
        {
          model: kModel,
          max_tokens: 2048,
          system: kSystem,
          thinking: { type: 'enabled', budget_tokens: 1024 },
          tools: [{ name: 'get_weather', description: 'Weather of a city',
                    input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
          messages: userMessage(marker),
        },
        { headers: { 'x-fake-thinking': '1', 'x-fake-tool': '1', 'x-fake-deltas': '4', 'x-fake-delay-ms': '30' } });
    const texts = [];
    let firstTextAt = 0;
    let thinking = '';
    stream.on('text', (delta) => {
      firstTextAt ||= Date.now();
      texts.push(delta);
    });
    stream.on('thinking', (delta) => { thinking += delta; });
    const { response } = await stream.withResponse();
    const requestId = response.headers.get('x-request-id');
    const message = await stream.finalMessage();
    const endAt = Date.now();

    assert.equal(response.headers.get('content-type')?.startsWith('text/event-stream'), true);
    assert.deepEqual(texts, ['Hello', ' from', ' fake', ' 3']);
    assert.equal(thinking, 'Let me think about this.');
    assert.equal(message.model, kModel);
    assert.equal(message.stop_reason, 'tool_use');
    assert.deepEqual(message.content.map((b) => b.type), ['thinking', 'text', 'tool_use']);
    assert.equal(message.content[0].thinking, 'Let me think about this.');
    assert.equal(message.content[0].signature, 'fake-signature');
    assert.equal(message.content[1].text, 'Hello from fake 3');
    assert.equal(message.content[2].name, 'get_weather');
    assert.deepEqual(message.content[2].input, { city: 'Paris' });
    assert.equal(message.usage.input_tokens, 12);
    assert.equal(message.usage.output_tokens, 4);
    // The fake paces events 30 ms apart and 11 follow the first text delta: a proxy that relays
    // live delivers that delta well before the end; one that buffers delivers both together.
    assert.ok(endAt - firstTextAt >= 150, `first text ${endAt - firstTextAt} ms before the end: not live`);

    const row = await stack.record(requestId);
    assert.equal(row.model, kModel);
    assert.equal(row.request_type, 'inference');
    assert.equal(row.response_status, 200);
    assert.equal(row.outcome, 'completed');
    assert.equal(row.response_streaming, 1);
    assert.equal(row.input_tokens, 12);
    assert.equal(row.output_tokens, 4);
    assert.equal(row.stop_reason, 'tool_use');
    assert.equal(row.tool_call_count, 1);
    assert.ok(row.first_token_ms !== null, 'time to first token recorded');
    // message_start, thinking (start, 2 thinking deltas, signature delta, stop), text (start,
    // 4 deltas, stop), tool_use (start, 3 deltas, stop), message_delta, message_stop: 19 events,
    // one chunk each.
    assert.equal(row.chunks.length, 19);
    assert.deepEqual(row.chunks.map((c) => c.chunk_index), [...Array(19).keys()]);
    assert.match(row.chunks[0].data, /^event: message_start\ndata: /);
    assert.match(row.chunks.at(-1).data, /^event: message_stop\ndata: .*\n\n$/s);
    const reconstructed = JSON.parse(row.response_body);
    assert.deepEqual(reconstructed.content.map((b) => b.type), ['thinking', 'text', 'tool_use']);
    assert.equal(reconstructed.content[1].text, 'Hello from fake 3');

    const [up] = upstreamRequestWith(marker);
    assert.equal(JSON.parse(up.body).stream, true);
    assert.equal(up.header('x-fake-thinking'), '1', 'unknown x- headers pass to the upstream');
  });

  test('messages.countTokens: parsed count, recorded as count_tokens', async () => {
    const marker = `count-${randomUUID()}`;
    const { data, response } = await client.messages
        .countTokens({ model: kModel, messages: userMessage(marker) })
        .withResponse();
    assert.deepEqual(data, { input_tokens: 12 });

    const row = await stack.record(response.headers.get('x-request-id'));
    assert.equal(row.path, '/v1/messages/count_tokens');
    assert.equal(row.request_type, 'count_tokens');
    assert.equal(row.model, kModel);
    assert.equal(row.response_status, 200);
    assert.equal(row.outcome, 'completed');
    assert.equal(upstreamRequestWith(marker)[0].target, '/v1/messages/count_tokens');
  });

  test('models.list: GET forwarded with its query, page parsed, recorded as other', async () => {
    const { data: page, response } = await client.models.list({ limit: 5 }).withResponse();
    assert.deepEqual(page.data.map((m) => m.id), ['claude-fake-model']);
    assert.equal(page.data[0].display_name, 'Claude Fake');
    assert.equal(page.has_more, false);

    const row = await stack.record(response.headers.get('x-request-id'));
    assert.equal(row.method, 'GET');
    assert.equal(row.query_string, 'limit=5');
    assert.equal(row.request_type, 'other');
    assert.equal(row.response_status, 200);
    const up = stack.upstreamRequests().filter((r) => r.method === 'GET');
    assert.deepEqual(up.map((r) => r.target), ['/v1/models?limit=5']);
  });

  test('429 with retry-after: the proxy does not wait that long, the SDK raises RateLimitError', async () => {
    const marker = `ratelimit-${randomUUID()}`;
    const err = await client.messages
        .create({ model: kModel, max_tokens: 16, messages: userMessage(marker) },
                { headers: { 'x-fake-status': '429', 'x-fake-retry-after': '120' } })
        .then(() => null, (e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError, `got ${err}`);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '120');
    assert.equal(err.error?.error?.type, 'rate_limit_error');
    assert.match(err.requestID ?? '', /^req_fake_\d+$/);

    const row = await stack.record(err.headers.get('x-request-id'));
    assert.equal(row.response_status, 429);
    assert.equal(row.outcome, 'completed', 'an upstream error answer is still a completed exchange');
    assert.equal(row.upstream_attempts, 1, 'Retry-After 120 s exceeds what the proxy waits for');
    assert.equal(row.request_type, 'query_evaluation');
    assert.equal(JSON.parse(row.response_body).error.type, 'rate_limit_error');
    assert.equal(upstreamRequestWith(marker).length, 1);
  });

  test('529 every time: the proxy retries, then the SDK raises OverloadedError', async () => {
    const marker = `overloaded-${randomUUID()}`;
    const err = await client.messages
        .create({ model: kModel, max_tokens: 16, messages: userMessage(marker) },
                { headers: { 'x-fake-status': '529' } })
        .then(() => null, (e) => e);
    if (!(err instanceof Anthropic.InternalServerError)) {
      assert.fail(`got ${err}; claude-nexus answers a 529 with the status line "${
          await rawStatusLine({ 'x-fake-status': '529', 'x-fake-retry-after': '120' })}"`);
    }
    if (Anthropic.OverloadedError) assert.ok(err instanceof Anthropic.OverloadedError);
    assert.equal(err.status, 529);
    assert.equal(err.error?.error?.type, 'overloaded_error');

    const row = await stack.record(err.headers.get('x-request-id'));
    assert.equal(row.response_status, 529);
    assert.equal(row.upstream_attempts, 3, 'first attempt + the default 2 retries');
    assert.equal(upstreamRequestWith(marker).length, 3);
  });

  test('one 529 then success: the proxy retry is invisible to the SDK', async () => {
    const marker = `retry-${randomUUID()}`;
    const { data, response } = await client.messages
        .create({ model: kModel, max_tokens: 16, messages: userMessage(marker) },
                { headers: { 'x-fake-status': '529', 'x-fake-fail-times': '1', 'x-fake-key': marker } })
        .withResponse();
    assert.equal(data.content[0].text, 'Hello from fake');

    const row = await stack.record(response.headers.get('x-request-id'));
    assert.equal(row.response_status, 200);
    assert.equal(row.upstream_attempts, 2);
    assert.equal(row.outcome, 'completed');
    const ups = upstreamRequestWith(marker);
    assert.equal(ups.length, 2);
    assert.equal(ups[0].body, ups[1].body, 'the retry resends the same bytes');
  });

  test('stream aborted by the client (AbortController): SDK abort error, record client_aborted', async () => {
    const marker = `abort-${randomUUID()}`;
    const controller = new AbortController();
    // 40 deltas 50 ms apart: about 2 s of stream, of which the client reads one delta.
    const stream = client.messages.stream(
        { model: kModel, max_tokens: 256, system: kSystem, messages: userMessage(marker) },
        { signal: controller.signal, headers: { 'x-fake-deltas': '40', 'x-fake-delay-ms': '50' } });
    stream.on('text', () => controller.abort());
    const { response } = await stream.withResponse();
    const requestId = response.headers.get('x-request-id');
    const err = await stream.finalMessage().then(() => null, (e) => e);
    assert.ok(err instanceof Anthropic.APIUserAbortError, `got ${err}`);

    const row = await stack.record(requestId);
    assert.equal(row.outcome, 'client_aborted', stack.diagnostics());
    assert.equal(row.response_status, 200);
    assert.equal(row.response_streaming, 1);
    assert.equal(row.request_type, 'inference');
    assert.ok(row.chunks.length >= 3, `chunks: ${row.chunks.length}`);  // start, block start, delta
    assert.ok(row.chunks.length < 44, `the stream was not read to its end (${row.chunks.length} chunks)`);
    assert.ok(!row.chunks.some((c) => c.data.startsWith('event: message_stop')));
  });
});
