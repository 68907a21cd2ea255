// Claude Code (the real @anthropic-ai/claude-code package) in print mode through claude-nexus to
// the fake upstream: it must finish with the fake's text, and the proxy must have recorded and
// forwarded (byte-for-byte, beta headers unchanged) what Claude Code sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { Stack, eventually, recordedHeaders } from './lib/stack.mjs';

const kApiKey = 'sk-ant-api03-e2e-claude-code-dummy';
const kRunTimeoutMs = 60_000;
const require = createRequire(import.meta.url);

// The native `claude` executable. The wrapper package's postinstall copies the platform package's
// binary over bin/claude.exe; run the platform package's binary directly so a skipped install
// script (npm's allowScripts, --ignore-scripts) cannot leave us with the placeholder.
function claudeExecutable() {
  const libc = process.platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime
    ? '-musl' : '';
  const ext = process.platform === 'win32' ? '.exe' : '';
  try {
    const pkg = require.resolve(`@anthropic-ai/claude-code-${process.platform}-${process.arch}${libc}/package.json`);
    const bin = path.join(path.dirname(pkg), `claude${ext}`);
    if (fs.existsSync(bin)) return bin;
  } catch {
    // fall through to the wrapper's bin
  }
  return path.join(path.dirname(require.resolve('@anthropic-ai/claude-code/package.json')), 'bin', 'claude.exe');
}

// Runs `claude <args>` against the proxy with an isolated HOME and no non-essential traffic.
// Resolves {code, signal, stdout, stderr}; kills it after kRunTimeoutMs.
function runClaude(stack, args, extraEnv = {}) {
  const home = fs.mkdtempSync(path.join(stack.dir, 'home-'));
  const work = fs.mkdtempSync(path.join(stack.dir, 'work-'));
  return new Promise((resolve, reject) => {
    const child = spawn(claudeExecutable(), args, {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        ANTHROPIC_BASE_URL: stack.baseUrl,
        ANTHROPIC_API_KEY: kApiKey,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_BUG_COMMAND: '1',
        CI: '1',
        ...extraEnv,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), kRunTimeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let stack;

before(async () => {
  stack = await Stack.start();
});

after(async () => {
  await stack?.stop();
});

// Ids of the records that arrived since `sinceUs` (microseconds; same host clock as the proxy's),
// once one of them is a streaming Messages call: Claude Code's main request, which it sends last.
function recordsSince(sinceUs) {
  return eventually(() => {
    const rows = stack.query(
        `SELECT request_id, path, response_streaming FROM api_requests WHERE timestamp_us >= ${sinceUs}`);
    return rows.some((r) => r.path === '/v1/messages' && r.response_streaming === 1) ? rows : null;
  }, 'the streaming Messages record from Claude Code');
}

// Every record of a run must match an upstream request with the same target and the same bytes,
// with anthropic-beta, anthropic-version and the client's key passed unchanged.
async function assertForwardedUnchanged(rows) {
  const upstream = stack.upstreamRequests();
  for (const { request_id: id } of rows) {
    const row = await stack.record(id);
    const headers = recordedHeaders(row);
    const target = row.query_string ? `${row.path}?${row.query_string}` : row.path;
    const up = upstream.find((u) => u.target === target && u.body === row.body);
    assert.ok(up, `no upstream request with the bytes of ${row.method} ${target} (${id})`);
    assert.equal(up.header('anthropic-beta'), headers['anthropic-beta']);
    assert.equal(up.header('anthropic-version'), headers['anthropic-version']);
    assert.equal(up.header('x-api-key'), kApiKey);
    assert.equal(up.header('user-agent'), headers['user-agent']);
  }
}

describe('Claude Code through claude-nexus', () => {
  test('claude -p --output-format json: exits 0 with the fake text; streaming beta call recorded', async () => {
    const sinceUs = Date.now() * 1000;
    // Custom headers are Claude Code's way to pass knobs to the fake: three deltas spell exactly
    // "Hello from fake".
    const run = await runClaude(stack, ['-p', 'Say hello', '--output-format', 'json'],
                                { ANTHROPIC_CUSTOM_HEADERS: 'x-fake-deltas: 3' });
    assert.equal(run.code, 0, `claude exited ${run.code}/${run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\n${stack.diagnostics()}`);
    const result = JSON.parse(run.stdout);
    assert.equal(result.type, 'result');
    assert.equal(result.is_error, false);
    assert.equal(result.result, 'Hello from fake');
    assert.equal(result.usage.input_tokens, 12, 'Claude Code read usage from the relayed stream');
    assert.equal(result.usage.output_tokens, 3);

    const ids = await recordsSince(sinceUs);
    const rows = await Promise.all(ids.map(({ request_id: id }) => stack.record(id)));
    const main = rows.filter((r) => r.path === '/v1/messages' && r.query_string === 'beta=true' &&
                                    r.response_streaming === 1);
    assert.ok(main.length >= 1, `no streaming /v1/messages?beta=true record: ${JSON.stringify(
        rows.map((r) => [r.method, r.path, r.query_string, r.request_type, r.response_streaming]))}`);
    for (const r of rows) assert.equal(r.outcome, 'completed');
    const call = main.at(-1);
    assert.equal(call.request_type, 'inference');
    assert.equal(call.response_status, 200);
    assert.match(call.model, /^claude-/);
    assert.equal(call.input_tokens, 12);
    assert.equal(call.output_tokens, 3);
    assert.equal(call.stop_reason, 'end_turn');
    assert.ok(call.chunks.length >= 7, `chunks: ${call.chunks.length}`);  // start, 3+2 block, delta, stop
    const headers = recordedHeaders(call);
    assert.match(headers['user-agent'], /^claude-cli\//);
    assert.match(headers['anthropic-beta'] ?? '', /claude-code-/);
    assert.equal(headers['x-fake-deltas'], '3');
    assert.ok(JSON.parse(call.body).messages.some((m) => JSON.stringify(m.content).includes('Say hello')));
    await assertForwardedUnchanged(ids);

    // The read API shows the same exchange, attributed from what Claude Code itself sent
    // (metadata.user_id and/or X-Claude-Code-Session-Id; docs/api.md "Who used it").
    const detail = await stack.api(`/api/requests/${call.request_id}`);
    assert.equal(detail.requestId, call.request_id);
    assert.equal(detail.outputTokens, 3);
    assert.equal(detail.responseStatus, 200);
    assert.ok(detail.userId || detail.sessionId,
              `Claude Code's request carries no user or session: ${JSON.stringify(JSON.parse(call.body).metadata)}`);
    assert.match(detail.apiKeyHash ?? '', /^[0-9a-f]{40}$/, 'passthrough key hashed, not stored');
    assert.ok(!JSON.stringify(detail).includes(kApiKey), 'the client key never reaches the API');
    if (detail.sessionId) {
      const sessions = await stack.api(`/api/sessions?sessionId=${encodeURIComponent(detail.sessionId)}`);
      assert.equal(sessions.sessions.length, 1);
      assert.ok(sessions.sessions[0].requests >= 1);
    }
    const keys = await stack.api('/api/keys');
    assert.ok(keys.keys.some((k) => k.apiKeyHash === detail.apiKeyHash));
  });

  test('claude -p --output-format stream-json: events carry the fake text', async () => {
    const sinceUs = Date.now() * 1000;
    const run = await runClaude(stack, ['-p', 'Say hello again', '--output-format', 'stream-json', '--verbose']);
    assert.equal(run.code, 0, `claude exited ${run.code}/${run.signal}\nstderr: ${run.stderr}`);
    const events = run.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    const result = events.find((e) => e.type === 'result');
    assert.ok(result, `no result event in ${run.stdout}`);
    assert.equal(result.is_error, false);
    assert.equal(result.result, 'Hello from fake 3 4', 'the fake streams five deltas by default');
    const assistant = events.filter((e) => e.type === 'assistant');
    assert.ok(assistant.length >= 1, 'an assistant message event');
    assert.ok(assistant.some((e) => e.message.content.some((b) => b.type === 'text' && b.text.includes('Hello from fake'))));

    const ids = await recordsSince(sinceUs);
    await assertForwardedUnchanged(ids);
  });
});
